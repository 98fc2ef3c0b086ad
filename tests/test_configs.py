"""Every shipped ``+recipe=...`` config composes through verl's Hydra entry and passes verl's checks.

Composition goes through the installed Hydra search-path plugin (no ``hydra.searchpath`` override);
the subprocess tests run ``python -m verl.trainer.main_ppo`` from a directory outside the repo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from tiny_hf import build_tiny_model_dir
from verl.trainer.ppo.reward import resolve_reward_manager_cls
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import omega_conf_to_dataclass, validate_config

from recipe.pasr.reward import RewardConfig
from recipe.pasr.scoring.judge import JudgeConfig
from recipe.pasr.verl.config import AGENT_LOOP_MANAGER, JudgeBackend, PasrConfig, check_verl_settings, load_pasr_config
from recipe.pasr.verl.reward_manager import PasrRewardManager

RECIPES = ["pasr", "pasr_qwen2_5_1_5b", "pasr_qwen2_5_7b", "pasr_qwen3_8b", "pasr_qwen2_5_14b", "pasr_qwen2_5_32b"]
CPU_RECIPE = "pasr_cpu"  # the CPU smoke run (recipe/pasr/run_cpu_smoke.sh); trains end to end in test_cpu_e2e
CONF_DIR = Path(__file__).resolve().parents[1] / "conf" / "recipe"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_model_dir(tmp_path_factory.mktemp("model"), with_weights=False)


@pytest.fixture(autouse=True)
def judge_env(monkeypatch):
    monkeypatch.setenv("PASR_JUDGE_URL", "http://judge.example:8000/v1")
    monkeypatch.setenv("PASR_JUDGE_MODEL", "judge-model")


def compose_recipe(name: str, *overrides: str):
    with initialize_config_module("verl.trainer.config", version_base=None):
        return compose("ppo_trainer", overrides=[f"+recipe={name}", *overrides])


def test_every_recipe_file_is_tested():
    assert sorted(path.stem for path in CONF_DIR.glob("*.yaml")) == sorted([*RECIPES, CPU_RECIPE])


def test_cpu_recipe_is_pasr_at_cpu_sizes(model_dir: Path, tmp_path: Path, monkeypatch):
    """+recipe=pasr_cpu: the PASR method unchanged, sizes and device settings for a 2-core machine."""
    (tmp_path / "model").symlink_to(model_dir)  # what recipe.pasr.cpu.prepare lays out in $PASR_CPU_DIR
    monkeypatch.setenv("PASR_CPU_DIR", str(tmp_path))
    config = compose_recipe(CPU_RECIPE)
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    rollout = omega_conf_to_dataclass(config.actor_rollout_ref.rollout)
    actor = omega_conf_to_dataclass(config.actor_rollout_ref.actor)
    assert (rollout.n, rollout.response_length, rollout.name) == (4, 48, "vllm")
    assert actor.strategy == "fsdp2" and config.trainer.device == "cpu"
    assert config.data.train_files == f"{tmp_path}/data/train.parquet"
    pasr = compose_recipe("pasr")
    for key in ("adv_estimator", "norm_adv_by_std_in_grpo"):
        assert config.algorithm[key] == pasr.algorithm[key]
    assert config.pasr == pasr.pasr  # the same reward, bonus and judge settings
    assert rollout.agent.agent_loop_manager_class == AGENT_LOOP_MANAGER
    assert config.trainer.v1.trainer_mode == "pasr_sync"
    assert resolve_reward_manager_cls(config) is PasrRewardManager
    check_verl_settings(config)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_composes_validates_and_converts(name: str, model_dir: Path):
    overrides = [f"actor_rollout_ref.model.path={model_dir}"]
    if name == "pasr":
        overrides += ["actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.actor.use_dynamic_bsz=true"]
        overrides += ["actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=true", "data.train_batch_size=256"]
    config = compose_recipe(name, *overrides)
    assert "recipe" not in config  # the group was found, not turned into a plain key
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))

    actor = omega_conf_to_dataclass(config.actor_rollout_ref.actor)
    rollout = omega_conf_to_dataclass(config.actor_rollout_ref.rollout)
    algorithm = omega_conf_to_dataclass(config.algorithm)
    model = omega_conf_to_dataclass(config.actor_rollout_ref.model)
    assert model.local_path == str(model_dir)
    assert algorithm.adv_estimator == "grpo"
    assert (actor.optim.lr, actor.clip_ratio, actor.clip_ratio_low, actor.clip_ratio_high) == (1e-6, 0.2, 0.2, 0.2)
    assert (actor.use_kl_loss, actor.kl_loss_coef, actor.kl_loss_type) == (True, 0.04, "low_var_kl")
    assert (rollout.n, rollout.temperature, rollout.response_length) == (8, 0.9, 1500)
    assert rollout.agent.agent_loop_manager_class == AGENT_LOOP_MANAGER
    assert config.trainer.v1.trainer_mode == "pasr_sync"
    assert config.ray_kwargs.ray_init.runtime_env.worker_process_setup_hook == (
        "recipe.pasr.verl.trainer.register_trainers"
    )
    assert resolve_reward_manager_cls(config) is PasrRewardManager
    check_verl_settings(config)
    pasr = load_pasr_config(config)
    if pasr.judge_backend is JudgeBackend.EXTERNAL:
        assert (pasr.judge["url"], pasr.judge["model"]) == ("http://judge.example:8000/v1", "judge-model")
    if name != "pasr":
        n_gpus = config.trainer.n_gpus_per_node * config.trainer.nnodes
        assert config.data.train_batch_size * rollout.n % n_gpus == 0
        assert n_gpus % rollout.tensor_model_parallel_size == 0


def test_model_specific_settings():
    qwen3 = compose_recipe("pasr_qwen3_8b")
    assert qwen3.data.apply_chat_template_kwargs.enable_thinking is True
    assert qwen3.actor_rollout_ref.model.path == "Qwen/Qwen3-8B"

    large = compose_recipe("pasr_qwen2_5_32b")
    assert large.trainer.nnodes == 4
    assert large.reward.reward_model.enable and large.reward.reward_model.enable_resource_pool
    assert large.pasr.judge_backend == "verl"
    # verl's RewardLoopWorker only routes to the reward manager when a custom function is set.
    assert large.reward.custom_reward_function.name == "route_to_reward_manager"
    small = compose_recipe("pasr_qwen2_5_1_5b")
    assert small.pasr.judge_backend == "verl" and small.reward.reward_model.enable_resource_pool


def test_command_line_overrides_win():
    config = compose_recipe("pasr_qwen2_5_7b", "actor_rollout_ref.rollout.n=16", "pasr.reward.baseline=paired")
    assert config.actor_rollout_ref.rollout.n == 16
    assert load_pasr_config(config).reward.baseline == "paired"


def test_pasr_section_mirrors_the_dataclasses():
    section = yaml.safe_load((CONF_DIR / "pasr.yaml").read_text())["pasr"]
    assert set(section) == {f.name for f in fields(PasrConfig)}
    assert set(section["reward"]) == {f.name for f in fields(RewardConfig)}
    assert set(section["judge"]) == {f.name for f in fields(JudgeConfig)}
    # ... and its values are the dataclasses' defaults, so the YAML documents them truthfully.
    assert RewardConfig(**section["reward"]) == RewardConfig()
    judge_defaults = {f.name: f.default for f in fields(JudgeConfig) if f.name not in ("url", "model", "extra_body")}
    assert {k: v for k, v in section["judge"].items() if k in judge_defaults} == judge_defaults
    rest = {k: v for k, v in section.items() if k not in ("judge", "reward")}
    assert PasrConfig(**rest) == PasrConfig()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("pasr.reward.baselin=paired", "unknown key"),
        ("pasr.judge_backend=external", "needs pasr.judge.url"),
        ("pasr.scorer=judge", "needs a judge"),
        ("pasr.scorer=fallback", "scorer=fallback needs a judge"),
        ("pasr.reward.baseline=best", "best"),
    ],
)
def test_bad_pasr_settings_fail_loudly(override: str, message: str):
    key, value = override.split("=")
    config = compose_recipe("pasr")
    OmegaConf.set_struct(config, False)
    OmegaConf.update(config, key, value)
    with pytest.raises(ValueError, match=message):
        load_pasr_config(config)


def test_group_hook_is_required():
    config = compose_recipe("pasr", "actor_rollout_ref.rollout.agent.agent_loop_manager_class=null")
    with pytest.raises(ValueError, match="agent_loop_manager_class"):
        check_verl_settings(config)


def run_outside_repo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_main_ppo_entry_composes_every_recipe_from_outside_the_repo(tmp_path: Path):
    # One process runs verl's real Hydra entry point (main_ppo.main) once per recipe with --cfg job.
    script = textwrap.dedent(
        f"""
        import sys
        from verl.trainer import main_ppo
        for name in {RECIPES!r}:
            sys.argv = ["main_ppo", "+recipe=" + name, "--cfg", "job"]
            print("=== " + name, flush=True)
            main_ppo.main()
        """
    )
    result = run_outside_repo(tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr[-3000:]
    chunks = result.stdout.split("=== ")[1:]
    assert [chunk.split("\n", 1)[0] for chunk in chunks] == RECIPES
    for chunk in chunks:
        composed = yaml.safe_load(chunk.split("\n", 1)[1])
        assert "recipe" not in composed
        assert composed["algorithm"]["adv_estimator"] == "grpo"
        assert composed["reward"]["reward_manager"]["name"] == "PasrRewardManager"


def test_reward_manager_loads_through_verl_in_a_fresh_process(tmp_path: Path, model_dir: Path):
    """verl's own loader resolves the manager from the composed config and scores a real DataProto."""
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, torch
        from hydra import compose, initialize_config_module
        from transformers import AutoTokenizer
        from verl import DataProto
        from verl.trainer.ppo.reward import load_reward_manager
        assert "recipe.pasr.verl.reward_manager" not in sys.modules
        with initialize_config_module("verl.trainer.config", version_base=None):
            config = compose("ppo_trainer", overrides=["+recipe=pasr", "actor_rollout_ref.model.path={model_dir}"])
        tokenizer = AutoTokenizer.from_pretrained("{model_dir}")
        manager = load_reward_manager(config, tokenizer)
        prompt = tokenizer.apply_chat_template(
            [{{"role": "user", "content": "what is 12"}}], add_generation_prompt=True, return_dict=False
        )
        response = tokenizer("<think> so <refine> check 12 </refine> </think> <answer> 12 </answer>")["input_ids"]
        ids = torch.tensor([prompt + response])
        data = DataProto.from_dict(
            tensors={{
                "prompts": torch.tensor([prompt]),
                "responses": torch.tensor([response]),
                "input_ids": ids,
                "attention_mask": torch.ones_like(ids),
            }},
            non_tensors={{
                "data_source": np.array(["openai/gsm8k"], dtype=object),
                "reward_model": np.array([{{"ground_truth": "#### 12"}}], dtype=object),
                "extra_info": np.array([{{"question": "what is 12"}}], dtype=object),
            }},
        )
        result = manager.loop.run_until_complete(manager.run_single(data))
        print(json.dumps({{"class": type(manager).__module__ + "." + type(manager).__name__, **result}}))
        """
    )
    result = run_outside_repo(tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["class"] == "recipe.pasr.verl.reward_manager.PasrRewardManager"
    info = output["reward_extra_info"]
    assert (info["format_ok"], info["is_refine"], info["num_refine"], info["acc"]) == (True, True, 1, 1.0)
    assert info["extracted"] == "12" and info["scorer"] == "rule"
    assert output["reward_score"] == 2.0  # format + acc; the group hook adds the bonus later


def test_every_model_config_has_a_run_script():
    recipe_dir = Path(__file__).resolve().parents[1] / "recipe" / "pasr"
    scripts = {path.name: path.read_text() for path in recipe_dir.glob("run_*.sh")}
    models = [name for name in RECIPES if name != "pasr"]
    assert scripts.pop("run_cpu_smoke.sh").count(f"+recipe={CPU_RECIPE} ") == 1
    assert sorted(scripts) == sorted(f"run_{name.removeprefix('pasr_')}.sh" for name in models)
    for name in models:
        assert f"+recipe={name} " in scripts[f"run_{name.removeprefix('pasr_')}.sh"]
    assert (recipe_dir / "REQUIRED_VERL.txt").read_text().strip() == "verl==0.9.1"


def test_reward_manager_names_a_record_with_a_missing_field(model_dir: Path):
    import numpy as np
    import torch
    from transformers import AutoTokenizer
    from verl import DataProto

    config = compose_recipe("pasr", f"actor_rollout_ref.model.path={model_dir}")
    manager = PasrRewardManager(config, AutoTokenizer.from_pretrained(model_dir))
    ids = torch.tensor([[5, 6, 7]])
    tensors = {"prompts": ids[:, :1], "responses": ids[:, 1:], "input_ids": ids, "attention_mask": torch.ones_like(ids)}
    data = DataProto.from_dict(
        tensors=tensors,
        non_tensors={
            "data_source": np.array(["gsm8k"], dtype=object),
            "uid": np.array(["a1b2"], dtype=object),
            "extra_info": np.array([{"index": 17}], dtype=object),
        },
    )
    with pytest.raises(ValueError, match=r"uid=a1b2 extra_info.index=17: missing field 'reward_model'"):
        manager.loop.run_until_complete(manager.run_single(data))
