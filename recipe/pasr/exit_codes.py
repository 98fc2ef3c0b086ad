# Copyright 2026 The verl-recipe-pasr Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Exit codes shared by every command-line tool, the one-line diagnosis of a dead judge, and a quiet
exit when the reader of stdout goes away (``pasr-score --demo | head``).

Every CLI (``pasr-score``, ``evaluate``, ``analyze``, ``prepare_train``, ``prepare_eval``) exits

* :data:`OK` (0) only when every requested record was produced and scored;
* :data:`INCOMPLETE` (3) when the output was written in full but some requested records are not
  scored or were left out (judge failures, skipped tasks, skipped malformed records, differing
  question sets in a comparison); the output marks them, and the summary names them;
* 1 or 2 when the run could not do its job (bad usage, bad input, a generation error; 1 also when
  stdout was closed early, as by ``| head``); each tool's ``--help`` says which.

A script can therefore treat 0 as "use the numbers", 3 as "usable but look at the warnings first".
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

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


def quiet_broken_pipe(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a CLI ``main``: a closed stdout ends the run with exit 1 and no traceback.

    The output is cut, so it is not a success; Python's own recipe: point stdout at devnull so the
    interpreter's final flush does not raise a second time.
    """

    @functools.wraps(main)
    def wrapper(*args: object, **kwargs: object) -> int:
        try:
            code = main(*args, **kwargs)
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return wrapper
