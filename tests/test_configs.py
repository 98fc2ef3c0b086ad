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

"""Every shipped ``+recipe=...`` config composes through verl's Hydra entry and passes verl's checks.

Composition goes through the installed Hydra search-path plugin (no ``hydra.searchpath`` override);
the subprocess tests run ``python -m verl.trainer.main_ppo`` from a directory outside the repo.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from verl.trainer.ppo.reward import resolve_reward_manager_cls
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import omega_conf_to_dataclass, validate_config

from recipe.pasr.reward import RewardConfig
from recipe.pasr.scoring.judge import JudgeConfig
from recipe.pasr.verl.config import (
    AGENT_LOOP_MANAGER,
    JudgeBackend,
    JudgeSettings,
    PasrConfig,
    check_job_config,
    check_launch_settings,
    load_pasr_config,
)
from recipe.pasr.verl.hydra_check import PasrConfigCheck
from recipe.pasr.verl.reward_manager import PasrRewardManager, judge_concurrency_share
from tests.fakes.tiny_hf import build_tiny_model_dir, one_response

RECIPES = ["pasr", "pasr_qwen2_5_1_5b", "pasr_qwen2_5_7b", "pasr_qwen3_8b", "pasr_qwen2_5_14b", "pasr_qwen2_5_32b"]
CPU_RECIPE = "pasr_cpu"  # the CPU smoke run (recipe/pasr/run_cpu_smoke.sh); trains end to end in test_cpu_e2e
PAPER_RECIPE = "pasr_paper"  # the authors' method as closely as verl allows, on top of pasr
CONF_DIR = Path(__file__).resolve().parents[1] / "conf" / "recipe"
VERL_JUDGE = [  # a judge served by verl, as the README describes it
    "pasr.judge_backend=verl",
    "reward.reward_model.enable=true",
    "reward.reward_model.enable_resource_pool=true",
    "reward.reward_model.model_path=/models/judge",
]


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
    assert sorted(path.stem for path in CONF_DIR.glob("*.yaml")) == sorted([*RECIPES, CPU_RECIPE, PAPER_RECIPE])


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
    check_job_config(config)
    check_launch_settings(config)


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
        "recipe.pasr.verl.setup_hook.register_trainers_on_import"
    )
    assert resolve_reward_manager_cls(config) is PasrRewardManager
    pasr = check_job_config(config)
    check_launch_settings(config)
    if pasr.judge_backend is JudgeBackend.EXTERNAL:
        assert (pasr.judge.url, pasr.judge.model) == ("http://judge.example:8000/v1", "judge-model")
    if name != "pasr":
        n_gpus = config.trainer.n_gpus_per_node * config.trainer.nnodes
        assert config.data.train_batch_size * rollout.n % n_gpus == 0
        assert n_gpus % rollout.tensor_model_parallel_size == 0


# (composed key, value): every place where pasr_paper departs from pasr, and what it keeps from it.
PAPER_VALUES = [
    ("pasr.reward.baseline", "paired"),  # 8 standard responses per prompt ...
    ("pasr.paired_samples", 8),
    ("actor_rollout_ref.rollout.temperature", 0.9),  # ... sampled like the policy's (one sampling_params)
    ("actor_rollout_ref.rollout.n", 8),
    ("actor_rollout_ref.rollout.response_length", 1500),
    ("pasr.scorer", "judge"),  # every response judged ...
    ("pasr.judge_target", "response"),  # ... on the whole response
    ("pasr.judge_backend", "external"),
    ("pasr.judge.scale", "graded"),  # 0..1 for open questions
    ("pasr.judge.temperature", 0.2),
    ("pasr.judge.max_answer_chars", 12000),
    ("pasr.reward.score_invalid_format", True),  # format-invalid responses still judged (pasr's default too)
    ("pasr.reward.empty_refine", "counts"),  # an empty <refine></refine> is a refine block
    ("pasr.reward.refine_tie", -0.5),
    ("pasr.reward.format_invalid", -1.0),
    ("actor_rollout_ref.actor.loss_agg_mode", "seq-mean-token-mean"),  # per sequence, then over sequences
    ("data.train_batch_size", 8),  # 8 prompts x 8 responses per rollout batch ...
    ("actor_rollout_ref.actor.ppo_mini_batch_size", 2),  # ... 16 sequences per optimizer step
    ("actor_rollout_ref.actor.ppo_epochs", 1),
    ("algorithm.filter_groups.enable", True),  # groups with all-equal rewards skipped
    ("algorithm.filter_groups.metric", "reward"),
    ("algorithm.adv_estimator", "grpo"),
    ("algorithm.norm_adv_by_std_in_grpo", True),
    ("actor_rollout_ref.actor.kl_loss_coef", 0.04),
    ("actor_rollout_ref.actor.kl_loss_type", "low_var_kl"),
    ("actor_rollout_ref.actor.optim.lr", 1e-6),
    ("actor_rollout_ref.actor.clip_ratio", 0.2),
]


@pytest.fixture(scope="module")
def paper_config():
    return compose_recipe(PAPER_RECIPE)  # composed once (about a second); values resolve on access


@pytest.mark.parametrize(("key", "value"), PAPER_VALUES, ids=[key for key, _ in PAPER_VALUES])
def test_paper_profile_values(paper_config, key: str, value: object):
    assert OmegaConf.select(paper_config, key, throw_on_missing=True) == value


def test_paper_profile_validates_and_loads(model_dir: Path):
    config = compose_recipe(
        PAPER_RECIPE, f"actor_rollout_ref.model.path={model_dir}", "actor_rollout_ref.rollout.name=vllm"
    )
    assert "recipe" not in config
    validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
    actor = omega_conf_to_dataclass(config.actor_rollout_ref.actor)
    algorithm = omega_conf_to_dataclass(config.algorithm)
    assert actor.loss_agg_mode == "seq-mean-token-mean" and algorithm.filter_groups.enable
    check_launch_settings(config)
    pasr = check_job_config(config)
    judge = pasr.judge.config()
    assert (judge.scale, judge.temperature, judge.url) == ("graded", 0.2, "http://judge.example:8000/v1")
    assert pasr.reward.baseline == "paired" and pasr.reward.score_invalid_format
    # pasr itself keeps its defaults: the profile changes nothing for users of +recipe=pasr.
    base = load_pasr_config(compose_recipe("pasr"))
    assert (base.reward.baseline, base.reward.score_invalid_format, base.judge.scale) == (
        "in_group",
        True,
        "binary",
    )


def test_model_specific_settings():
    qwen3 = compose_recipe("pasr_qwen3_8b")
    assert qwen3.data.apply_chat_template_kwargs.enable_thinking is True
    assert qwen3.actor_rollout_ref.model.path == "Qwen/Qwen3-8B"

    large = compose_recipe("pasr_qwen2_5_32b")
    assert large.trainer.nnodes == 4
    assert large.reward.reward_model.enable and large.reward.reward_model.enable_resource_pool
    assert large.pasr.judge_backend == "verl"
    small = compose_recipe("pasr_qwen2_5_1_5b")
    assert small.pasr.judge_backend == "verl" and small.reward.reward_model.enable_resource_pool
    # verl's RewardLoopWorker only routes to the reward manager when a custom function is named: every
    # recipe names the routing marker, whatever its judge backend, so switching to a served judge cannot miss it.
    for name in RECIPES:
        function = compose_recipe(name).reward.custom_reward_function
        assert (function.path, function.name) == ("pkg://recipe.pasr.verl.reward_manager", "route_to_reward_manager")


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
    # pasr.judge is typed: the whole section, url and model included, is JudgeSettings' defaults.
    assert set(section["judge"]) == {f.name for f in fields(JudgeSettings)}
    assert JudgeSettings(**section["judge"]) == JudgeSettings() == PasrConfig().judge
    assert PasrConfig(judge=section["judge"]).judge == JudgeSettings()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+pasr.reward.baselin=paired", "unknown key(s) pasr.reward.baselin; known keys of pasr.reward: acc_weight"),
        ("+pasr.judge.retries=2", "unknown key(s) pasr.judge.retries; known keys of pasr.judge: api_key_env"),
        ("+pasr.judge_url=x", "unknown key(s) pasr.judge_url; known keys of pasr: judge,"),
        ("pasr.judge_backend=external", "needs pasr.judge.url"),
        ("pasr.scorer=judge", "needs a judge"),
        ("pasr.reward.baseline=best", "pasr.reward.baseline='best' is not allowed; allowed values: in_group, paired,"),
        ("pasr.judge_backend=vllm", "pasr.judge_backend='vllm' is not allowed; allowed values: none, external, verl"),
        ("pasr.reward.judge_failure_policy=skip", "allowed values: raise, neutralize_group, zero"),
        (
            "pasr.reward.empty_refine=yes",
            "pasr.reward.empty_refine='yes' is not allowed; allowed values: invalid, counts",
        ),
        ("pasr.paired_samples=eight", "pasr.paired_samples='eight' must be of type int"),
        ("pasr.reward.refine_win=true", "pasr.reward.refine_win=True must be of type float"),
        ("pasr.reward.min_baseline_samples=0", "pasr.reward: min_baseline_samples must be >= 1"),
        ("pasr.judge.max_concurrency=0", "pasr.judge: JudgeConfig.max_concurrency must be an integer >= 1"),
        ("pasr.scorer=fallback", "scorer=fallback needs a judge"),
    ],
)
def test_bad_pasr_settings_fail_loudly(override: str, message: str):
    config = compose_recipe("pasr", override)
    with pytest.raises(ValueError, match=re.escape(message)):
        check_job_config(config)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["actor_rollout_ref.rollout.agent.agent_loop_manager_class=null"], "agent_loop_manager_class"),
        (["reward.reward_manager.name=NaiveRewardManager"], "name=PasrRewardManager"),
        # The verl-judge routing mistake: a served judge without the routing marker never reaches PASR.
        ([*VERL_JUDGE, "reward.custom_reward_function.path=null"], "POSTs /classify"),
        (["reward.custom_reward_function.name=my_score"], "would never be called"),
        (["pasr.judge_backend=verl"], "needs verl to serve the judge"),
        ([*VERL_JUDGE, "reward.reward_model.enable_resource_pool=false"], "colocated reward model"),
        (["actor_rollout_ref.rollout.agent.default_agent_loop=tool_agent"], "allowed values: single_turn_agent"),
        (["actor_rollout_ref.rollout.multi_turn.enable=true"], "multi_turn.enable=true is not supported"),
    ],
)
def test_verl_settings_pasr_depends_on_are_checked(overrides: list[str], message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_job_config(compose_recipe("pasr", *overrides))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.v1.trainer_mode=sync", "trainer.v1.trainer_mode='sync' is not allowed with PASR; allowed values:"),
        ("ray_kwargs.ray_init.runtime_env.worker_process_setup_hook=null", "worker_process_setup_hook must be"),
    ],
)
def test_launch_settings_are_checked(override: str, message: str):
    config = compose_recipe("pasr", override)
    check_job_config(config)  # the workers' part is fine: only the driver sees the mode as written
    with pytest.raises(ValueError, match=re.escape(message)):
        check_launch_settings(config)


def test_the_recipe_registers_the_driver_check_as_a_hydra_callback():
    with initialize_config_module("verl.trainer.config", version_base=None):
        config = compose("ppo_trainer", overrides=["+recipe=pasr"], return_hydra_config=True)
    (callback,) = config.hydra.callbacks.values()
    assert callback._target_ == f"{PasrConfigCheck.__module__}.{PasrConfigCheck.__name__}"
    PasrConfigCheck().on_job_start(config=config)  # the recipe as shipped passes
    bad = compose_recipe("pasr", "pasr.reward.baseline=pairwise")
    with pytest.raises(SystemExit, match=re.escape("PASR configuration error: pasr.reward.baseline='pairwise'")):
        PasrConfigCheck().on_job_start(config=bad)


def test_config_mistakes_end_verls_entry_point_before_ray_starts(tmp_path: Path):
    """``python -m verl.trainer.main_ppo +recipe=... <mistake>`` exits non-zero before Ray, naming the key.

    One process runs verl's real entry point (main_ppo.main, Hydra and the recipe's callback included)
    for each mistake, so verl's imports are paid once; RAY_ADDRESS points at a closed port so a check
    that failed to stop the run could not start a local Ray cluster either.
    """
    cases = [
        ["pasr.reward.baseline=pairwise"],
        ["+pasr.reward.basline=paired"],
        [*VERL_JUDGE, "reward.custom_reward_function.path=null"],
    ]
    script = textwrap.dedent(
        f"""
        import json, sys, time
        started = time.monotonic()
        from verl.trainer import main_ppo
        import_s = time.monotonic() - started
        for overrides in {cases!r}:
            sys.argv = ["main_ppo", "+recipe=pasr_qwen2_5_7b", *overrides]
            started = time.monotonic()
            try:
                main_ppo.main()
                code = 0
            except SystemExit as exit:
                code = exit.code
            print(json.dumps({{"code": code, "import_s": import_s, "check_s": time.monotonic() - started}}), flush=True)
        """
    )
    env = {"RAY_ADDRESS": "127.0.0.1:9"} | {k: v for k, v in os.environ.items() if k == "PYTHONPATH"}
    result = run_outside_repo(tmp_path, "-c", script, env=env, timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ray init" not in result.stdout  # main_ppo prints its ray.init arguments right before starting Ray
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(outcomes) == 3
    baseline, unknown, routing = (str(outcome["code"]) for outcome in outcomes)
    assert baseline.startswith("PASR configuration error:")  # SystemExit with a message: exit status 1
    assert "pasr.reward.baseline='pairwise' is not allowed; allowed values: in_group, paired, precomputed" in baseline
    assert "unknown key(s) pasr.reward.basline" in unknown
    assert "reward.custom_reward_function.path" in routing and "/classify" in routing
    # One command costs verl's own imports (main_ppo imports Ray and torch before Hydra runs: 13 s on 2 idle
    # cores, more under load) plus composing and checking, which is what the recipe controls: ~3 s.
    assert all(outcome["check_s"] < 10 for outcome in outcomes), outcomes


def run_outside_repo(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | (env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_main_ppo_entry_composes_every_recipe_from_outside_the_repo(tmp_path: Path):
    # One process runs verl's real Hydra entry point (main_ppo.main) once per recipe with --cfg job.
    script = textwrap.dedent(
        f"""
        import sys
        from verl.trainer import main_ppo
        for name in {[*RECIPES, PAPER_RECIPE]!r}:
            sys.argv = ["main_ppo", "+recipe=" + name, "--cfg", "job"]
            print("=== " + name, flush=True)
            main_ppo.main()
        """
    )
    result = run_outside_repo(tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr[-3000:]
    chunks = result.stdout.split("=== ")[1:]
    assert [chunk.split("\n", 1)[0] for chunk in chunks] == [*RECIPES, PAPER_RECIPE]
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
    assert "PIP_INSTALL=pip install verl==0.9.1" in (recipe_dir / "REQUIRED_VERL.txt").read_text().splitlines()


def test_reward_manager_names_a_record_with_a_missing_field(model_dir: Path):
    from transformers import AutoTokenizer

    config = compose_recipe("pasr", f"actor_rollout_ref.model.path={model_dir}")
    manager = PasrRewardManager(config, AutoTokenizer.from_pretrained(model_dir))
    data = one_response([5], [6, 7], data_source="gsm8k", uid="a1b2", extra_info={"index": 17})
    with pytest.raises(ValueError, match=r"uid=a1b2 extra_info.index=17: missing field reward_model.ground_truth"):
        manager.loop.run_until_complete(manager.run_single(data))


def test_judge_concurrency_is_split_exactly_over_reward_workers():
    assert [judge_concurrency_share(64, 8, i) for i in range(8)] == [8] * 8
    shares = [judge_concurrency_share(10, 4, i) for i in range(4)]
    assert shares == [3, 3, 2, 2] and sum(shares) == 10
    with pytest.raises(ValueError, match="cannot split 3 judge requests over 4 workers"):
        judge_concurrency_share(3, 4, 0)
    config = compose_recipe("pasr_qwen2_5_7b", "pasr.judge.max_concurrency=4")  # 8 reward workers
    with pytest.raises(ValueError, match=r"pasr.judge.max_concurrency=4 is the job's total .* reward.num_workers=8"):
        check_job_config(config)


def test_separate_async_requirements_are_named_before_ray():
    config = compose_recipe("pasr_qwen2_5_7b", "trainer.v1.trainer_mode=pasr_separate_async")
    with pytest.raises(ValueError, match=r"parameter_sync_step \(4\) x .*ppo_mini_batch_size \(32\).*naive") as error:
        check_launch_settings(config)
    assert "actor_rollout_ref.rollout.nnodes and n_gpus_per_node must be > 0" in str(error.value)
    fixed = compose_recipe(
        "pasr_qwen2_5_7b",
        "trainer.v1.trainer_mode=pasr_separate_async",
        "trainer.v1.separate_async.parameter_sync_step=2",
        "actor_rollout_ref.rollout.nnodes=1",
        "actor_rollout_ref.rollout.checkpoint_engine.backend=nccl",
    )
    check_launch_settings(fixed)
