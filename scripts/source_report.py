"""Run every source family's parser over every file of the samples folder and count what came out.

    python scripts/source_report.py [--samples DIR] [--json] [--family NAME ...]

Per file: items in (distinct input items that produced a record or a reject), records, rejects by
reason, and whether every item was rejected; then a summary per family. `--json` prints the same
as one JSON object ({"files": [...], "families": {...}}) for other tools.

Which parser reads a file is decided by `ROUTES` (first matching glob, relative to the samples
folder); what a parser is and how its locations map to input items is `FAMILIES`: a table
family → `Family(parse=callable(path) -> outcomes, item_of=callable(location suffix) -> item key)`.
Adding a source = one `FAMILIES` entry and one `ROUTES` line. A parser that raises is reported as
`crashed` (parsers must turn bad input into rejects) and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import os
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from schemas import InvalidItem  # noqa: E402

Parse = Callable[[Path], Iterable[Any]]


def _whole(suffix: str) -> str:
    """Each outcome location is its own input item (one record per item)."""
    return suffix


def _before_task(suffix: str) -> str:
    """'#12/compose' → '#12', ':3/meaning' → ':3', '#5/2' (sub-question) → '#5': tasks of one item."""
    return re.sub(r"/[^/#:]*$", "", suffix)


def _wiki_page(suffix: str) -> str:
    """'#page=123#lead' and '#page=123#s0:历史' → the page; WikiExtractor ':7' → the line."""
    match = re.match(r"^(#page=[^#]*)", suffix)
    return match.group(1) if match else suffix


def _one_page(suffix: str) -> str:
    """A saved page is one item whatever sections it yields."""
    return ""


@dataclass(frozen=True)
class Family:
    """How to run one source family over one file, and which input item an outcome belongs to."""

    parse: Parse
    item_of: Callable[[str], str] = _whole


def _files(module: str, function: str) -> Parse:
    """A file parser `function(paths, settings=None)`."""
    def parse(path: Path) -> Iterable[Any]:
        return getattr(importlib.import_module(module), function)([path])
    return parse


def _web(module: str, settings_name: str) -> Parse:
    """A web parser `parse(RawPage, settings)` over a saved page."""
    def parse(path: Path) -> Iterable[Any]:
        from sources.http.page import page_from_file
        from sources.settings import load_settings

        return importlib.import_module(module).parse(page_from_file(path), load_settings(settings_name))
    return parse


def _import(fmt: str, source: str) -> Parse:
    def parse(path: Path) -> Iterable[Any]:
        from sources.instruct_import import iter_import
        from sources.settings import known_sources, load_settings

        settings = load_settings(source if source in known_sources() else "imported")
        return iter_import([path], fmt, source, settings)
    return parse


FAMILIES: dict[str, Family] = {
    "ruozhiba": Family(_files("sources.ruozhiba", "iter_ruozhiba")),
    "classical": Family(_files("sources.classical", "iter_classical"), _before_task),
    "exam": Family(_files("sources.exam", "iter_exam"), _before_task),
    "logiqa": Family(_files("sources.logiqa", "iter_logiqa")),
    "wiki": Family(_files("sources.wiki", "iter_wiki"), _wiki_page),
    "baike": Family(_files("sources.baike", "iter_baike"), _one_page),
    "zhihu": Family(_web("sources.zhihu", "zhihu")),
    "segmentfault": Family(_web("sources.segmentfault", "segmentfault")),
    "douban": Family(_web("sources.douban", "douban")),
    "xhs": Family(_web("sources.xhs", "xhs")),
    "wikihow": Family(_web("sources.wikihow", "wikihow")),
    "import-coig-cqia": Family(_import("coig-cqia", "imported")),
    "import-alpaca": Family(_import("alpaca", "imported")),
    "import-sharegpt": Family(_import("sharegpt", "imported")),
}

# (glob relative to the samples folder, family or None = not a source input); first match wins.
ROUTES: list[tuple[str, str | None]] = [
    ("MANIFEST.json", None),
    ("*/README.md", None),
    ("*LICENSE*", None),
    ("distill/*", None),
    ("exam/logiqa__*", "logiqa"),
    ("exam/*", "exam"),
    ("logiqa/*", "logiqa"),
    ("classical/*", "classical"),
    ("ruozhiba/*", "ruozhiba"),
    ("zhwiki/*", "wiki"),
    ("baike/*", "baike"),
    ("zhihu/*", "zhihu"),
    ("segmentfault/*", "segmentfault"),
    ("douban/*", "douban"),
    ("xiaohongshu/*", "xhs"),
    ("wikihow/*", "wikihow"),
    ("coig_cqia/*", "import-coig-cqia"),
    ("instruct_zh/*alpaca*", "import-alpaca"),
    ("instruct_zh/*identity*", "import-alpaca"),
    ("instruct_zh/*", "import-sharegpt"),
]


def route(relative: str) -> str | None | bool:
    """The family for a file, None when it is not a source input, False when no route matches."""
    for pattern, family in ROUTES:
        if fnmatch.fnmatch(relative, pattern):
            return family
    return False


def _location(outcome: Any) -> str:
    if isinstance(outcome, InvalidItem):
        return outcome.location
    provenance = getattr(outcome, "provenance", None)
    return (provenance.location if provenance is not None else None) or ""


def report_file(path: Path, family: str) -> dict[str, Any]:
    """Run one family's parser over one file: items, records, rejects by reason."""
    spec = FAMILIES[family]
    prefix = str(path)
    records = 0
    reasons: Counter[str] = Counter()
    record_items: set[str] = set()
    reject_items: set[str] = set()
    examples: dict[str, str] = {}
    crashed = None
    try:
        for outcome in spec.parse(path):
            location = _location(outcome)
            suffix = location[len(prefix):] if location.startswith(prefix) else location
            item = spec.item_of(suffix)
            if isinstance(outcome, InvalidItem):
                reasons[outcome.reason] += 1
                reject_items.add(item)
                examples.setdefault(outcome.reason, f"{suffix or '(file)'}: {outcome.detail}"[:200])
            else:
                records += 1
                record_items.add(item)
    except Exception as exc:  # a parser must not raise: report it loudly instead of stopping
        crashed = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    items = record_items | reject_items
    return {
        "family": family, "file": str(path), "items": len(items), "records": records,
        "rejects": sum(reasons.values()), "reasons": dict(reasons.most_common()),
        "items_with_records": len(record_items), "items_only_rejected": len(reject_items - record_items),
        "all_rejected": bool(items) and not record_items, "no_outcomes": not items and crashed is None,
        "crashed": crashed, "reject_examples": examples,
    }


def build_report(samples: Path, families: list[str] | None = None) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    for path in sorted(p for p in samples.rglob("*") if p.is_file()):
        relative = path.relative_to(samples).as_posix()
        family = route(relative)
        if family is None:
            continue
        if family is False:
            files.append({"family": None, "file": str(path), "note": "no route: no family reads this file"})
            continue
        if families and family not in families:
            continue
        files.append(report_file(path, family))
    summary: dict[str, Counter[str]] = {}
    for row in files:
        if row.get("family") is None:
            continue
        total = summary.setdefault(row["family"], Counter())
        total.update({"files": 1, "items": row["items"], "records": row["records"], "rejects": row["rejects"],
                      "files_all_rejected": int(row["all_rejected"]), "files_crashed": int(bool(row["crashed"])),
                      "files_no_outcomes": int(row["no_outcomes"])})
        total.update({f"reason:{k}": v for k, v in row["reasons"].items()})
    return {"samples": str(samples), "files": files, "families": {k: dict(v) for k, v in sorted(summary.items())}}


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(160, int(os.environ.get("COLUMNS", 0) or 0)))
    samples = report["samples"]
    table = Table(title=f"Per file ({samples})", show_lines=False)
    for column in ("family", "file", "items", "records", "rejects", "reasons"):
        table.add_column(column, justify="right" if column in ("items", "records", "rejects") else "left",
                         overflow="fold")
    for row in report["files"]:
        name = os.path.relpath(row["file"], samples)
        if row.get("family") is None:
            table.add_row("-", name, "", "", "", row["note"])
            continue
        reasons = ", ".join(f"{k}={v}" for k, v in row["reasons"].items()) or "-"
        if row["crashed"]:
            reasons = f"[bold red]CRASHED {row['crashed']}[/] " + reasons
        elif row["no_outcomes"]:
            reasons = "[bold red]NO OUTCOMES[/] (the file yielded neither a record nor a reject)"
        elif row["all_rejected"]:
            reasons = f"[bold yellow]ALL REJECTED[/] {reasons}"
        table.add_row(row["family"], name, str(row["items"]), str(row["records"]), str(row["rejects"]), reasons)
    console.print(table)
    summary = Table(title="Summary per family")
    for column in ("family", "files", "items", "records", "rejects", "all-rejected files", "no-outcome files",
                   "crashed", "top reasons"):
        summary.add_column(column, justify="left" if column in ("family", "top reasons") else "right",
                           overflow="fold")
    for family, total in report["families"].items():
        reasons = sorted(((k[7:], v) for k, v in total.items() if k.startswith("reason:")), key=lambda kv: -kv[1])
        summary.add_row(family, *(str(total.get(k, 0)) for k in ("files", "items", "records", "rejects",
                                                                   "files_all_rejected", "files_no_outcomes",
                                                                   "files_crashed")),
                        ", ".join(f"{k}={v}" for k, v in reasons[:4]) or "-")
    console.print(summary)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples"))
    parser.add_argument("--samples", type=Path, default=default, help="samples folder (default: CQIA_SAMPLES)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES), help="only these families")
    args = parser.parse_args(argv)
    if not args.samples.is_dir():
        parser.error(f"samples folder not found: {args.samples}")
    report = build_report(args.samples, args.family)
    if args.json:
        import json

        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        _print(report)
    return 1 if any(row.get("crashed") for row in report["files"]) else 0


if __name__ == "__main__":
    sys.exit(main())
