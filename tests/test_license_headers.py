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

"""Every source file carries the Apache-2.0 header, as verl's and verl-recipe's do."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ["recipe", "data_prep", "conf", "tests", "benchmarks", "hydra_plugins"]
NOTICE = 'Licensed under the Apache License, Version 2.0 (the "License");'


def source_files() -> list[Path]:
    files = [ROOT / ".ci" / "run"]
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*"):
            if path.suffix in {".py", ".sh"} and not path.is_symlink() and "__pycache__" not in path.parts:
                files.append(path)
    return files


def test_every_source_file_carries_the_apache_header():
    files = source_files()
    assert len(files) > 50  # the walk found the tree
    missing = [
        str(path.relative_to(ROOT)) for path in files if NOTICE not in "".join(path.read_text().splitlines()[:16])
    ]
    assert not missing, f"no Apache-2.0 header in {missing}"
