#!/usr/bin/env python
"""Crawl throughput against the local sample-site server with the rate limit off.

Starts `scripts/sample_site_server.py` on 127.0.0.1, crawls N distinct Zhihu-answer URLs
(each a real sample answer object) into a fresh raw cache, then replays the crawl from the
cache with parsing. Reports cold fetch pages/s per concurrency level and warm replay+parse
pages/s. `--quick` uses 300 pages. Numbers are for this machine only (see --help).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sources import zhihu  # noqa: E402
from sources.http import Crawler, FetchConfig, RawCache  # noqa: E402
from sources.http.ingest import iter_web_source  # noqa: E402
from sources.settings import load_settings  # noqa: E402

SERVER = Path(__file__).resolve().parent / "sample_site_server.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 pages instead of --pages")
    parser.add_argument("--pages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    pages = 300 if args.quick else args.pages
    proc = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True)
    results = []
    try:
        base = proc.stdout.readline().split(" ", 1)[1].strip()
        urls = [f"{base}/bench/{i}" for i in range(pages)]
        settings = load_settings("zhihu")
        for workers in args.concurrency:
            with tempfile.TemporaryDirectory() as tmp:
                config = FetchConfig(rate_per_host=0, concurrency=workers)
                crawler = Crawler(RawCache(Path(tmp)), config)
                started = time.perf_counter()
                fetched = sum(1 for r in crawler.crawl(urls) if r.ok)
                cold = time.perf_counter() - started
                crawler.close()
                assert fetched == pages, f"only {fetched}/{pages} pages fetched"
                warm_crawler = Crawler(RawCache(Path(tmp)), config)
                started = time.perf_counter()
                records = sum(1 for o in iter_web_source(zhihu, settings, urls=urls, crawler=warm_crawler)
                              if hasattr(o, "record"))
                warm = time.perf_counter() - started
                results.append({"concurrency": workers, "pages": pages, "fetch_pages_per_s": round(pages / cold, 1),
                                "mb": round(crawler.stats.bytes / 1e6, 2),
                                "replay_parse_pages_per_s": round(pages / warm, 1), "records": records})
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    table = Table(title=f"crawl throughput, rate limit off ({platform.python_implementation()} {platform.python_version()})")
    for column in ("concurrency", "pages", "MB", "fetch pages/s", "cache replay + parse pages/s", "records"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(str(r["concurrency"]), str(r["pages"]), str(r["mb"]), str(r["fetch_pages_per_s"]),
                      str(r["replay_parse_pages_per_s"]), str(r["records"]))
    Console().print(table)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
