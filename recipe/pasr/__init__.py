"""PASR (proactive self-refinement) as a verl recipe.

Pure logic lives in :mod:`recipe.pasr.response` (tags → spans), :mod:`recipe.pasr.tasks` (data
sources, prompts, judge instructions), :mod:`recipe.pasr.scoring` (rules, judge, per-response
scoring) and :mod:`recipe.pasr.reward` (format, bonus, group totals); :mod:`recipe.pasr.verl` is the
thin glue into verl 0.9.1's reward loop and V1 trainer.
"""

__version__ = "0.1.0"
