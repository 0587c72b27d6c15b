"""`cqia audit PATH... | --repo-id ORG/NAME`: audit an existing dataset, flag-only, with a report.

Reads COIG-CQIA, Alpaca or ShareGPT items from local JSONL/JSON/Parquet files (a directory is
searched recursively; `CONFIG=PATH` names the config) or from a dataset repo on the Hub
(`HF_ENDPOINT` or `--endpoint`; configs and data files from its card), runs every curation check
without dropping or changing anything, and writes OUT/report.html, OUT/defects.md (defects per
10k records per kind and config), OUT/defects.jsonl (every defect with record id and location),
OUT/summary.json, OUT/figures/ and the work run directory OUT/work/.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from curation.cli.common import console, fail, stdout

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_CONFIG = re.compile(r"[a-z0-9][a-z0-9_\-]*")


class AuditInputError(ValueError):
    pass


def _config_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_\-]+", "_", text.lower()).strip("_-") or "default"
    return name if _CONFIG.fullmatch(name) else f"c_{name}"


def local_inputs(paths: list[str], config: str | None) -> list[tuple[str, Path, str]]:
    """(config, local file, display path) for each data file named by PATH or CONFIG=PATH."""
    out = []
    for spec in paths:
        name, _, raw = spec.partition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
        path = Path(raw)
        if not path.exists():
            raise AuditInputError(f"{path}: no such file or directory")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
            if not files:
                raise AuditInputError(f"{path}: no {', '.join(DATA_SUFFIXES)} files inside")
            for f in files:
                rel = f.relative_to(path)
                derived = rel.parts[0] if len(rel.parts) > 1 else f.stem
                out.append((_config_name(name or config or derived), f, str(f)))
        else:
            if path.suffix.lower() not in DATA_SUFFIXES:
                raise AuditInputError(f"{path}: unsupported file type (use {', '.join(DATA_SUFFIXES)})")
            out.append((_config_name(name or config or path.stem), path, str(path)))
    return out


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Hub `data_files` glob: `**` crosses folders, `*` and `?` do not."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern)
    regex = "".join(".*" if p in ("**", "**/") else "[^/]*" if p == "*" else "[^/]" if p == "?" else re.escape(p)
                    for p in parts)
    return re.compile(regex + r"\Z")


def _config_patterns(entry: dict[str, Any]) -> list[str]:
    files = entry.get("data_files")
    if isinstance(files, str):
        return [files]
    out = []
    for item in files or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            path = item.get("path")
            out.extend([path] if isinstance(path, str) else list(path or []))
    return out


def hub_inputs(repo_id: str, *, configs: list[str] | None, revision: str | None, endpoint: str | None,
               token: str | None) -> tuple[list[tuple[str, Path, str]], str, list[str]]:
    """Download the data files of the selected configs; (inputs, resolved commit sha, notes).

    A card config whose data_files match nothing (or that has none) is skipped with a note, unless
    it was asked for with --config; a config declared twice keeps its last entry with files."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    api = HfApi(endpoint=endpoint, token=token)
    try:
        info = api.dataset_info(repo_id, revision=revision)
        files = api.list_repo_files(repo_id, repo_type="dataset", revision=info.sha)
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise AuditInputError(f"{repo_id}@{revision or 'main'} not found on {api.endpoint}: {type(exc).__name__}") from exc
    except HfHubHTTPError as exc:
        raise AuditInputError(f"{repo_id}: the Hub at {api.endpoint} answered {exc}") from exc

    def download(name: str) -> Path:
        return Path(hf_hub_download(repo_id, name, repo_type="dataset", revision=info.sha, endpoint=endpoint,
                                    token=token))

    declared: dict[str, list[str]] = {}
    if "README.md" in files:
        text = download("README.md").read_text("utf-8")
        if text.startswith("---"):
            meta = yaml.safe_load(text.split("---", 2)[1]) or {}
            for entry in meta.get("configs") or []:
                patterns = _config_patterns(entry)
                name = str(entry.get("config_name", "default"))
                if patterns or name not in declared:
                    declared[name] = patterns
    data = [f for f in files if f.lower().endswith(DATA_SUFFIXES) and not f.startswith(".")]
    if not declared:  # no card configs: one config per top-level folder
        for f in data:
            declared.setdefault(f.split("/")[0] if "/" in f else "default", []).append(f)
    if configs:
        unknown = sorted(set(configs) - set(declared))
        if unknown:
            raise AuditInputError(f"{repo_id}: no config {', '.join(unknown)} (the repo has: {', '.join(sorted(declared))})")
        declared = {c: declared[c] for c in configs}
    elif "all" in declared and len(declared) > 1:  # `all` repeats every other config's files
        declared.pop("all")
    out, notes = [], []
    for name, patterns in declared.items():
        regexes = [_glob_regex(p) for p in patterns]
        matched = [f for f in data if any(r.match(f) for r in regexes)]
        if not matched:
            message = f"config {name!r}: data_files {patterns} match no data file in the repo"
            if configs:
                raise AuditInputError(f"{repo_id}: {message}")
            notes.append(message)
            continue
        out += [(_config_name(name), download(f), f"{repo_id}@{info.sha[:12]}/{f}") for f in matched]
    if not out:
        raise AuditInputError(f"{repo_id}: no data files to audit ({'; '.join(notes) or 'no configs'})")
    return out, info.sha, notes


def iter_items(inputs: list[tuple[str, Path, str]], fmt: str) -> Iterator[Any]:
    """AuditItems of every input file, in order (read by the shared file reader, sources.fileread);
    unreadable items carry the reason."""
    from curation.report.audit import AuditItem
    from schemas import InvalidItem
    from sources.fileread import iter_items as read_items
    from sources.instruct_import import ItemError, detect_format, map_fields

    for config, path, shown in inputs:
        local = str(path)

        def where(location: str, local: str = local, shown: str = shown) -> str:
            return shown + location[len(local):] if location.startswith(local) else location

        with path.open("rb") as handle:
            head = handle.read(200)
        if head.startswith(LFS_POINTER):  # a clone without `git lfs pull`: say so, not "bad JSON" x3
            yield AuditItem(shown, config, "unknown", None, raw=head.decode("utf-8", "replace"), error=(
                "lfs_pointer", "the file is a Git LFS pointer, not the data (fetch it with `git lfs pull`)"))
            continue
        for entry in read_items(path, config):
            if isinstance(entry, InvalidItem):
                yield AuditItem(where(entry.location), config, fmt, None, error=(entry.reason, entry.detail),
                                raw=entry.raw)
                continue
            obj, text = entry.value, entry.raw.decode("utf-8", "replace")
            item_fmt = detect_format(obj) if fmt == "auto" else fmt
            if item_fmt is None:
                keys = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
                yield AuditItem(where(entry.location), config, "unknown", None, raw=text, error=(
                    "unknown_layout", f"not COIG-CQIA, Alpaca or ShareGPT (keys: {keys})"))
                continue
            try:
                fields, extra = map_fields(obj, item_fmt)
            except ItemError as exc:
                yield AuditItem(where(entry.location), config, item_fmt, None, error=(exc.reason, str(exc)), raw=text)
                continue
            yield AuditItem(where(entry.location), config, item_fmt, fields, extra)


def defects_table(table: Any, limit: int = 25) -> Table:  # noqa: ANN401 - DefectTable
    configs = sorted(table.records)
    out = Table(title="Defects per 10k records (flag-only audit; · = none)")
    out.add_column("defect")
    for c in [*configs, "all"]:
        out.add_column(c, justify="right")
    out.add_row("records", *[f"{table.records[c]:,}" for c in configs], f"{sum(table.records.values()):,}")
    for kind in table.kinds()[:limit]:
        out.add_row(kind, *[f"{table.per_10k(kind, c):,.0f}" if table.counts[kind].get(c) else "·" for c in configs],
                    f"{table.per_10k(kind):,.0f}")
    return out


def audit(
    paths: Annotated[list[str] | None, typer.Argument(help="Files/directories (JSONL, JSON, Parquet); CONFIG=PATH names the config.")] = None,
    repo_id: Annotated[str | None, typer.Option("--repo-id", help="Dataset repo ORG/NAME on the Hub.")] = None,
    config: Annotated[list[str] | None, typer.Option("--config", help="Hub: config(s) to audit; local: the config name.")] = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, coig-cqia, alpaca or sharegpt.")] = "auto",
    against: Annotated[list[Path] | None, typer.Option(help="Benchmark test set to check against (repeatable).")] = None,
    recipe: Annotated[str | None, typer.Option(help="Recipe whose checks and thresholds apply (default: packaged).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default runs/audit-<name>).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the JSON summary to stdout.")] = False,
    endpoint: Annotated[str | None, typer.Option(help="Hub URL (default: HF_ENDPOINT or huggingface.co).")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Audit an existing dataset: cleaning, PII, filters, dedup, decontamination and schema, flag-only."""
    from curation.pipeline.recipe import RecipeError, load_recipe
    from curation.pipeline.runner import file_inputs
    from curation.report.audit import run_audit
    from curation.report.build import write_bytes, write_report
    from curation.report.collect import collect_run
    from curation.report.html import defects_section
    from curation.stages.dedup import DedupConfig

    if bool(paths) == bool(repo_id):
        fail("give either PATH... or --repo-id ORG/NAME")
    if fmt not in ("auto", "coig-cqia", "alpaca", "sharegpt"):
        fail("--format must be auto, coig-cqia, alpaca or sharegpt")
    missing = [str(p) for p in against or [] if not p.is_file()]
    if missing:
        fail(f"test-set file(s) not found: {', '.join(missing)}")
    endpoint = endpoint or os.environ.get("HF_ENDPOINT")
    notes: list[str] = []
    try:
        loaded = load_recipe(recipe)
        if repo_id:
            inputs, sha, notes = hub_inputs(repo_id, configs=config, revision=revision, endpoint=endpoint,
                                            token=os.environ.get("HF_TOKEN"))
            for note in notes:
                console.print(f"[yellow]note:[/] {note}; skipped", soft_wrap=True, highlight=False)
            name = f"{repo_id}@{revision or 'main'} ({sha[:12]})"
        else:
            if config and len(config) > 1:
                fail("for local files give one --config (or name each input CONFIG=PATH)")
            inputs = local_inputs(paths or [], config[0] if config else None)
            configs = sorted({c for c, _, _ in inputs})
            name = f"{len(inputs)} local file(s), config(s) {', '.join(configs)}"
    except (AuditInputError, RecipeError) as exc:
        fail(str(exc))
    out = out or Path("runs") / f"audit-{_config_name(repo_id or Path((paths or ['x'])[0]).stem)}"
    console.print(f"auditing {len(inputs)} file(s) of {name} in flag-only mode → {out}")
    try:
        result = run_audit(
            lambda: iter_items(inputs, fmt), out / "work", recipe=loaded, progress=progress,
            inputs=[{**i, "config": c, "shown": s} for (c, _, s), i in zip(inputs, file_inputs(p for _, p, _ in inputs),
                                                                            strict=True)],
            against=[str(p) for p in against or []], dedup=loaded.section("dedup", DedupConfig) or DedupConfig(),
        )
    except ValueError as exc:
        fail(str(exc))
    table = result.table
    summary = collect_run(out / "work", stage="audit", progress=progress)
    summary["audit"] = {"dataset": name, "mode": "flag-only", "files": [s for _, _, s in inputs], "notes": notes,
                        "against": [str(p) for p in against or []], "defects": table.to_dict()}
    write_bytes(out / "defects.md", table.markdown().encode("utf-8"))
    report = write_report(out, summary, title=f"cqia 审计报告 · Audit: {name}",
                          extra_sections=[("defects", "缺陷 Defects (flag-only)", defects_section(summary["audit"]))],
                          extra_first=True)
    if json_out:
        typer.echo(json.dumps(report.summary, ensure_ascii=False, indent=1))
    else:
        stdout.print(defects_table(table))
    console.print(f"[green]audit report:[/] {report.html.resolve()}; defects table {(out / 'defects.md').resolve()}; "
                  f"every defect with record id and location in {result.defects_path.resolve()}")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
