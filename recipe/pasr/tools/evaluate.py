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

"""Evaluate a model on the prepared tasks: generate, score with the reward core, report.

``python -m recipe.pasr.tools.evaluate --data-dir DATA --model PATH --mode pasr --output-dir RUN`` generates
for every record of ``DATA/<task>.parquet`` (written by ``data_prep/prepare_eval.py``) and scores it
with :class:`recipe.pasr.scoring.sample.SampleScorer`, the same code that computes the training reward:

* ``pasr``: the PASR system prompt; the response is parsed and its ``<answer>`` scored (role policy);
* ``standard``: the plain prompt; the whole response is the answer (role standard);
* ``self_refine``: the post-hoc baseline: a standard answer, then a second turn asking the model to
  review and revise it; the revision is scored, the first answer too (``initial``).

Two protocols (``--protocol``): ``rules`` (default) prompts through the chat template and scores
verifiable tasks by rules, the rest by the judge on the answer; ``paper`` follows the authors'
evaluation, the only one comparable with the paper's table: a task prefix before the question, no chat
template and no system prompt, and every task judged on the whole response with the authors' choice of
instruction per task (:data:`recipe.pasr.tasks.PAPER_JUDGE_TYPES`), the judge sampled at 0.2.

The run directory holds ``config.json``, ``records.jsonl`` (one line per question and sample, appended
as they finish), ``results.json`` and ``results.md``. Rerunning the same command resumes: finished
records are not regenerated, and records whose judge call failed are re-scored from their stored
response. A run directory refuses settings that would change its generations (another model, mode or
decoding); scoring settings can change only with ``--rescore``, which re-scores every stored record.

``python -m recipe.pasr.tools.evaluate compare RUN_A RUN_B --output-dir CMP`` compares two runs (A the
baseline) on the questions both scored: ``comparison.md``, ``comparison.json`` and ``comparison.png``.
Runs whose stored settings differ beyond model, backend and mode are refused unless
``--allow-different-settings``.

Exit codes: 0 every requested record scored (compare: both runs scored the same questions); 1 the run
could not start or stopped (the message says why; a rerun resumes); 3 results written in full but
incomplete: judge failures remain, tasks were skipped (compare: the question sets differ, or settings
were allowed to differ). The average then covers the complete tasks only and names the others.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import os
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from recipe.pasr import exit_codes
from recipe.pasr.chat_template import Messages, closed_think_warning, parse_chat_template_kwargs
from recipe.pasr.jsonl import parse_jsonl
from recipe.pasr.response import ParsedResponse, parse_response
from recipe.pasr.reward import RewardConfig, Role, SampleScore, result_record, score_group
from recipe.pasr.scoring.judge import JudgeClient, JudgeOptions, add_judge_arguments, judge_from_args
from recipe.pasr.scoring.sample import (
    DEFAULT_JUDGE_TARGET,
    DEFAULT_SCORER,
    JudgeTarget,
    SampleScorer,
    ScoreRequest,
    ScorerMode,
    ScorerSetupError,
)
from recipe.pasr.tasks import TASKS, paper_eval_prompt, paper_judge_type, resolve_task
from recipe.pasr.tools.backends import (
    Backend,
    Generation,
    GenerationError,
    GenRequest,
    HFBackend,
    OpenAIBackend,
    Sampling,
    VLLMBackend,
)
from recipe.pasr.tools.eval_report import (
    COMPARED_SETTINGS,
    average,
    compare,
    comparison_markdown,
    comparison_plot,
    is_complete,
    results_markdown,
    settings_differences,
    task_metrics,
)

MODES = ("pasr", "standard", "self_refine")
PROTOCOLS = ("rules", "paper")
PAPER_JUDGE_TEMPERATURE = 0.2  # the authors sampled their judge at 0.2
PAPER_TASKS = (
    "mmlu",
    "drop",
    "xsum",
    "gsm8k",
    "math",
    "aime24",
    "arc_challenge",
    "gpqa",
    "winogrande",
    "commonsenseqa",
)
REVISE_PROMPT = (
    "Review your previous answer carefully. If you find a mistake, a gap or anything that could be better, "
    "correct it; then give your complete final answer."
)
DEFAULT_BATCH = {"hf": 8, "vllm": 512, "openai": 64}
RECORDS, CONFIG, RESULTS, RESULTS_MD = "records.jsonl", "config.json", "results.json", "results.md"
# Settings that change what is generated: a run directory never mixes records made under different ones.
GENERATION_KEYS = (
    "model",
    "api_model",
    "backend",
    "mode",
    "temperature",
    "top_p",
    "max_new_tokens",
    "num_samples",
    "seed",
    "chat_template_kwargs",
    "protocol",
)
SCORING_KEYS = ("scorer", "judge_model", "score_invalid_format", "judge_target", "judge_temperature", "judge_scale")
# Runs written before a setting existed were made with its then only behaviour.
SETTINGS_BEFORE_RECORDED = {
    "protocol": "rules",
    "judge_target": "answer",
    "judge_temperature": 0.0,
    "judge_scale": "binary",
}

Record = dict[str, Any]
Key = tuple[str, int, int]


class RunError(RuntimeError):
    """A run cannot start or continue as asked (message says what to do)."""


# --- the evaluation items ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One question of a task and one sample index: the unit that is generated, scored and recorded."""

    task: str
    index: int
    sample: int
    question: str
    ground_truth: str
    pasr_prompt: Messages
    standard_prompt: Messages

    @property
    def key(self) -> Key:
        return self.task, self.index, self.sample

    def prompt(self, mode: str, protocol: str) -> Messages | str:
        """What the model is given: a conversation, or under the paper protocol a raw prompt (every mode)."""
        if protocol == "paper":
            return paper_eval_prompt(self.task, self.question)
        return self.pasr_prompt if mode == "pasr" else self.standard_prompt

    def seed(self, base: int, turn: int = 0) -> int:
        """A per-item sampling seed, so a resumed run draws the same as an uninterrupted one."""
        return zlib.crc32(f"{base}/{self.task}/{self.index}/{self.sample}/{turn}".encode())


def load_items(data_dir: Path, task: str, limit: int | None, num_samples: int) -> list[Item]:
    """The first ``limit`` records of ``DATA/<task>.parquet``, ``num_samples`` items each."""
    import pyarrow.parquet as pq

    path = data_dir / f"{task}.parquet"
    rows = pq.read_table(path).to_pylist()[:limit]
    items = []
    for row in rows:
        if resolve_task(row["data_source"]).name != task:
            raise RunError(f"{path}: a row has data_source {row['data_source']!r}, expected {task!r}")
        extra = row["extra_info"]
        for sample in range(num_samples):
            items.append(
                Item(
                    task,
                    int(extra["index"]),
                    sample,
                    extra["question"],
                    row["reward_model"]["ground_truth"],
                    [dict(m) for m in row["prompt"]],
                    [dict(m) for m in extra["standard_prompt"]],
                )
            )
    return items


# --- records file -----------------------------------------------------------------------------------


def record_key(record: Mapping[str, Any]) -> Key:
    return record["task"], int(record["index"]), int(record["sample"])


def load_records(path: Path, *, repair: bool = False) -> dict[Key, Record]:
    """Records of a run, the last line per key winning (a re-scored record is appended after the old one).

    A final line without its newline is the trace of an interrupted write: with ``repair`` the file is
    cut back to its last complete line (that record is generated again), otherwise it is ignored.
    A broken line anywhere else is an error.
    """
    if not path.is_file():
        return {}
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if repair and len(complete) < len(data):
        print(f"warning: {path}: dropping an incomplete last line (interrupted write)", file=sys.stderr)
        with path.open("r+b") as handle:
            handle.truncate(len(complete))
    records: dict[Key, Record] = {}
    for line in parse_jsonl(complete.splitlines()):
        if line.record is None:
            raise RunError(f"{path}:{line.number}: {line.problem}")
        records[record_key(line.record)] = line.record
    return records


class RecordWriter:
    """Appends records to ``records.jsonl`` and flushes, so an interruption loses at most a batch."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")

    def write(self, records: Iterable[Record]) -> None:
        for record in records:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def compact(path: Path, records: Mapping[Key, Record]) -> None:
    """Rewrite the records file sorted and deduplicated (atomic), so equal runs give equal files."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for key in sorted(records):
            handle.write(json.dumps(records[key], ensure_ascii=False) + "\n")
    os.replace(tmp, path)


# --- scoring ----------------------------------------------------------------------------------------


class Scorer:
    """Scores responses through the reward core; rules run inline (math-verify's timeout needs the main
    thread), judge calls concurrently.

    Under the paper protocol every response goes to the judge whole, whatever its format and reasoning
    included, with the instruction the authors used for its task (:func:`recipe.pasr.tasks.paper_judge_type`);
    a PASR response's structure is still parsed for the refine and format figures.
    """

    def __init__(
        self,
        mode: ScorerMode,
        judge: JudgeClient | None,
        score_invalid_format: bool,
        judge_target: JudgeTarget = DEFAULT_JUDGE_TARGET,
        protocol: str = "rules",
    ) -> None:
        self.config = RewardConfig(score_invalid_format=score_invalid_format)
        self.judge = judge
        self.paper = protocol == "paper"
        self.sample_scorer = SampleScorer(self.config, mode, judge, judge_target)

    def needs_judge(self, task: str) -> bool:
        """Whether ``task`` is judged; raises :class:`ScorerSetupError` if it cannot be scored."""
        if not self.paper:
            return self.sample_scorer.uses_judge(resolve_task(task))
        if self.judge is None:
            raise ScorerSetupError(f"data_source {task!r} needs the judge: --protocol paper judges every task")
        return True

    async def score(self, item_fields: Mapping[str, Any], response: str, prompt_tail: str, role: Role) -> Record:
        request = ScoreRequest(
            response=response,
            ground_truth=item_fields["ground_truth"],
            data_source=item_fields["task"],
            question=item_fields["question"],
            role=role,
            prompt_tail=prompt_tail,
        )
        if self.paper:
            sample, parsed = await self._judge_whole(request)
        elif self.needs_judge(item_fields["task"]):
            sample, parsed = await self.sample_scorer.score(request)
        else:
            sample, parsed = self.sample_scorer.score_rule(request)
            await self.sample_scorer.judge_unresolved(sample, request)  # scorer "fallback" only
        fields = result_record(sample, score_group([sample], self.config)[0])
        fields["refine_positions"] = parsed.refine_positions() if parsed is not None else []
        return fields

    async def _judge_whole(self, request: ScoreRequest) -> tuple[SampleScore, ParsedResponse | None]:
        """The paper protocol: the whole response judged (an empty one scores ``missing_answer_acc``)."""
        parsed = parse_response(request.response, request.prompt_tail) if request.role is Role.POLICY else None
        sample = SampleScore(
            role=request.role,
            format_ok=parsed.format_ok if parsed is not None else None,
            format_error=parsed.format_error if parsed is not None else None,
            is_refine=parsed is not None and parsed.is_refine,
            num_refine=parsed.num_refine if parsed is not None else 0,
            answer=request.response.strip() or None,
        )
        if sample.answer is None:
            sample.acc, sample.scorer = self.config.missing_answer_acc, "none"
            return sample, parsed
        assert self.judge is not None
        verdict = await self.judge.score(
            task_type=paper_judge_type(resolve_task(request.data_source).name),
            question=request.question,
            reference=request.ground_truth,
            answer=request.response,
        )
        sample.acc, sample.scorer, sample.judge_failed = verdict.score, "judge", verdict.failed
        sample.judge_error, sample.judge_deduplicated = verdict.error, verdict.deduplicated
        return sample, parsed

    async def score_record(self, record: Record) -> Record:
        """(Re-)score a record from its stored response(s); generation fields are kept."""
        role = Role.POLICY if record["mode"] == "pasr" else Role.STANDARD
        scored = {**record, **await self.score(record, record["response"], record["prompt_tail"], role)}
        if "initial" in record:
            initial = record["initial"]
            fields = await self.score(record, initial["response"], record["prompt_tail"], Role.STANDARD)
            scored["initial"] = {"response": initial["response"], "tokens": initial["tokens"], **_brief(fields)}
        return scored


def _brief(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: fields[key] for key in ("answer", "extracted", "scorer", "acc", "judge_failed", "judge_error")}


# --- generation -------------------------------------------------------------------------------------


async def generate(
    backend: Backend, items: Sequence[Item], mode: str, sampling: Sampling, seed: int, protocol: str = "rules"
) -> list[Record]:
    """Generate for a batch of items; returns unscored records."""
    requests = [GenRequest(item.prompt(mode, protocol), item.seed(seed)) for item in items]
    first = await backend.generate(requests, sampling)
    if mode != "self_refine":
        return [
            _record(item, mode, request.messages, gen, None)
            for item, request, gen in zip(items, requests, first, strict=True)
        ]
    revise = [
        GenRequest(_revision_prompt(request.messages, gen.text), item.seed(seed, turn=1))
        for item, request, gen in zip(items, requests, first, strict=True)
    ]
    second = await backend.generate(revise, sampling)
    return [
        _record(item, mode, request.messages, final, initial)
        for item, request, initial, final in zip(items, requests, first, second, strict=True)
    ]


def _revision_prompt(prompt: Messages | str, answer: str) -> Messages | str:
    """The second self-refine turn: a conversation, or (raw prompts) the first prompt and answer continued."""
    if isinstance(prompt, str):
        return f"{prompt}{answer}\n{REVISE_PROMPT}\n"
    return [*prompt, {"role": "assistant", "content": answer}, {"role": "user", "content": REVISE_PROMPT}]


def _record(item: Item, mode: str, prompt: Messages | str, final: Generation, initial: Generation | None) -> Record:
    turns = [final] if initial is None else [initial, final]
    record: Record = {
        "task": item.task,
        "index": item.index,
        "sample": item.sample,
        "mode": mode,
        "question": item.question,
        "ground_truth": item.ground_truth,
        "prompt": prompt,
        "prompt_tail": turns[0].prompt_tail,
        "response": final.text,
        "tokens": sum(gen.num_tokens for gen in turns),
        "finish_reason": "length" if any(gen.finish_reason == "length" for gen in turns) else "stop",
    }
    if initial is not None:
        record["initial"] = {"response": initial.text, "tokens": initial.num_tokens}
    return record


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class RunConfig:
    model: str
    api_model: str | None
    backend: str
    mode: str
    temperature: float
    top_p: float
    max_new_tokens: int
    num_samples: int
    seed: int
    chat_template_kwargs: dict[str, Any]
    scorer: str
    judge_model: str | None
    score_invalid_format: bool
    protocol: str = "rules"
    judge_target: str = DEFAULT_JUDGE_TARGET.value
    judge_temperature: float = 0.0
    judge_scale: str = "binary"

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_new_tokens)


def check_resume(run_dir: Path, config: RunConfig, rescore: bool) -> None:
    """Refuse to mix records generated (or scored, without ``--rescore``) under different settings."""
    path = run_dir / CONFIG
    if not path.is_file() or not _holds_records(run_dir):
        return  # a start that failed before any record was written binds nothing
    old, new = SETTINGS_BEFORE_RECORDED | json.loads(path.read_text()), asdict(config)
    changed = [k for k in GENERATION_KEYS if old.get(k) != new[k]]
    if changed:
        details = ", ".join(f"{k}: {old.get(k)!r} → {new[k]!r}" for k in changed)
        raise RunError(f"{run_dir} holds a run generated with other settings ({details}); use a new --output-dir")
    rescored = [k for k in SCORING_KEYS if old.get(k) != new[k]]
    if rescored and not rescore:
        details = ", ".join(f"{k}: {old.get(k)!r} → {new[k]!r}" for k in rescored)
        raise RunError(f"{run_dir} was scored with other settings ({details}); add --rescore to re-score all records")


def _holds_records(run_dir: Path) -> bool:
    records = run_dir / RECORDS
    return records.is_file() and records.stat().st_size > 0


def _load_backend(backend_factory: Any, model: str) -> Backend:
    """The backend, or a short :class:`RunError` when the model cannot be loaded (not a long traceback)."""
    try:
        return backend_factory()
    except (OSError, ValueError, ImportError) as exc:  # transformers/vLLM: bad path, id or config
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise RunError(
            f"cannot load model {model!r}: {first}\n"
            "--model must be a local checkpoint directory (with config.json) or a Hugging Face model id; "
            "nothing was generated, so rerun with the corrected --model"
        ) from None


async def evaluate(
    config: RunConfig,
    backend_factory: Any,
    scorer: Scorer,
    *,
    data_dir: Path,
    tasks: Sequence[str],
    run_dir: Path,
    limit: int | None,
    batch_size: int,
    rescore: bool,
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    """Resume or start the run in ``run_dir``; returns the results (also written as JSON and markdown).

    ``backend_factory()`` is called only if something is left to generate, so a finished run can be
    re-scored or re-reported without loading the model.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    check_resume(run_dir, config, rescore)
    (run_dir / CONFIG).write_text(json.dumps(asdict(config), indent=2) + "\n")
    records_path = run_dir / RECORDS
    records = load_records(records_path, repair=True)
    items = {task: load_items(data_dir, task, limit, config.num_samples) for task in tasks}
    wanted = [item.key for task_items in items.values() for item in task_items]
    for task_items in items.values():
        for item in task_items:
            old = records.get(item.key)
            if old is not None and old["question"] != item.question:
                raise RunError(f"{records_path}: record {item.key} was made for another question; the data changed")
    writer = RecordWriter(records_path)
    backend: Backend | None = None
    warned = False
    try:
        stale = [records[k] for k in wanted if k in records and (rescore or _judge_failed(records[k]))]
        for start in tqdm(range(0, len(stale), batch_size), desc="re-scoring", unit="batch", disable=not stale):
            batch = await asyncio.gather(*(scorer.score_record(r) for r in stale[start : start + batch_size]))
            writer.write(batch)
            records.update((record_key(r), r) for r in batch)
        for task, task_items in items.items():
            progress = tqdm(
                total=len(task_items), desc=task, unit="rec", initial=sum(i.key in records for i in task_items)
            )
            for start in range(0, len(task_items), batch_size):  # fixed batches: a resumed run batches alike
                pending = [i for i in task_items[start : start + batch_size] if i.key not in records]
                if not pending:
                    continue
                backend = backend or _load_backend(backend_factory, config.model)
                fresh = await generate(backend, pending, config.mode, config.sampling, config.seed, config.protocol)
                warning = closed_think_warning(fresh[0]["prompt_tail"]) if config.mode == "pasr" else None
                if warning and not warned:
                    tqdm.write(f"WARNING: {warning}", file=sys.stderr)
                    warned = True
                scored = await asyncio.gather(*(scorer.score_record(r) for r in fresh))
                writer.write(scored)
                records.update((record_key(r), r) for r in scored)
                progress.update(len(pending))
            progress.close()
    finally:
        writer.close()
        if backend is not None:
            await backend.aclose()
    compact(records_path, records)
    return write_results(run_dir, config, [records[k] for k in wanted], tasks, skipped)


def _judge_failed(record: Mapping[str, Any]) -> bool:
    return bool(record.get("judge_failed") or (record.get("initial") or {}).get("judge_failed"))


def write_results(
    run_dir: Path, config: RunConfig, records: Sequence[Record], tasks: Sequence[str], skipped: Mapping[str, str]
) -> dict[str, Any]:
    """Results of this invocation's items (the run directory may hold more, e.g. from a larger --limit)."""
    by_task: dict[str, list[Record]] = {task: [] for task in tasks}
    for record in records:
        by_task[record["task"]].append(record)
    per_task = {task: task_metrics(rows) for task, rows in by_task.items() if rows}
    results = {
        "config": asdict(config),
        "tasks": per_task,
        "average": average(per_task),
        "skipped_tasks": dict(skipped),
    }
    (run_dir / RESULTS).write_text(json.dumps(results, indent=2) + "\n")
    (run_dir / RESULTS_MD).write_text(results_markdown(results))
    return results


# --- command line -----------------------------------------------------------------------------------


def _default_backend(args: argparse.Namespace) -> str:
    if args.base_url:
        return "openai"
    if importlib.util.find_spec("vllm") is not None:
        import torch

        if torch.cuda.is_available():
            return "vllm"
    return "hf"


def _backend_factory(args: argparse.Namespace, backend: str) -> Any:
    kwargs = args.chat_template_kwargs
    if backend == "openai":
        model = args.api_model or args.model
        return lambda: OpenAIBackend(
            args.base_url,
            model,
            api_key_env=args.api_key_env,
            concurrency=args.concurrency,
            chat_template_kwargs=kwargs,
        )
    if backend == "vllm":
        return lambda: VLLMBackend(
            args.model,
            dtype=args.dtype,
            tensor_parallel_size=args.tensor_parallel_size,
            gpu_memory_utilization=args.gpu_memory_utilization,
            max_model_len=args.max_model_len,
            seed=args.seed,
            chat_template_kwargs=kwargs,
        )
    return lambda: HFBackend(args.model, dtype=args.dtype, chat_template_kwargs=kwargs)


def _scorable_tasks(scorer: Scorer, tasks: Sequence[str], skip_judged: bool) -> tuple[list[str], dict[str, str]]:
    """Tasks that can be scored; the others are an error up front, or skipped (and reported) on request."""
    kept, skipped = [], {}
    for task in tasks:
        try:
            scorer.needs_judge(task)
            kept.append(task)
        except ScorerSetupError as error:
            skipped[task] = str(error)
    if skipped and not skip_judged:
        raise RunError(
            f"cannot score {', '.join(skipped)}: {next(iter(skipped.values()))}. Pass --judge-url and "
            "--judge-model, or --skip-judged-tasks to leave these tasks out (they are reported as skipped)"
        )
    return kept, skipped


def run_main(args: argparse.Namespace) -> int:
    backend = args.backend if args.backend != "auto" else _default_backend(args)
    if backend == "openai" and not args.base_url:
        raise RunError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    if backend != "openai" and not args.model:
        raise RunError(f"the {backend} backend needs --model (an HF id or a local checkpoint directory)")
    if backend == "openai" and not (args.api_model or args.model):
        raise RunError("the openai backend needs --api-model (the served model name) or --model")
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        raise RunError(f"unknown task {', '.join(map(repr, unknown))}; known tasks: {', '.join(TASKS)}")
    missing = [t for t in args.tasks if not (args.data_dir / f"{t}.parquet").is_file()]
    if missing:
        raise RunError(
            f"{args.data_dir} has no {', '.join(f'{t}.parquet' for t in missing)}; run data_prep/prepare_eval.py"
        )
    paper = args.protocol == "paper"
    if paper and args.judge_target == JudgeTarget.ANSWER.value:
        raise RunError("--protocol paper judges the whole response; drop --judge-target answer or use --protocol rules")
    if paper and args.chat_template_kwargs:
        raise RunError("--protocol paper prompts without a chat template: --chat-template-kwargs would have no effect")
    if paper and args.scorer != DEFAULT_SCORER.value:
        raise RunError("--protocol paper judges every task: --scorer does not apply")
    judge_target = JudgeTarget(args.judge_target or (JudgeTarget.RESPONSE if paper else DEFAULT_JUDGE_TARGET))
    if args.judge_temperature is None:
        args.judge_temperature = PAPER_JUDGE_TEMPERATURE if paper else JudgeOptions.temperature
    config = RunConfig(
        model=args.model or args.api_model,
        api_model=args.api_model if backend == "openai" else None,
        backend=backend,
        mode=args.mode,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        num_samples=args.num_samples,
        seed=args.seed,
        chat_template_kwargs=args.chat_template_kwargs,
        scorer=args.scorer,
        judge_model=args.judge_model if args.judge_url else None,
        score_invalid_format=args.score_invalid_format,
        protocol=args.protocol,
        judge_target=judge_target.value,
        judge_temperature=args.judge_temperature,
        judge_scale=args.judge_scale,
    )
    try:
        judge = judge_from_args(args)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    try:
        scorer = Scorer(ScorerMode(args.scorer), judge, args.score_invalid_format, judge_target, args.protocol)
    except ScorerSetupError as exc:
        raise RunError(f"{exc} (--judge-url and --judge-model)") from None
    tasks, skipped = _scorable_tasks(scorer, args.tasks, args.skip_judged_tasks)

    async def main() -> dict[str, Any]:
        try:
            return await evaluate(
                config,
                _backend_factory(args, backend),
                scorer,
                data_dir=args.data_dir,
                tasks=tasks,
                run_dir=args.output_dir,
                limit=args.limit,
                batch_size=args.batch_size or DEFAULT_BATCH[backend],
                rescore=args.rescore,
                skipped=skipped,
            )
        finally:
            if judge is not None:
                await judge.aclose()

    results = asyncio.run(main())
    print(results_markdown(results))
    failures = results["average"]["judge_failures"]
    if failures:
        print(f"WARNING: {failures} judge failure(s); rerun the same command to re-score them", file=sys.stderr)
    if judge is not None:
        diagnosis = judge_diagnosis(args.output_dir / RECORDS, judge.config.url)
        if diagnosis:
            print(f"ERROR: {diagnosis}", file=sys.stderr)
    if not is_complete(results):
        incomplete = [*results["average"]["incomplete_tasks"], *results.get("skipped_tasks", {})]
        print(f"INCOMPLETE: {', '.join(incomplete)} not fully scored; the average leaves them out", file=sys.stderr)
        return exit_codes.INCOMPLETE
    return exit_codes.OK


def judge_diagnosis(records_path: Path, url: str) -> str | None:
    """The one-line 'judge unreachable or misconfigured' message when every judged record of the run failed."""
    judged = [r for r in load_records(records_path).values() if r.get("scorer") == "judge"]
    failed = [r for r in judged if r.get("judge_failed")]
    first = failed[0].get("judge_error") if failed else None
    return exit_codes.judge_diagnosis(url, len(judged), len(failed), first)


def compare_main(args: argparse.Namespace) -> int:
    runs = [Path(run) for run in args.runs]
    results = []
    for run in runs:
        if not (run / RESULTS).is_file():
            raise RunError(f"{run} has no {RESULTS}: not a finished evaluation run")
        results.append(json.loads((run / RESULTS).read_text()))
    different = settings_differences(
        SETTINGS_BEFORE_RECORDED | results[0]["config"], SETTINGS_BEFORE_RECORDED | results[1]["config"]
    )
    if different and not args.allow_different_settings:
        raise RunError(
            f"the runs were made with different settings ({'; '.join(different)}), so their accuracies are not "
            f"comparable; only {', '.join(sorted(COMPARED_SETTINGS))} may differ. Pass --allow-different-settings "
            "to compare them anyway (the differences are then listed in the report)"
        )
    labels = tuple(args.labels or [f"{run.name} ({r['config']['mode']})" for run, r in zip(runs, results, strict=True)])
    records = [list(load_records(run / RECORDS).values()) for run in runs]
    comparison = compare(results[0], results[1], records[0], records[1])
    comparison["warnings"] += [f"different settings (allowed): {difference}" for difference in different]
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps({"labels": labels, **comparison}, indent=2) + "\n")
    markdown = comparison_markdown(comparison, labels)
    (out / "comparison.md").write_text(markdown)
    comparison_plot(comparison, labels, out / "comparison.png")
    print(markdown)
    for warning in comparison["warnings"]:
        print(f"WARNING: {warning}", file=sys.stderr)
    return exit_codes.INCOMPLETE if comparison["warnings"] else exit_codes.OK


def _keyword_defaults(backend: type) -> dict[str, Any]:
    """A backend's keyword defaults, so its CLI options default to them (one copy of each)."""
    parameters = inspect.signature(backend).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recipe.pasr.tools.evaluate",
        description=__doc__.split("\n\n")[0],
        epilog="Without a command, run is assumed: python -m recipe.pasr.tools.evaluate --data-dir ... "
        "(see run --help). "
        f"Exit codes: 0 every requested record scored, 1 error (a rerun resumes), {exit_codes.INCOMPLETE_HELP}.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    codes = f"Exit codes: 0 every requested record scored, 1 error (a rerun resumes), {exit_codes.INCOMPLETE_HELP}."
    run = commands.add_parser("run", help="generate and score (the default command)", epilog=codes)
    data = run.add_argument_group("data")
    data.add_argument(
        "--data-dir", type=Path, required=True, help="<task>.parquet files from data_prep/prepare_eval.py"
    )
    data.add_argument("--tasks", nargs="+", default=list(PAPER_TASKS), metavar="TASK", help="default: the ten")
    data.add_argument("--limit", type=int, help="first N records of each task")
    data.add_argument("--output-dir", type=Path, required=True, help="run directory (resumed if it exists)")
    gen = run.add_argument_group("generation")
    gen.add_argument("--model", help="HF id or checkpoint dir (hf, vllm); a label for openai")
    gen.add_argument("--mode", choices=MODES, default="pasr")
    gen.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=RunConfig.protocol,
        help="rules: chat template, rules where verifiable; paper: the authors' protocol (task prefix, no chat "
        "template, every task judged on the whole response), the only one comparable with the paper's table",
    )
    gen.add_argument(
        "--backend",
        choices=("auto", "vllm", "openai", "hf"),
        default="auto",
        help="auto: openai with --base-url, else vllm where it and a GPU exist, else hf",
    )
    paper_sampling = Sampling()  # the paper's protocol
    gen.add_argument("--temperature", type=float, default=paper_sampling.temperature, help="0 = greedy (paper)")
    gen.add_argument("--top-p", type=float, default=paper_sampling.top_p)
    gen.add_argument(
        "--max-new-tokens", type=int, default=paper_sampling.max_new_tokens, help="per turn (paper: %(default)s)"
    )
    gen.add_argument("--num-samples", type=int, default=1, help="samples per question (paper: 1)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--chat-template-kwargs",
        type=parse_chat_template_kwargs,
        default={},
        help="JSON, e.g. '{\"enable_thinking\": true}' for Qwen3",
    )
    gen.add_argument("--batch-size", type=int, help=f"records per generation batch (default {DEFAULT_BATCH})")
    vllm_defaults = _keyword_defaults(VLLMBackend)
    gen.add_argument("--dtype", default=vllm_defaults["dtype"], help="hf, vllm")
    gen.add_argument("--tensor-parallel-size", type=int, default=vllm_defaults["tensor_parallel_size"], help="vllm")
    gen.add_argument(
        "--gpu-memory-utilization", type=float, default=vllm_defaults["gpu_memory_utilization"], help="vllm"
    )
    gen.add_argument("--max-model-len", type=int, help="vllm")
    gen.add_argument("--base-url", help="openai: server base URL, e.g. http://127.0.0.1:8000/v1")
    gen.add_argument("--api-model", help="openai: served model name (default --model)")
    openai_defaults = _keyword_defaults(OpenAIBackend)
    gen.add_argument(
        "--api-key-env", default=openai_defaults["api_key_env"], help="openai: env variable holding the key"
    )
    gen.add_argument(
        "--concurrency", type=int, default=openai_defaults["concurrency"], help="openai: requests in flight"
    )
    score = run.add_argument_group("scoring")
    score.add_argument(
        "--scorer",
        choices=[m.value for m in ScorerMode],
        default=DEFAULT_SCORER.value,
        help="auto: rules where verifiable, the judge otherwise; fallback: also the judge where a rule finds no "
        "single answer",
    )
    add_judge_arguments(score)
    score.add_argument(
        "--judge-target",
        choices=[target.value for target in JudgeTarget],
        help="what the judge reads: the <answer> text or the whole response (default: answer; paper: response)",
    )
    score.add_argument("--skip-judged-tasks", action="store_true", help="without a judge: leave judged tasks out")
    score.add_argument(
        "--score-invalid-format",
        action=argparse.BooleanOptionalAction,
        default=RewardConfig().score_invalid_format,
        help="pasr: score the answer block of a malformed response (--no-score-invalid-format: acc 0)",
    )
    score.add_argument("--rescore", action="store_true", help="re-score every stored record (no regeneration)")
    cmp = commands.add_parser(
        "compare",
        help="compare two runs: baseline first",
        description="Compare two runs on the questions both scored (per task: n, both accuracies, tokens).",
        epilog="Exit codes: 0 both runs scored the same questions with the same settings, 1 error (e.g. settings "
        f"differ), {exit_codes.INCOMPLETE} compared, but the question sets differ or settings were allowed to differ.",
    )
    cmp.add_argument("runs", nargs=2, metavar="RUN", help="baseline run dir, then candidate run dir")
    cmp.add_argument("--output-dir", required=True)
    cmp.add_argument("--labels", nargs=2, metavar="LABEL")
    cmp.add_argument(
        "--allow-different-settings",
        action="store_true",
        help=f"compare runs whose stored settings differ beyond {', '.join(sorted(COMPARED_SETTINGS))}",
    )
    return parser


@exit_codes.quiet_broken_pipe
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "compare", "-h", "--help"):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    try:
        return run_main(args) if args.command == "run" else compare_main(args)
    except (RunError, GenerationError) as error:
        print(f"error: {error}", file=sys.stderr)
        if isinstance(error, GenerationError):
            print("finished records are kept; rerun the same command to resume", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
