"""`cqia annotate ...`: the human verification loop wired to a run directory.

`annotation/` holds the logic (configs, mapping, sync, verdicts, agreement) and never imports
`curation`; this module reads the stage to push, writes the `verified` stage with the runner and
prints progress and summaries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from curation.cli.common import console, fail, stage_table, stdout
from curation.pipeline.atomic import read_json, write_json_atomic
from curation.pipeline.rundir import RunDir, RunDirError
from curation.pipeline.runner import Dropped, Kept, Stage, run_stage, stage_input

app = typer.Typer(help="Human verification in Label Studio: serve, users, push, pull, status.",
                  no_args_is_help=True)
users_app = typer.Typer(help="Annotator accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")

VERIFIED = "verified"
STATE_DIR = "_annotation"
ProjectOpt = Annotated[str, typer.Option("--project", help="Label Studio project title (created if missing).")]


def _client() -> Any:
    from annotation.client import Client, LSError, resolve_connection

    try:
        client = Client(resolve_connection())
        client.check()
    except LSError as exc:
        fail(str(exc))
    return client


def _slug(project: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", project).strip("_") or "project"


def _state_path(run: Path, project: str) -> Path:
    return run / STATE_DIR / f"{_slug(project)}.json"


def _push_stage(rundir: RunDir, stage: str | None) -> str:
    if stage:
        rundir.require_manifest(stage)
        return stage
    candidates = [s for s in rundir.completed_stages() if s != VERIFIED]
    if not candidates:
        raise RunDirError(f"{rundir.root}: no completed stage to annotate")
    return candidates[-1]


def _progress_bar(description: str, total: int):  # -> (Progress, advance)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)
    task = bar.add_task(description, total=total)
    return bar, lambda n: bar.advance(task, n)


# -- serve / users -------------------------------------------------------------------------------
@app.command("serve")
def serve(
    data_dir: Annotated[Path, typer.Option(help="Server data dir (SQLite, media, admin credentials).")] = Path(
        ".label-studio"),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8080,
    save_config: Annotated[bool, typer.Option(help="Write URL+key for other `cqia annotate` commands.")] = True,
) -> None:
    """Start a local Label Studio (127.0.0.1, SQLite, telemetry off); Ctrl-C stops it."""
    from annotation.client import Connection
    from annotation.server import ServerError, start_server

    console.print(f"starting Label Studio in {data_dir} (the very first start builds a migrated template database "
                  "in ~/.cache/cqia: ~1–2 min; new data dirs and restarts after that: seconds)")
    try:
        server = start_server(data_dir, port=port)
    except ServerError as exc:
        fail(str(exc))
    with server:
        where = Connection(server.url, server.creds.token).save() if save_config else None
        console.print(f"[green]Label Studio is up[/] at {server.url}")
        console.print(f"admin: {server.creds.email} (password and API token in {data_dir.resolve()}/cqia-admin.json)")
        if where:
            console.print(f"connection saved to {where}; `cqia annotate push/pull/status` use it")
        console.print("annotators: `cqia annotate users add EMAIL`, then log in at "
                      f"{server.url}/user/login/ with that email and password")
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        try:
            while not stop["now"] and server.process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        console.print("stopping Label Studio")


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The annotator's email (their login).")],
    password: Annotated[str | None, typer.Option(help="Password; generated and printed once if omitted.",
                                                 envvar="CQIA_NEW_USER_PASSWORD")] = None,
) -> None:
    """Create an annotator account that can log in (via the organisation's invite link)."""
    from annotation.client import LSError

    client = _client()
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        user = client.add_user(email, password)
    except LSError as exc:
        fail(str(exc))
    console.print(f"[green]created[/] {email} (user id {user['id']}); log in at {client.conn.url}/user/login/")
    if generated:
        stdout.print(f"password for {email}: {password}  (shown once; hand it over privately)")


# -- push ----------------------------------------------------------------------------------------
# `--only` names → schemas.verification states (what the `verified` stage says about each record).
ONLY_STATES = {"accepted": "verified_here", "held": "held", "pending": "pending",
               "upstream": "upstream_verified", "unverified": "unverified"}


def parse_only(value: str | None) -> tuple[str, ...] | None:
    """`accepted,held` → the matching verification states; None keeps every record."""
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in ONLY_STATES]
    if unknown or not names:
        raise typer.BadParameter(f"--only takes a comma list of {', '.join(ONLY_STATES)}; got {value!r}")
    return tuple(ONLY_STATES[n] for n in names)


def effective_overlap_share(overlap: int, overlap_share: int | None) -> int:
    """Share of tasks that get `overlap` annotators: all of them unless a share is given."""
    if overlap <= 1:
        return 0
    return 100 if overlap_share is None else overlap_share


@app.command("push")
def push(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    project: ProjectOpt,
    stage: Annotated[str | None, typer.Option(
        help="Stage to annotate (default: the latest completed stage other than `verified`; "
             "`--stage verified` after a pull, for a review pass).")] = None,
    config: Annotated[str, typer.Option(help="Labeling config: verification, review or llm_answer.")] = "verification",
    only: Annotated[str | None, typer.Option(
        help="Push only records in these states (comma list): accepted, held, pending, upstream, unverified. "
             "Read from the stage's provenance, so use it on `--stage verified`, e.g. "
             "`--config review --only accepted,held`.")] = None,
    sample: Annotated[int | None, typer.Option(help="Push a deterministic sample of N records (after --only).")]
    = None,
    stratify: Annotated[str, typer.Option(help="Stratify the sample by: source or none.")] = "source",
    overlap: Annotated[int, typer.Option(help="Annotators per task (K ≥ 2 enables agreement).")] = 1,
    overlap_share: Annotated[int | None, typer.Option(
        help="Percent of tasks that get K annotators (default: 100, every task); the rest get one.")] = None,
    batch_size: Annotated[int, typer.Option(help="Tasks per import request.")] = 1000,
) -> None:
    """Create/reuse the project and sync the stage's records into it (idempotent)."""
    from annotation.client import LSError
    from annotation.configs import CONFIGS, load_config
    from annotation.tasks import PredictionError

    if config not in CONFIGS:
        fail(f"--config must be one of {', '.join(CONFIGS)}")
    if stratify not in ("source", "none"):
        fail("--stratify must be source or none")
    if overlap < 1 or (overlap_share is not None and not 0 <= overlap_share <= 100):
        fail("--overlap must be ≥ 1 and --overlap-share within 0..100")
    try:
        states = parse_only(only)
    except typer.BadParameter as exc:
        fail(str(exc))
    share = effective_overlap_share(overlap, overlap_share)
    try:
        result = push_run(run, project, stage=stage, config=config, sample=sample,
                          stratify=None if stratify == "none" else stratify, overlap=overlap,
                          overlap_share=share, batch_size=batch_size, client=_client(),
                          label_config=load_config(config), only=states)
    except (RunDirError, PredictionError, LSError) as exc:
        fail(str(exc))
    table = Table(title=f"push → {project} (id {result['project_id']})")
    for key in ("stage", "only", "selected", "planned", "imported", "updated", "unchanged", "recovered_batches",
                "duplicated_ids", "seconds"):
        table.add_row(key, str(result[key]) if result[key] is not None else "-")
    stdout.print(table)
    if overlap > 1:
        stdout.print(f"overlap: {share}% of tasks get {overlap} annotators (--overlap-share {share}), "
                     "the rest one; Label Studio picks which tasks")
    else:
        stdout.print("overlap: one annotator per task (--overlap K for agreement)")


def push_run(run: Path, project: str, *, stage: str | None, config: str, sample: int | None,
             stratify: str | None, overlap: int, overlap_share: int | None, batch_size: int, client: Any,
             label_config: str, only: tuple[str, ...] | None = None, after_batch: Any = None,
             progress: bool = True) -> dict[str, Any]:
    """Build tasks (predictions validated first: nothing is sent if one is invalid), then sync."""
    from annotation.sync import push_tasks
    from annotation.tasks import build_task, stratified_sample
    from schemas.verification import verification_state

    started = time.time()
    rundir = RunDir(run)
    stage = _push_stage(rundir, stage)
    records = list(rundir.iter_records(stage))
    if only is not None:
        records = [r for r in records if verification_state(r.record.human_verified, r.provenance.extra) in only]
    selected = len(records)
    if sample is not None:
        records = stratified_sample(records, sample, stratify=stratify)
    tasks = [build_task(r, config) for r in records]  # raises PredictionError before any request
    share = effective_overlap_share(overlap, overlap_share)
    settings = {"maximum_annotations": overlap, "overlap_cohort_percentage": share}
    proj, created = client.ensure_project(project, label_config, **settings)
    if not created and (proj.get("label_config") or "").strip() != label_config.strip():  # an older config
        proj = client.request("PATCH", f"/api/projects/{proj['id']}", json={"label_config": label_config})
    state = {"project": project, "project_id": proj["id"], "url": client.conn.url, "stage": stage,
             "config": config, "sample": sample, "stratify": stratify, "overlap": overlap,
             "overlap_share": share, "only": ",".join(only) if only else None, "selected": selected}
    ids_path = _state_path(run, project).with_suffix(".ids")
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    previous = set(ids_path.read_text().split()) if ids_path.exists() else set()
    ids_path.write_text("\n".join(sorted(previous | {r.id for r in records})) + "\n")
    write_json_atomic(_state_path(run, project), state)
    if progress:
        bar, advance = _progress_bar(f"push {project}", len(tasks))
        with bar:
            report = push_tasks(client, proj["id"], tasks, created_project=created, batch_size=batch_size,
                                on_progress=advance, after_batch=after_batch)
    else:
        report = push_tasks(client, proj["id"], tasks, created_project=created, batch_size=batch_size,
                            after_batch=after_batch)
    return {**state, **report.as_dict(), "seconds": round(time.time() - started, 2)}


# -- pull ----------------------------------------------------------------------------------------
def write_verified_stage(run: Path, upstream: str, verdicts: dict[str, list[Any]], *, pushed: set[str],
                         policy: str = "majority", unreviewed: str = "pass", project: str = "",
                         force: bool = False, progress: bool = True) -> tuple[dict[str, Any], dict[str, int]]:
    """The `verified` stage over `upstream`: accepted → human_verified, rejected → rejects shard,
    the rest pass unchanged with review_status pending/held (or are dropped with --unreviewed drop).

    Used by `pull` and, with no verdicts at all, by unattended runs (nothing becomes verified).
    """
    from annotation.verdicts import apply_resolution, resolve

    rundir = RunDir(run)
    digest = hashlib.sha256(orjson.dumps(
        {k: [v.as_dict() for v in vs] for k, vs in sorted(verdicts.items())}, option=orjson.OPT_SORT_KEYS)
        + "\n".join(sorted(pushed)).encode()).hexdigest()
    tally: dict[str, int] = {}

    def produce(skip: int):
        for index, record in enumerate(rundir.iter_records(upstream)):
            resolution = resolve(verdicts.get(record.id, []), policy)  # type: ignore[arg-type]
            decision = apply_resolution(record, resolution, pushed=record.id in pushed,
                                        unreviewed=unreviewed, project=project)
            if index < skip:
                continue
            tally[decision.status] = tally.get(decision.status, 0) + 1
            if resolution.conflict:
                tally["conflicts"] = tally.get("conflicts", 0) + 1
            yield Kept(decision.record) if decision.kind == "keep" else Dropped(
                decision.record, decision.reason, decision.detail)

    stage = Stage(name=VERIFIED, produce=produce, inputs=[stage_input(rundir, upstream)],
                  params={"project": project, "policy": policy, "unreviewed": unreviewed, "verdicts": digest},
                  total=rundir.count(upstream))
    result = run_stage(rundir, stage, force=force, progress=progress)
    return result.manifest, tally


@app.command("pull")
def pull(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    project: Annotated[str | None, typer.Option("--project", help="Project pushed earlier.")] = None,
    policy: Annotated[str, typer.Option(help="Conflicts: majority, reviewer-wins or hold.")] = "majority",
    review_project: Annotated[str | None, typer.Option(help="Second-pass project; its verdicts are reviewers'.")]
    = None,
    unreviewed: Annotated[str, typer.Option(help="Records without a decision: pass (unverified) or drop.")]
    = "pass",
    stage: Annotated[str | None, typer.Option(help="Upstream stage (default: the one pushed).")] = None,
    unattended: Annotated[bool, typer.Option(help="No server: every record passes as pending review.")] = False,
    force: Annotated[bool, typer.Option(help="Rewrite the verified stage even if unchanged.")] = False,
) -> None:
    """Export by snapshot, apply verdicts and edits, write the `verified` stage."""
    from annotation.client import LSError
    from annotation.verdicts import POLICIES, UNREVIEWED

    if policy not in POLICIES:
        fail(f"--policy must be one of {', '.join(POLICIES)}")
    if unreviewed not in UNREVIEWED:
        fail("--unreviewed must be pass or drop")
    if not unattended and not project:
        fail("--project is required (or --unattended for a run nobody annotates)")
    rundir = RunDir(run)
    state = read_json(_state_path(run, project)) if project and _state_path(run, project).exists() else {}
    try:
        upstream = stage or state.get("stage") or _push_stage(rundir, None)
        verdicts: dict[str, list[Any]] = {}
        pushed: set[str] = set()
        if not unattended:
            assert project is not None
            ids_path = _state_path(run, project).with_suffix(".ids")
            pushed = set(ids_path.read_text().split()) if ids_path.exists() else set()
            verdicts, _ = fetch_verdicts(_client(), project, review_project)
            snapshot = _state_path(run, project).with_suffix(".verdicts.jsonl")
            snapshot.write_bytes(b"".join(orjson.dumps(v.as_dict()) + b"\n" for vs in verdicts.values() for v in vs))
        manifest, tally = write_verified_stage(run, upstream, verdicts, pushed=pushed, policy=policy,
                                               unreviewed=unreviewed, project=project or "", force=force)
    except (RunDirError, LSError) as exc:
        fail(str(exc))
    stdout.print(stage_table([manifest], title=f"{VERIFIED} (from {upstream}, policy {policy})"))
    if tally:
        stdout.print("decisions: " + ", ".join(f"{k}={v}" for k, v in sorted(tally.items())))
    elif manifest:
        stdout.print("stage unchanged since the last pull (no new verdicts)")
    if unattended:
        stdout.print("[yellow]unattended:[/] no record was marked human_verified; all carry review_status=pending")


def fetch_verdicts(client: Any, project: str, review_project: str | None = None
                   ) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """Snapshot export(s) → verdicts per record id (review project's verdicts flagged reviewer)."""
    from annotation.client import LSError
    from annotation.verdicts import verdicts_from_export

    proj = client.find_project(project)
    if proj is None:
        raise LSError(f"no project titled {project!r} on {client.conn.url}; push first")
    users = client.users()
    tasks = client.export_snapshot(proj["id"])
    verdicts = verdicts_from_export(tasks, users)
    if review_project:
        review = client.find_project(review_project)
        if review is None:
            raise LSError(f"no review project titled {review_project!r} on {client.conn.url}")
        for rid, vs in verdicts_from_export(client.export_snapshot(review["id"]), users, reviewer=True).items():
            verdicts.setdefault(rid, []).extend(vs)
    return verdicts, tasks


# -- status --------------------------------------------------------------------------------------
@app.command("status")
def status(
    project: ProjectOpt,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Progress per source and annotator, throughput, ETA and agreement on overlapping tasks."""
    from annotation.agreement import progress
    from annotation.client import LSError

    client = _client()
    try:
        verdicts, tasks = fetch_verdicts(client, project)
        # the JSON export omits each task's overlap (set by the server's overlap cohort): list it
        overlaps = {t["id"]: t.get("overlap") or 1 for t in client.iter_tasks(client.find_project(project)["id"])}
    except LSError as exc:
        fail(str(exc))
    for task in tasks:
        task["overlap"] = overlaps.get(task["id"], 1)
    report = progress(tasks, verdicts)
    if json_out:
        stdout.print_json(orjson.dumps(report).decode())
        return
    _print_status(project, report)


def _fmt(value: Any) -> str:
    return "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def _print_status(project: str, report: dict[str, Any]) -> None:
    sources = Table(title=f"{project}: progress by source")
    for col in ("source", "tasks", "done", "annotations", "% done"):
        sources.add_column(col, justify="left" if col == "source" else "right")
    for source, c in report["by_source"].items():
        pct = 100 * c.get("done", 0) / c["tasks"] if c["tasks"] else 0
        sources.add_row(source, str(c["tasks"]), str(c.get("done", 0)), str(c.get("annotations", 0)), f"{pct:.1f}")
    stdout.print(sources)
    people = Table(title="by annotator")
    for col in ("annotator", "total", "accept", "accept_with_edits", "reject", "mean lead time (s)"):
        people.add_column(col, justify="left" if col == "annotator" else "right")
    for who, c in report["by_annotator"].items():
        people.add_row(who, *(str(c.get(k, 0)) for k in ("total", "accept", "accept_with_edits", "reject")),
                       _fmt(c.get("mean_lead_time_s")))
    stdout.print(people)
    agree = report["agreement"]
    stdout.print(
        f"done {report['done']}/{report['tasks']} tasks · remaining annotations {report['remaining_annotations']}"
        f" · throughput {_fmt(report['throughput_per_hour'])}/h · ETA {_fmt(report['eta_hours'])} h")
    stdout.print(
        f"agreement on {agree['overlapping_tasks']} overlapping tasks ({len(agree['annotators'])} annotators): "
        f"Cohen's kappa {_fmt(agree['cohen_kappa'])} · Krippendorff's alpha {_fmt(agree['krippendorff_alpha'])}"
        f" → reported: {agree['statistic'] or '-'}")
