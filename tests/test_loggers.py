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

"""The recipe's loggers follow ``$VERL_LOGGING_LEVEL`` as verl's own modules do."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from recipe.pasr.loggers import LEVEL_VARIABLE, get_logger

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "level"), [(None, logging.WARNING), ("DEBUG", logging.DEBUG), ("ERROR", logging.ERROR)]
)
def test_level_comes_from_the_variable_with_verls_default(
    monkeypatch: pytest.MonkeyPatch, value: str | None, level: int
) -> None:
    if value is None:
        monkeypatch.delenv(LEVEL_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(LEVEL_VARIABLE, value)
    assert get_logger(f"pasr.test.level_{value}").level == level


def test_an_unknown_level_names_the_variable_and_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEVEL_VARIABLE, "LOUD")
    with pytest.raises(ValueError, match=r"VERL_LOGGING_LEVEL='LOUD' is not a logging level; allowed values: .*INFO"):
        get_logger("pasr.test.loud")


def test_a_recipe_module_logs_at_the_level_set_in_its_process() -> None:
    # The judge client's note about a missing API key is INFO: hidden by default, shown at INFO.
    script = (
        "import logging; logging.basicConfig(format='%(levelname)s %(message)s');"
        "from recipe.pasr.scoring.judge import JudgeClient, JudgeConfig;"
        "JudgeClient(JudgeConfig(url='http://127.0.0.1:9/v1', model='m', api_key_env='PASR_TEST_UNSET_KEY'))"
    )
    env = {key: value for key, value in os.environ.items() if key not in (LEVEL_VARIABLE, "PASR_TEST_UNSET_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    quiet = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    loud = subprocess.run(
        [sys.executable, "-c", script], env=env | {LEVEL_VARIABLE: "INFO"}, capture_output=True, text=True, check=True
    )
    assert "PASR_TEST_UNSET_KEY is not set" not in quiet.stderr
    assert "INFO judge: $PASR_TEST_UNSET_KEY is not set" in loud.stderr


def test_every_module_logger_is_made_by_the_helper() -> None:
    # A plain logging.getLogger would ignore VERL_LOGGING_LEVEL.
    sources = [*ROOT.glob("recipe/**/*.py"), *ROOT.glob("data_prep/*.py"), *ROOT.glob("benchmarks/*.py")]
    plain = [
        str(path.relative_to(ROOT))
        for path in sources
        if path.name != "loggers.py" and re.search(r"logging\.getLogger\(", path.read_text())
    ]
    assert sources and plain == []
