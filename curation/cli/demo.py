"""`cqia demo`: the main job end to end on the embedded default input.

Every step runs the same `cqia` command a user would type (in-process), so the demo is also a
living example of the CLI. Services are local: a scripted OpenAI-compatible server and a
Hub-compatible server on 127.0.0.1, both started and stopped here. Sample families are read from
the shared samples folder when it exists (CQIA_SAMPLES overrides); otherwise they are skipped
with a note, and the embedded example alone goes through.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.cli.common import console, fail, stage_table, stdout

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo"
REPO = Path(__file__).resolve().parents[2]

# (source, format, embedded files)
DEMO_IMPORTS = [
    ("demo_alpaca", "alpaca", ["alpaca_zh.jsonl"]),
    ("demo_sharegpt", "sharegpt", ["sharegpt_zh.json"]),
    ("demo_cqia", "coig-cqia", ["coig_cqia.jsonl"]),
]

# (ingest command, sample files relative to the samples folder)
SAMPLE_FAMILIES: list[tuple[str, list[str]]] = [
    ("zhihu", ["zhihu/zhihu-plus-plus__real-api_answer-detail.json", "zhihu/magic-html__zhihu_q586816837_a2916374892.html"]),
    ("segmentfault", ["segmentfault/morning-paper-sever__segmentfault_html_mock.js"]),
    ("douban", ["douban/neodb__https___movie_douban_com_subject_3541415_.html",
                "douban/neodb__https___book_douban_com_subject_1089243_.html"]),
    ("xhs", ["xiaohongshu/spider_xhs__test_one_info.derived.json"]),
    ("wikihow", ["wikihow/teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"]),
    ("wiki", ["zhwiki/dbpedia-minidump__zh_wiki.xml.bz2"]),
    ("baike", ["baike/trafilatura__baike.baidu.com.tanya.html"]),
    ("exam", ["exam/cmmlu__dev_logical.csv", "exam/cmmlu__dev_chinese_civil_service_exam.csv",
              "exam/cmmlu__dev_high_school_mathematics.csv", "exam/cmmlu__dev_ancient_chinese.csv",
              "exam/gaokao-bench__2010-2022_Chinese_Lang_and_Usage_MCQs.json"]),
    ("logiqa", ["exam/logiqa__zh_test.txt"]),
    ("classical", ["classical/chinese-poetry__全唐诗_唐诗三百首.json",
                   "classical/chinese-idiom-db__chinese-idioms-12976.head1000.txt"]),
    ("ruozhiba", ["ruozhiba/znsoooo-ruozhiba__ruozhiba-title-good.json"]),
]


def samples_root() -> Path:
    return Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples")).resolve()


def _step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


_APP: list[typer.Typer] = []


def register(app: typer.Typer) -> None:
    """Add `cqia demo` to the root app and remember the app, whose commands the demo runs
    in-process (importing `curation.cli` from here would be an import cycle)."""
    _APP[:] = [app]
    app.command("demo")(demo)


def cqia(*args: str | Path) -> None:
    """Run one `cqia` command in-process; a failing step stops the demo with its message."""
    from typer.main import get_command

    command = get_command(_APP[0])
    try:
        code = command.main([str(a) for a in args], prog_name="cqia", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    if code:
        fail(f"demo step `cqia {' '.join(map(str, args))}` failed (exit {code})")


@contextmanager
def _serve(server) -> Iterator[None]:  # noqa: ANN001 - any socketserver.BaseServer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def local_hub(data_dir: Path) -> Iterator[tuple[str, str]]:
    """A Hub-compatible server on 127.0.0.1: yields (url, token of user `cqia`)."""
    from curation.hubserver import make_server

    token = "hf_demo_" + secrets.token_hex(12)
    server = make_server(data_dir, "127.0.0.1", 0, {token: "cqia"})
    with _serve(server):
        yield server.url, token


@contextmanager
def local_llm() -> Iterator[str]:
    """The scripted OpenAI-compatible server with the demo's rules: yields its base URL."""
    from curation.llm.fake_server import FakeServer, State, load_script

    rules, key, models = load_script(str(DEMO_DATA / "llm_rules.json"))
    server = FakeServer(("127.0.0.1", 0), State(rules, key, models))
    with _serve(server):
        yield server.base_url


def _next_tag(url: str, token: str, repo_id: str) -> str:
    """v0.1.N: one more than the releases already tagged in the local Hub."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        refs = HfApi(endpoint=url, token=token).list_repo_refs(repo_id, repo_type="dataset")
    except RepositoryNotFoundError:
        return "v0.1.0"
    return f"v0.1.{len(refs.tags)}"


def demo(
    run: Annotated[Path, typer.Option("--run", help="Run directory for the demo.")] = Path("runs/demo"),
    fresh: Annotated[bool, typer.Option(help="Delete the run directory first.")] = False,
    samples: Annotated[bool, typer.Option(help="Also ingest every source family's sample (if found).")] = True,
    push: Annotated[bool, typer.Option(help="Push releases to a local Hub server and verify them.")] = True,
    probes: Annotated[bool, typer.Option(help="Build, release, run and score the distillation probes.")] = True,
    label_studio: Annotated[bool, typer.Option(help="Push a sample to a local Label Studio and pull verdicts.")] = True,
    annotate_sample: Annotated[int, typer.Option(help="Records (stratified by source) sent for verification.")] = 200,
) -> None:
    """Run the main job on the embedded example input and print where the results are."""
    if fresh and run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)
    hf_home = run / "hf-home"  # the demo never touches the user's HF cache or token
    os.environ.setdefault("HF_HOME", str(hf_home))
    with local_llm() as llm_url, local_hub(run / "hub") as (hub_url, hub_token):
        console.print(f"[dim]local services: scripted OpenAI-compatible LLM {llm_url}; Hub {hub_url}[/]")
        _ingest(run, llm_url, samples)
        _step("2. validate")
        cqia("run", "validate", run)
        _step("3. curate (default recipe: clean → metrics → filter → dedup)")
        cqia("curate", run)
        _annotate(run, label_studio, annotate_sample)
        release_dir = run / "release"
        _step("4. release build")
        cqia("release", "build", run, "--out", release_dir, "--overwrite", "--pretty-name", "cqia demo release")
        _step("4b. curation report: funnel, distributions, duplicates, samples (HTML + figures + JSON)")
        cqia("report", run, "--out", run / "report")
        tag = None
        if push:
            _step("5. push to the local Hub, tag, load back and verify")
            tag = _next_tag(hub_url, hub_token, "cqia/demo")
            os.environ["HF_TOKEN"] = hub_token
            cqia("release", "push", release_dir, "--repo-id", "cqia/demo", "--tag", tag, "--endpoint", hub_url)
        if probes:
            _probes(run, release_dir, llm_url, hub_url if push else None)
    _summary(run, release_dir, tag)


def _ingest(run: Path, llm_url: str, samples: bool) -> None:
    _step("1. ingest: embedded example (import) and every source family's sample")
    for source, fmt, files in DEMO_IMPORTS:
        cqia("ingest", "import", *[DEMO_DATA / f for f in files], "--format", fmt, "--source", source, "--run", run)
    root = samples_root()
    if not samples:
        return
    if not (root / "MANIFEST.json").exists():
        console.print(f"[yellow]note:[/] no samples folder at {root} (set CQIA_SAMPLES); "
                      "source families skipped, embedded example only")
        return
    for command, files in SAMPLE_FAMILIES:
        paths = [root / f for f in files]
        extra: list[str] = []
        if command == "ruozhiba":  # answers come from the scripted local LLM: marked llm, not verified
            extra = ["--base-url", llm_url, "--model", "demo-answerer"]
        cqia("ingest", command, *paths, "--run", run, *extra)


def _annotate(run: Path, label_studio: bool, sample: int) -> None:
    """Push candidates to a real local Label Studio and pull verdicts into the `verified` stage.

    Nobody annotates during the demo, so every record comes back pending review (or not pushed):
    none is marked human_verified; each carries `review_status` in its provenance.
    """
    if not label_studio:
        _step("3b. verification skipped (--no-label-studio): `verified` stage with every record pending")
        cqia("annotate", "pull", run, "--project", "cqia-demo", "--unattended")
        return
    from annotation.server import ServerError, start_server

    _step("3b. human verification: local Label Studio, push a stratified sample, pull verdicts")
    console.print("starting Label Studio on 127.0.0.1 (the first start migrates its database: ~30–90 s)")
    try:
        server = start_server(run / "label-studio")
    except ServerError as exc:
        fail(f"{exc}\n(install it with `scripts/setup_label_studio.sh`, or run the demo with --no-label-studio)")
    with server:
        os.environ["CQIA_LS_URL"], os.environ["CQIA_LS_API_KEY"] = server.url, server.creds.token
        console.print(f"Label Studio at {server.url}; admin login and token in {server.data_dir}/cqia-admin.json")
        cqia("annotate", "push", run, "--project", "cqia-demo", "--sample", sample, "--stratify", "source",
             "--overlap", 2)
        cqia("annotate", "pull", run, "--project", "cqia-demo")
        cqia("annotate", "status", "--project", "cqia-demo")


def _probes(run: Path, release_dir: Path, llm_url: str, hub_url: str | None) -> None:
    _step("6. distillation probes: build → release → run → judge → score → report")
    probe_dir, distill_run = run / "probes", run / "distill"
    pool = sorted(release_dir.glob("demo_alpaca/*.parquet"))
    pool_args = ["--pool", f"cqia=cqia:{pool[0]}", "--n-per-pool", "5"] if pool else []
    cqia("probes", "build", "--out", probe_dir, *pool_args, "--seed", "0")
    release_args = ["--repo-id", "cqia/demo-probes", "--endpoint", hub_url] if hub_url else []
    cqia("probes", "release", "--probes", probe_dir, "--out", run / "probes-release", *release_args)
    for target in ("demo-target", "demo-reference"):
        cqia("distill", "run", "--target", target, "--probes", probe_dir, "--run-dir", distill_run,
             "--base-url", llm_url, "--model", target, "--force")
    cqia("distill", "judge", "--target", "demo-target", "--run-dir", distill_run, "--judge", "loose,strict,rse",
         "--base-url", llm_url, "--model", "demo-judge", "--reference", "demo-reference",
         "--facts", DEMO_DATA / "facts.yaml")
    cqia("distill", "score", "--run-dir", distill_run, "--reference", "demo-reference")
    cqia("distill", "report", "--run-dir", distill_run, "--out", run / "distill-report")


def _summary(run: Path, release_dir: Path, tag: str | None) -> None:
    from curation.pipeline.rundir import RunDir

    rundir = RunDir(run)
    manifests = [rundir.require_manifest(s) for s in rundir.completed_stages()]
    stdout.print(stage_table(manifests, title="Main job: records per stage and source (rejects and why)"))
    places = Table(title="Results")
    places.add_column("what")
    places.add_column("where", overflow="fold")
    places.add_row("dataset release (Hub layout + card)", str(release_dir.resolve()))
    if tag:
        places.add_row("pushed to the local Hub", f"cqia/demo @ {tag} (data in {(run / 'hub').resolve()})")
    for name, path in (("probe sets", run / "probes-release"), ("distillation report", run / "distill-report")):
        if path.exists():
            places.add_row(name, str(path.resolve()))
    if (run / "label-studio").exists():
        places.add_row("Label Studio data (project cqia-demo)", str((run / "label-studio").resolve()))
    places.add_row("rejects (reason + location)", f"{run.resolve()}/<stage>/rejects-*.jsonl")
    report = (run / "report" / "report.html").resolve()
    places.add_row("curation report (HTML, figures, summary.json)", str(report.parent))
    stdout.print(places)
    stdout.print(f"[bold green]Result:[/] release in {release_dir.resolve()}")
    stdout.print(f"[bold green]Report:[/] {report.as_uri()}  (open it in a browser; works offline)",
                 soft_wrap=True)
