#!/usr/bin/env python
"""Per-record cost of the clean stage in one process: `clean_line` over the first shard of a run
directory's stage (e.g. the bench corpus's `ingest-bench`), with the compiled metric kernels on or
off. Prints set-up seconds (the per-source tools) and CPU / wall microseconds per record.

    python scripts/bench_clean_record.py runs/bench-curation-20000/run [--recipe default] [--no-kernels]

Run it alternately with PYTHONPATH pointing at two checkouts to compare code versions (older
code without the `compiled` switch ignores it).
"""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

import orjson

from curation.pipeline.recipe import load_recipe
from curation.pipeline.rundir import RunDir
from curation.stages.chain import _tools, clean_line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--stage", default="ingest-bench")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--no-kernels", action="store_true")
    args = parser.parse_args()
    recipe_json = load_recipe(args.recipe).model_dump_json().encode()
    lines = RunDir(args.run).shard_paths(args.stage)[0].read_bytes().splitlines()
    compiled = "compiled" in inspect.signature(clean_line).parameters and not args.no_kernels
    kw = {"compiled": True} if compiled else {}
    started = time.perf_counter()
    for source in sorted({orjson.loads(line)["source"] for line in lines}):
        _tools(recipe_json, source, **kw)
    setup = time.perf_counter() - started
    wall, cpu = time.perf_counter(), time.process_time()
    for line in lines:
        clean_line(line, recipe_json, **kw)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"records {len(lines)}  kernels {compiled}  set-up {setup:.2f} s  "
          f"cpu {cpu / len(lines) * 1e6:.1f} us/record  wall {wall / len(lines) * 1e6:.1f} us/record")


if __name__ == "__main__":
    main()
