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

"""The wheel ships what a non-editable install needs: configs, plugin, demo data, namespace packages.

If the YAML files or the Hydra plugin were missing from the wheel, ``+recipe=pasr`` would silently
become a plain config key and verl would train with its defaults; this builds the wheel, installs it
into a fresh directory and composes a recipe from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_composes_recipes(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_configs = {f"recipe/pasr/conf/recipe/{path.name}" for path in (ROOT / "conf" / "recipe").glob("*.yaml")}
    assert shipped_configs <= names
    assert {"hydra_plugins/pasr_searchpath/__init__.py", "recipe/pasr/demo/examples.jsonl"} <= names
    assert "recipe/pasr/data_prep/prepare_train.py" in names
    # Every module of the recipe (method, verl glue, tools, ...) ships; the tests' fakes do not.
    recipe_dir = ROOT / "recipe" / "pasr"
    modules = {
        f"recipe/pasr/{path.relative_to(recipe_dir).as_posix()}"
        for path in recipe_dir.rglob("*.py")
        if path.relative_to(recipe_dir).parts[0] not in ("conf", "data_prep")  # symlinks in worktrees
    }
    assert "recipe/pasr/tools/evaluate.py" in modules and modules <= names, sorted(modules - names)
    assert not any(name.startswith("tests/") for name in names)
    # The CPU smoke run: its script, installer and plugins (vLLM finds its plugin through the entry point).
    assert {"recipe/pasr/run_cpu_smoke.sh", "recipe/pasr/cpu/install_vllm_cpu.sh"} <= names
    assert {"recipe/pasr/cpu/verl_platform.py", "recipe/pasr/cpu/vllm_plugin.py"} <= names
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    entry_point_text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[vllm.general_plugins]\npasr_cpu = recipe.pasr.cpu.vllm_plugin:register" in entry_point_text
    assert "recipe/__init__.py" not in names and "hydra_plugins/__init__.py" not in names  # namespace packages

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = "import recipe.pasr, hydra_plugins.pasr_searchpath as p; print(recipe.pasr.__file__); print(p.__file__)"
    located = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert all(line.startswith(str(target)) for line in located.stdout.split()), located.stdout + located.stderr
    composed = subprocess.run(
        [sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=pasr_qwen3_8b", "--cfg", "job"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert composed.returncode == 0, composed.stderr[-2000:]
    config = yaml.safe_load(composed.stdout)
    assert "recipe" not in config
    assert config["data"]["apply_chat_template_kwargs"]["enable_thinking"] is True
    assert config["trainer"]["v1"]["trainer_mode"] == "pasr_sync"
