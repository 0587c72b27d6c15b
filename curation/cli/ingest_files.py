"""`cqia ingest wiki|baike|exam|logiqa|classical|ruozhiba|coig_pc|human_value|finance`: file/dump sources.

Each command runs one stage `ingest-<name>` into a run directory through `run_source_stage`
(skip when complete, resume after a kill, rejects with file:line and reason). The stage params
include the source's settings, so editing `sources/settings/<name>.yaml` re-runs the stage.
`ingest ruozhiba` is parse → answer generation in one stage: the parser yields question drafts,
`curation.stages.answers` asks the LLM (cached under the run dir, so a resumed or repeated
run does not re-send answered questions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from curation.cli.common import ExecutorOpt, RayAddressOpt, fail
from curation.cli.ingest import RunOption, app, file_tasks, run_source_stage
from curation.pipeline.runner import Stage, file_inputs, skip_outcomes

Paths = Annotated[list[Path], typer.Argument(help="Input files.")]
ShardSize = Annotated[int, typer.Option(help="Input items per shard/checkpoint.")]
Force = Annotated[bool, typer.Option(help="Recompute even if the stage is complete.")]
Progress = Annotated[bool, typer.Option(help="Show a progress bar.")]
DEFAULT_RUN = Path("runs/default")


def _check(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        fail(f"input file(s) not found: {', '.join(missing)}")


def _run(
    name: str, settings_name: str, paths: list[Path], iterate: Callable[[list[Path], Any], Iterable[Any]],
    run: Path, shard_size: int, force: bool, progress: bool, overrides: dict[str, Any] | None = None,
    executor: str = "local", ray_address: str | None = None,
) -> dict:
    from sources.settings import load_settings

    _check(paths)
    settings = load_settings(settings_name)
    if overrides:
        settings = settings.model_copy(update={"options": {**settings.options, **overrides}})
    stage = Stage(
        name=f"ingest-{name}",
        tasks=file_tasks(paths, _WithSettings(iterate, settings)),
        inputs=file_inputs(paths),
        params={"source": name, "settings": settings.model_dump(mode="json")},
        shard_size=shard_size,
    )
    return run_source_stage(run, stage, force=force, progress=progress, executor_name=executor,
                            ray_address=ray_address)


@dataclass(frozen=True)
class _WithSettings:
    """`iterate(paths, settings)` as a function of the paths alone (one ingestion task's files)."""

    iterate: Callable[[list[Path], Any], Iterable[Any]]
    settings: Any

    def __call__(self, paths: list[Path]) -> Iterable[Any]:
        return self.iterate(paths, self.settings)


@app.command("wiki")
def wiki(
    paths: Paths, run: RunOption = DEFAULT_RUN,
    opencc_backend: Annotated[str | None, typer.Option(help="reimplemented (reference) or pyo3 (faster).")] = None,
    shard_size: ShardSize = 20_000, force: Force = False, progress: Progress = True,
    executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None,
) -> None:
    """Chinese Wikipedia XML dumps (.xml.bz2/.xml): lead and section Q&A, converted to simplified;
    WikiExtractor --json files (.jsonl/.json): one lead record per article."""
    from sources.wiki import iter_wiki

    _run("wiki", "wiki", paths, iter_wiki, run, shard_size, force, progress,
         {"opencc_backend": opencc_backend} if opencc_backend else None, executor=executor, ray_address=ray_address)


@app.command("baike")
def baike(paths: Paths, run: RunOption = DEFAULT_RUN, shard_size: ShardSize = 20_000, force: Force = False,
          progress: Progress = True, executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None) -> None:
    """Saved Baidu Baike article pages → summary, info-box and section Q&A (config `wiki`)."""
    from sources.baike import iter_baike

    _run("baike", "baike", paths, iter_baike, run, shard_size, force, progress, executor=executor, ray_address=ray_address)


@app.command("exam")
def exam(paths: Paths, run: RunOption = DEFAULT_RUN, shard_size: ShardSize = 20_000, force: Force = False,
         progress: Progress = True, executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None) -> None:
    """CMMLU / C-Eval .csv and GAOKAO-Bench .json (objective and subjective) → explained answers.

    C-Eval's test split has no answers: its rows are rejected (no_answer), never answered."""
    from sources.exam import iter_exam

    _run("exam", "exam", paths, iter_exam, run, shard_size, force, progress, executor=executor, ray_address=ray_address)


@app.command("logiqa")
def logiqa(paths: Paths, run: RunOption = DEFAULT_RUN, shard_size: ShardSize = 20_000, force: Force = False,
           progress: Progress = True, executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None) -> None:
    """LogiQA 1.0 text blocks or LogiQA 2.0 JSON lines → `logi_qa` records (stage `ingest-logi_qa`)."""
    from sources.logiqa import iter_logiqa

    _run("logi_qa", "logi_qa", paths, iter_logiqa, run, shard_size, force, progress, executor=executor, ray_address=ray_address)


@app.command("classical")
def classical(paths: Paths, run: RunOption = DEFAULT_RUN, shard_size: ShardSize = 20_000, force: Force = False,
              progress: Progress = True, executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None) -> None:
    """chinese-poetry .json (poems, ci, qu, prose classics, 蒙学, biographies) and idiom .txt/.csv →
    `chinese_traditional` records."""
    from sources.classical import iter_classical

    _run("chinese_traditional", "chinese_traditional", paths, iter_classical, run, shard_size, force, progress, executor=executor, ray_address=ray_address)


@app.command("ruozhiba")
def ruozhiba(
    paths: Paths, run: RunOption = DEFAULT_RUN,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL (else CQIA_LLM_BASE_URL).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (else CQIA_LLM_MODEL).")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 8,
    max_retries: Annotated[int, typer.Option(help="Retries per request on 429/5xx/timeouts.")] = 5,
    timeout_s: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 60.0,
    rps: Annotated[float | None, typer.Option(help="Rate limit, requests per second.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Answer cache (JSONL); default RUN/llm-cache/ruozhiba.jsonl.")] = None,
    shard_size: ShardSize = 20_000, force: Force = False, progress: Progress = True,
    executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None,
) -> None:
    """Ruozhiba titles, best-of lists, thread dumps, text lines → LLM-answered records (answer_from=llm).

    The API key is read from CQIA_LLM_API_KEY only (never a command-line argument, never logged);
    with --executor ray, from CQIA_LLM_API_KEY in each Ray node's own environment, and
    --concurrency/--rps hold for all workers together.
    """
    from curation.llm.client import LLMClient, LLMError
    from curation.llm.stage_client import StageLLM
    from curation.pipeline.runner import CallTally, ExternalCallsFailed, group_files
    from curation.pipeline.storage import as_path, local_state_dir
    from curation.stages.answers import GenerationConfig
    from sources.settings import load_settings

    _check(paths)
    settings = load_settings("ruozhiba")
    config = GenerationConfig.from_options(settings.options.get("generation", {}))
    try:
        client = LLMClient.from_env(
            base_url=base_url, model=model, concurrency=concurrency, max_retries=max_retries, timeout_s=timeout_s,
            rate_limit_rps=rps,
            cache_path=cache or local_state_dir(run) / "llm-cache" / "ruozhiba.jsonl",
        )
    except LLMError as exc:
        fail(str(exc))
    tally = CallTally("LLM answer")
    # Local executor: one task per file group on the driver, sharing its client. Ray: on the
    # workers, through the job's limiter, caching into RUN/llm-cache/ingest-ruozhiba/<task>/.
    llm = StageLLM(client, env_prefix="CQIA_LLM", cache_dir=as_path(run) / "llm-cache" / "ingest-ruozhiba",
                   label="ruozhiba")
    stage = Stage(
        name="ingest-ruozhiba",
        tasks=[_AnswerFiles(i, group, settings, config, llm, tally) for i, group in enumerate(group_files(paths))],
        inputs=file_inputs(paths),
        params={"source": "ruozhiba", "settings": settings.model_dump(mode="json"), "model": client.model,
                "prompt_fingerprint": config.fingerprint(client.model)},
        shard_size=shard_size,
        calls=tally, calls_on_workers=True, prepare=llm.prepare, sync=llm.sync,
    )
    try:
        run_source_stage(run, stage, force=force, progress=progress, executor_name=executor,
                         ray_address=ray_address)
    except LLMError as exc:
        fail(f"answer generation stopped: {exc} (answers so far are cached; re-run to resume)")
    except ExternalCallsFailed as exc:
        fail(str(exc))


@dataclass(frozen=True)
class _AnswerFiles:
    """A ruozhiba task: parse one group of files and answer its questions with the stage's LLM
    (the driver's client, or on a Ray worker one built there: llm/stage_client.py)."""

    index: int
    paths: list[Path]
    settings: Any
    config: Any  # curation.stages.answers.GenerationConfig
    llm: Any  # curation.llm.stage_client.StageLLM
    tally: Any  # the stage's CallTally

    def __call__(self, skip: int) -> Iterable[Any]:
        from curation.stages.answers import generate_answers
        from sources.ruozhiba import iter_ruozhiba

        answers = generate_answers(iter_ruozhiba(self.paths, self.settings), self.llm.client(self.index),
                                   self.config, progress=False, tally=self.tally)
        return skip_outcomes(answers, skip)


def _import_command(name: str) -> None:
    """`ingest coig_pc|human_value|finance`: the generic import with that source's settings."""

    def command(
        paths: Paths,
        fmt: Annotated[str | None, typer.Option("--format", help="coig-cqia, alpaca or sharegpt (default: settings).")] = None,
        run: RunOption = DEFAULT_RUN,
        answer_from: Annotated[str | None, typer.Option(help="Override answer_from: human or llm.")] = None,
        shard_size: ShardSize = 20_000, force: Force = False, progress: Progress = True,
        executor: ExecutorOpt = "local", ray_address: RayAddressOpt = None,
    ) -> None:
        from sources.instruct_import import FORMATS, iter_import
        from sources.settings import load_settings

        fmt = fmt or load_settings(name).options.get("default_format", "alpaca")
        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")

        def iterate(files: list[Path], settings: Any) -> Iterable[Any]:
            return iter_import(files, fmt, name, settings, answer_from=answer_from)

        try:
            _run(name, name, paths, iterate, run, shard_size, force, progress,
                 {"import_format": fmt, "answer_from_cli": answer_from}, executor=executor, ray_address=ray_address)
        except ValueError as exc:
            fail(str(exc))

    command.__doc__ = f"Existing instruction data → `{name}` records with {name}.yaml's task type, domain, license."
    app.command(name)(command)


for _name in ("coig_pc", "human_value", "finance"):
    _import_command(_name)
