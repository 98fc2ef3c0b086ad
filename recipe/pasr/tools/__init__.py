"""The recipe's tools beside training: offline scoring (``score``), checkpoint evaluation on the paper's
benchmarks (``evaluate`` with its generation ``backends`` and ``eval_report``), analysis of rollouts and
evaluation records (``analyze``) and the reward simulator (``simulate``). Each CLI runs as
``python -m recipe.pasr.tools.<name>``."""
