"""Streaming .json arrays: peak memory and speed of the shared reader against a whole-file parse.

Writes an alpaca-format JSON array (indent=2, Chinese text, each item distinct) of the target size
(200 MB; `--quick`: 20 MB) into a temp dir, then runs each mode in its own child process, its
peak memory sampled over the process (benchcommon.measure):

- `reader`:  `sources.fileread.iter_json` over the file (items only);
- `import`:  `sources.instruct_import.iter_import` (items mapped to records, as `cqia ingest import`);
- `whole`:   `orjson.loads(path.read_bytes())`, the previous way of reading a .json array.

    python scripts/bench_json_stream.py [--quick] [--size-mb N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.benchcommon import last_json, measure  # noqa: E402

ITEM = {"instruction": "请根据下面的材料回答问题：“画蛇添足”这个成语出自哪里？它比喻什么？（第{i}题）",
        "input": "楚有祠者，赐其舍人卮酒。舍人相谓曰：“数人饮之不足，一人饮之有余。请画地为蛇，先成者饮酒。”" * 2,
        "output": "“画蛇添足”出自《战国策·齐策二》，比喻做了多余的事，非但无益，反而不合适。这是第{i}个回答。" * 3}


def write_array(path: Path, size_mb: int) -> int:
    """Stream an indented JSON array of distinct items until the file reaches size_mb; item count."""
    target = size_mb << 20
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        written = 2
        while written < target:
            item = {k: v.replace("{i}", str(count)) for k, v in ITEM.items()}
            text = ("" if count == 0 else ",\n") + json.dumps(item, ensure_ascii=False, indent=2)
            handle.write(text)
            written += len(text.encode("utf-8"))
            count += 1
        handle.write("\n]\n")
    return count


def child(mode: str, path: Path) -> None:
    started = time.perf_counter()
    if mode == "reader":
        from sources.fileread import Item, iter_json

        items = rejects = 0
        for out in iter_json(path, "bench"):
            items += isinstance(out, Item)
            rejects += not isinstance(out, Item)
    elif mode == "import":
        from schemas import CuratedRecord
        from sources.instruct_import import iter_import
        from sources.settings import load_settings

        items = rejects = 0
        for out in iter_import([path], "alpaca", "bench", load_settings("coig_pc")):
            items += isinstance(out, CuratedRecord)
            rejects += not isinstance(out, CuratedRecord)
    else:
        import orjson

        items, rejects = len(orjson.loads(path.read_bytes())), 0
    print(json.dumps({"items": items, "rejects": rejects, "seconds": time.perf_counter() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 MB instead of 200 MB")
    parser.add_argument("--size-mb", type=int, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    size_mb = args.size_mb or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="bench-json-") as tmp:
        path = Path(tmp) / "alpaca_array.json"
        count = write_array(path, size_mb)
        file_mb = path.stat().st_size / 2**20
        print(f"file: {file_mb:.1f} MB, {count} items (indent=2 JSON array)")
        print("| mode | items | rejects | seconds | items/s | peak memory | peak / file size |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for mode in ("reader", "import", "whole"):
            result = measure([sys.executable, __file__, "--child", mode, str(path)], interval=0.05)
            out = last_json(result["stdout"])
            assert out["items"] + out["rejects"] == count, out
            peak = result["peak_mem_mb"]
            print(f"| {mode} | {out['items']} | {out['rejects']} | {out['seconds']:.1f} | "
                  f"{out['items'] / out['seconds']:,.0f} | {peak:.0f} MB | {peak / file_mb:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
