"""Exit codes shared by every command-line tool, and the one-line diagnosis of a dead judge.

Every CLI (``pasr-score``, ``evaluate``, ``analyze``, ``prepare_train``, ``prepare_eval``) exits

* :data:`OK` (0) only when every requested record was produced and scored;
* :data:`INCOMPLETE` (3) when the output was written in full but some requested records are not
  scored or were left out (judge failures, skipped tasks, skipped malformed records, differing
  question sets in a comparison); the output marks them, and the summary names them;
* 1 or 2 when the run could not do its job (bad usage, bad input, a generation error); each tool's
  ``--help`` says which.

A script can therefore treat 0 as "use the numbers", 3 as "usable but look at the warnings first".
"""

from __future__ import annotations

OK = 0
INCOMPLETE = 3
INCOMPLETE_HELP = f"{INCOMPLETE} output written in full but incomplete (failures marked in it; see the warnings)"


def judge_diagnosis(url: str | None, judged: int, failed: int, first_error: str | None) -> str | None:
    """One line naming a judge that failed every request (None when some verdict came back).

    A judge failing everything is a setup problem (server down, wrong URL or model name), not noise,
    so it is reported once instead of as one failure per response.
    """
    if judged == 0 or failed < judged:
        return None
    return (
        f"judge at {url or '?'} failed all {judged} request(s): unreachable or misconfigured "
        f"(check --judge-url, which must end in the API base such as /v1, and --judge-model); "
        f"first error: {first_error}"
    )
