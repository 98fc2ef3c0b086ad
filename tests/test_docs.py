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

"""What the READMEs and REQUIRED_VERL.txt tell a reader holds in the tree.

The layout section must name every module and package of the recipe and nothing that is gone; every
relative link (file and ``#anchor``) must resolve; REQUIRED_VERL.txt must read, the way verl-recipe's
``install_verl.sh`` reads it, as the verl version ``pyproject.toml`` pins.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipe" / "pasr"
READMES = [ROOT / "README.md", RECIPE / "README.md"]
# Generated or local-only: symlinks to conf/ and data_prep/ in development worktrees, caches.
NOT_SOURCE = {"conf", "data_prep", "__pycache__"}
ENTRY_INDENT = 10  # layout lines indented this far or more continue a description


def section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    following = re.search(r"\n## ", text[start + len(heading) + 2 :])
    return text[start : start + len(heading) + 2 + following.start()] if following else text[start:]


def layout_paths() -> set[str]:
    """Paths the layout section names: an indented tree of entries (``name/`` folders, files, globs), each
    with a description; file names in a folder's description (``rules.py (...)``) are that folder's files."""
    block = section((ROOT / "README.md").read_text(), "## Layout")
    named: set[str] = set()
    parents: list[tuple[int, str]] = []
    folder = ""
    for line in block.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        body = line[4:]
        indent = len(body) - len(body.lstrip())
        description = body
        if indent < ENTRY_INDENT:  # an entry; deeper lines continue the previous entry's description
            entry = body.split()[0]
            parents = [(level, path) for level, path in parents if level < indent]
            path = (parents[-1][1] if parents else "") + entry
            named.add(path.rstrip("/"))
            folder = path if entry.endswith("/") else ""
            if folder:
                parents.append((indent, path))
            description = body[indent + len(entry) :]
        if folder:
            named.update(folder + name for name in re.findall(r"(?<![/\w.])(\w+\.(?:py|sh|txt|md))\b", description))
    return named


def test_every_path_in_the_layout_exists():
    missing = sorted(path for path in layout_paths() if not list(ROOT.glob(path)))
    assert missing == []


def test_the_layout_names_every_module_and_package_of_the_recipe():
    named = layout_paths()
    modules = {
        str(path.relative_to(ROOT))
        for path in RECIPE.rglob("*.py")
        if not NOT_SOURCE & set(path.relative_to(RECIPE).parts) and path.name != "__init__.py"
    }
    packages = {
        str(path.parent.relative_to(ROOT))
        for path in RECIPE.rglob("__init__.py")
        if not NOT_SOURCE & set(path.relative_to(RECIPE).parts)
    }
    assert sorted((modules | packages) - named) == []


def github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {github_anchor(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(readme: Path):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", readme.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto
        file, _, anchor = target.partition("#")
        resolved = (readme.parent / file).resolve() if file else readme
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            broken.append(target)
    assert broken == []


def installer_field(path: Path, key: str) -> str:
    """A value as verl-recipe's install_verl.sh extracts it: awk, first ``KEY=`` line, comments skipped."""
    program = r"""
        /^[[:space:]]*#/ { next }
        {
            line = $0
            sub(/^[[:space:]]+/, "", line)
            eq = index(line, "=")
            if (eq == 0) next
            if (substr(line, 1, eq - 1) == key) {
                value = substr(line, eq + 1)
                sub(/[[:space:]]+$/, "", value)
                print value
                exit
            }
        }
    """
    result = subprocess.run(["awk", "-v", f"key={key}", program, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.rstrip("\n")


def test_required_verl_reads_as_the_pinned_version():
    path = RECIPE / "REQUIRED_VERL.txt"
    fields = {
        key: installer_field(path, key) for key in ("UPSTREAM", "MODE", "TAG", "COMMIT", "PIP_INSTALL", "GIT_SETUP")
    }
    # install_verl.sh's pinned_tag mode: TAG (or COMMIT) names it, PIP_INSTALL installs it (--method pip),
    # COMMIT or GIT_SETUP checks it out (--method git).
    assert fields["MODE"] == "pinned_tag" and fields["UPSTREAM"].startswith("https://github.com/")
    assert fields["TAG"] and fields["PIP_INSTALL"].startswith("pip install ")
    assert fields["COMMIT"] or fields["GIT_SETUP"]
    if fields["COMMIT"]:
        assert re.fullmatch(r"[0-9a-f]{40}", fields["COMMIT"])
    if fields["GIT_SETUP"]:
        assert fields["TAG"] in fields["GIT_SETUP"] and fields["UPSTREAM"] in fields["GIT_SETUP"]
    for line in path.read_text().splitlines():
        assert not line.strip() or line.lstrip().startswith("#") or re.match(r"[A-Z_]+=", line), line

    (pip_pin,) = re.findall(r"\bverl==(\S+)", fields["PIP_INSTALL"])
    project_pins = set(re.findall(r'"verl(?:\[[\w,-]+\])?==([^"]+)"', (ROOT / "pyproject.toml").read_text()))
    assert project_pins == {pip_pin} and fields["TAG"] == f"v{pip_pin}"


def test_no_paragraph_is_in_both_readmes():
    # The package README and the recipe README split the documentation; a copy would drift.
    def paragraphs(path: Path) -> set[str]:
        return {" ".join(p.split()) for p in path.read_text().split("\n\n") if len(" ".join(p.split())) >= 80}

    assert paragraphs(READMES[0]) & paragraphs(READMES[1]) == set()
