"""Wiki dump streaming benchmark: MB/s of compressed input and peak RSS.

Builds a dump in a temp dir by repeating the real sample page (`shared/samples/zhwiki`) with
distinct titles/ids until the compressed file reaches the target size (200 MB; `--quick`: 20 MB).
Each page is its own bz2 stream (like Wikimedia's multistream dumps, which put 100 pages per
stream), so the compression ratio stays that of real pages instead of collapsing on repetition.
Parsing runs in a child process so its peak RSS is measured alone; the child also samples RSS at
10 % and 100 % of the dump to show memory stays flat.

    python scripts/bench_wiki.py [--quick] [--size-mb N] [--backend reimplemented|pyo3]
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLE = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples")) / "zhwiki" / "dbpedia-minidump__zh_wiki.xml.bz2"
VARIANTS = 64  # distinct compressed pages, cycled (ids repeat every 64 pages; irrelevant to speed)


def build(path: Path, size_mb: float) -> dict:
    xml = bz2.decompress(SAMPLE.read_bytes())
    head, rest = xml.split(b"<page>", 1)
    page, _ = rest.rsplit(b"</page>", 1)
    page = b"<page>" + page + b"</page>\n"
    variants = [
        bz2.compress(page.replace(b"<title>\xe6\x9f\x8f\xe6\x9e\x97</title>", f"<title>柏林{i}</title>".encode())
                     .replace(b"<id>3472</id>", f"<id>{1_000_000 + i}</id>".encode(), 1))
        for i in range(VARIANTS)
    ]
    target = int(size_mb * 1024 * 1024)
    pages = 0
    with path.open("wb") as out:
        written = out.write(bz2.compress(head))
        while written < target:
            written += out.write(variants[pages % VARIANTS])
            pages += 1
        written += out.write(bz2.compress(b"</mediawiki>\n"))
    return {"pages": pages, "compressed_bytes": written, "uncompressed_bytes": len(head) + pages * len(page)}


def parse(path: Path, backend: str) -> dict:
    """Child process: stream the dump, count outcomes, sample RSS."""
    import psutil

    from sources.settings import load_settings
    from sources.wiki import iter_wiki

    settings = load_settings("wiki")
    settings = settings.model_copy(update={"options": {**settings.options, "opencc_backend": backend}})
    proc = psutil.Process()
    total = path.stat().st_size
    records = rejects = 0
    rss_samples = []
    next_mark = 0.1
    start = time.perf_counter()
    for item in iter_wiki([path], settings):
        if hasattr(item, "record"):
            records += 1
            fraction = records / max(1, expected_records)
            if fraction >= next_mark:
                rss_samples.append({"at": round(next_mark, 1), "rss_mb": round(proc.memory_info().rss / 2**20, 1)})
                next_mark += 0.3
        else:
            rejects += 1
    seconds = time.perf_counter() - start
    return {"records": records, "rejects": rejects, "seconds": round(seconds, 2),
            "compressed_mb_per_s": round(total / 2**20 / seconds, 3), "rss_samples": rss_samples,
            "final_rss_mb": round(proc.memory_info().rss / 2**20, 1)}


expected_records = 1


def main() -> None:
    global expected_records
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 MB instead of 200 MB")
    parser.add_argument("--size-mb", type=float, default=None)
    parser.add_argument("--backend", default="reimplemented", choices=["reimplemented", "pyo3"])
    parser.add_argument("--_parse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_expected", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._parse:
        expected_records = args._expected
        print(json.dumps(parse(args._parse, args.backend)))
        return
    size_mb = args.size_mb or (20 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="cqia-bench-wiki-") as tmp:
        dump = Path(tmp) / "zhwiki-bench.xml.bz2"
        t0 = time.perf_counter()
        built = build(dump, size_mb)
        built["build_seconds"] = round(time.perf_counter() - t0, 2)
        cmd = [sys.executable, __file__, "--_parse", str(dump), "--backend", args.backend,
               "--_expected", str(built["pages"] * 9)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
        if out.returncode != 0:
            sys.exit(f"parse child failed: {out.stderr[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = {
        "dump": {**built, "compressed_mb": round(built["compressed_bytes"] / 2**20, 1),
                 "uncompressed_mb": round(built["uncompressed_bytes"] / 2**20, 1)},
        "backend": args.backend, **result, "peak_rss_mb": round(peak_kb / 1024, 1),
        "pages_per_s": round(built["pages"] / result["seconds"], 1),
        "uncompressed_mb_per_s": round(built["uncompressed_bytes"] / 2**20 / result["seconds"], 3),
        "cpu": os.cpu_count(),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
