#!/usr/bin/env bash
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

# The pure core's tests (no verl, torch or vLLM) under Python 3.10, the oldest Python the package supports.
# Finds a python3.10 ($PASR_PY310, PATH, pyenv, /usr); without one it says so and exits 0. Builds a venv
# (cached in $PASR_PY310_VENV, rebuilt when the requirements change) with only what these tests import,
# the versions taken from pyproject.toml. Network is used here, for pip; the tests themselves use none.
set -euo pipefail
cd "$(dirname "$0")/../.."

TESTS=(tests/test_response.py tests/test_reward.py tests/test_tasks.py tests/test_rules.py tests/test_sample.py
  tests/test_metrics.py tests/test_judge.py tests/test_score_cli.py tests/test_enums.py tests/test_loggers.py)
PACKAGES=(math-verify aiohttp tqdm pytest pytest-asyncio hypothesis)

python310=""
for candidate in "${PASR_PY310:-}" python3.10 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10 \
  /usr/local/bin/python3.10 /usr/bin/python3.10; do
  if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    python310=$candidate
    break
  fi
done
if [ -z "$python310" ]; then
  echo "py310: SKIPPED, no Python 3.10 found (set PASR_PY310=/path/to/python3.10 to run the pure core's tests under it)"
  exit 0
fi

requirements=()
for name in "${PACKAGES[@]}"; do
  spec=$(grep -oE "\"$name[<>=!~][^\"]*\"" pyproject.toml | head -n 1 | tr -d '"')
  [ -n "$spec" ] || { echo "py310: $name has no version in pyproject.toml" >&2; exit 2; }
  requirements+=("$spec")
done

venv=${PASR_PY310_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/pasr-py310}
wanted="$("$python310" --version) ${requirements[*]}"
if [ "$(cat "$venv/.pasr-requirements" 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$venv"
  "$python310" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "${requirements[@]}"
  echo "$wanted" >"$venv/.pasr-requirements"
fi

echo "py310: $("$venv/bin/python" --version), ${#TESTS[@]} test files of the pure core"
PYTHONPATH=$PWD exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not shared and not e2e" "${TESTS[@]}"
