"""`cqia demo`: the main job end to end on the embedded default input.

import (embedded files) → validate → release build → push to a local Hub server → verify.
Each step is the same code the individual commands run; the run directory is resumable.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.cli.common import console, stage_table, stdout

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo"

DEMO_IMPORTS = [
    ("demo_alpaca", "alpaca", ["alpaca_zh.jsonl"]),
    ("demo_sharegpt", "sharegpt", ["sharegpt_zh.json"]),
    ("demo_cqia", "coig-cqia", ["coig_cqia.jsonl"]),
]


def _step(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def demo(
    run: Annotated[Path, typer.Option("--run", help="Run directory for the demo.")] = Path("runs/demo"),
    fresh: Annotated[bool, typer.Option(help="Delete the run directory first.")] = False,
    push: Annotated[bool, typer.Option(help="Push the release to a local Hub server and verify it.")] = True,
) -> None:
    """Run the main job on the embedded example input and print where the result is."""
    from curation.cli.ingest import import_
    from curation.cli.run import validate_run
    from curation.release_build import build_release
    from curation.rundir import RunDir

    if fresh and run.exists():
        shutil.rmtree(run)
    _step("1. ingest (import embedded example data)")
    for source, fmt, files in DEMO_IMPORTS:
        import_(paths=[DEMO_DATA / f for f in files], fmt=fmt, source=source, run=run)
    _step("2. validate")
    console.print(stage_table([validate_run(run)], title="validate"))
    _step("3. release build")
    release_dir = run / "release"
    summary = build_release(run, release_dir, overwrite=True, pretty_name="cqia demo release")
    from curation.cli.release import release_table

    stdout.print(release_table(summary))
    push_result = None
    if push:
        _step("4. push to a local Hub server, tag, load back and verify")
        push_result = _push_to_local_hub(run, release_dir)
    _summary(RunDir(run), release_dir, push_result)


@contextmanager
def local_hub(data_dir: Path) -> Iterator[tuple[str, str]]:
    """A Hub-compatible server on 127.0.0.1 for the demo: yields (url, token of user `cqia`)."""
    from curation.hub_server import make_server

    token = "hf_demo_" + secrets.token_hex(12)
    server = make_server(data_dir, "127.0.0.1", 0, {token: "cqia"})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield server.url, token
    finally:
        server.shutdown()
        server.server_close()


def _next_tag(url: str, token: str, repo_id: str) -> str:
    """v0.1.N: one more than the demo releases already tagged in the local Hub."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        refs = HfApi(endpoint=url, token=token).list_repo_refs(repo_id, repo_type="dataset")
    except RepositoryNotFoundError:
        return "v0.1.0"
    return f"v0.1.{len(refs.tags)}"


def _push_to_local_hub(run: Path, release_dir: Path):  # noqa: ANN202 - PushResult, imported lazily
    from curation.release_push import push_release

    repo_id = "cqia/demo"
    with local_hub(run / "hub") as (url, token):
        console.print(f"local Hub server at {url} (data in {run / 'hub'})")
        result = push_release(release_dir, repo_id, tag=_next_tag(url, token, repo_id), token=token,
                              endpoint=url, progress=True)
        stdout.print(result.to_table())
        return result


def _summary(run, release_dir: Path, push_result) -> None:  # noqa: ANN001
    manifests = [run.require_manifest(s) for s in run.completed_stages()]
    stdout.print(stage_table(manifests, title="Main job: records per stage and source (rejects and why)"))
    rejects = Table(title="Where the rejects are")
    rejects.add_column("stage")
    rejects.add_column("rejects shards")
    for m in manifests:
        shards = [s["path"] for s in m["shards"] if s["kind"] == "rejects"]
        if shards:
            rejects.add_row(m["stage"], ", ".join(str(run.stage_dir(m["stage"]) / s) for s in shards))
    stdout.print(rejects)
    stdout.print(f"[bold green]Result:[/] release in {release_dir.resolve()} (card: {release_dir.resolve() / 'README.md'})")
    if push_result is not None:
        stdout.print(f"[bold green]Pushed:[/] {push_result.repo_id} @ {push_result.commit_sha[:12]} — verified (tag {push_result.tag})")
