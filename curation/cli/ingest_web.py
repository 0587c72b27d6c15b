"""`cqia ingest zhihu|segmentfault|douban|xhs|wikihow|zhidao`: local files and/or a polite crawl.

Each command takes saved pages/API responses as arguments and/or URLs (`--url`, `--urls-file`)
to crawl through the raw cache (default `<run>/_raw_cache`), then runs the `ingest-<source>`
stage. Killing a crawl and re-running the same command resumes it: cached URLs are not
fetched again and the stage runner skips outcomes already written, so no record is duplicated.
Cookies/headers come from `--cookies-file`/`--header` or `CQIA_<SOURCE>_COOKIE`; they are never
printed, logged, cached or written to the stage manifest.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from curation.cli.common import ExecutorOpt, RayAddressOpt, console, fail
from curation.cli.ingest import RunOption, app, run_source_stage
from curation.pipeline.runner import Stage, file_inputs, skip_outcomes
from schemas.redact import redact_url
from sources import registry

WEB_SOURCES: dict[str, str] = {
    "zhihu": "Zhihu answers: API v4 JSON (detail, lists with paging, feeds, search) or saved pages (2015 and "
             "React layouts); articles and other feed items are counted as rejects.",
    "segmentfault": "SegmentFault question pages (one record per answer); listings, articles and anti-bot pages "
                    "are rejects, listings discover question URLs.",
    "douban": "Douban movie/TV/book subject and short-comment pages → synopsis/recommendation/comment tasks.",
    "xhs": "Xiaohongshu notes (web API JSON, SSR pages, Spider_XHS/MediaCrawler outputs) → note-writing/title tasks.",
    "wikihow": "wikiHow articles → '如何…'/'How to …' with intro, numbered steps, sub-steps, tips and warnings "
               "(page language recorded).",
    "zhidao": "Baidu Zhidao question pages → Q&A records (best-slot answer and every other answer).",
}


def _read_cookies(path: Path | None, source: str) -> dict[str, str]:
    raw = ""
    if path is not None:
        if not path.is_file():
            fail(f"cookies file not found: {path}")
        raw = path.read_text(encoding="utf-8")
    raw = raw or os.environ.get(f"CQIA_{source.upper()}_COOKIE", "")
    cookies: dict[str, str] = {}
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 7:  # Netscape cookies.txt
            cookies[fields[5]] = fields[6]
            continue
        for pair in line.split(";"):
            if "=" in pair:
                key, value = pair.split("=", 1)
                cookies[key.strip()] = value.strip()
    return cookies


def _headers(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        if ":" not in value:
            fail("--header must look like 'Name: value' (the value is not shown here)")
        key, val = value.split(":", 1)
        out[key.strip()] = val.strip()
    return out


def crawl_table(stats, source: str) -> Table:
    table = Table(title=f"crawl {source}")
    for column in ("fetched", "from cache", "failed", "robots", "retries", "MB", "s", "pages/s"):
        table.add_column(column, justify="right")
    table.add_row(str(stats.fetched), str(stats.from_cache), str(stats.failed), str(stats.robots_blocked),
                  str(stats.retries), f"{stats.bytes / 1e6:.2f}", f"{stats.seconds:.1f}",
                  f"{stats.pages_per_second:.1f}")
    return table


def _make_command(source: str, help_text: str):
    def command(
        paths: Annotated[list[Path] | None, typer.Argument(help="Saved pages / API JSON files.")] = None,
        url: Annotated[list[str] | None, typer.Option("--url", help="URL to crawl (repeatable).")] = None,
        urls_file: Annotated[Path | None, typer.Option(help="File with one URL per line.")] = None,
        run: RunOption = Path("runs/default"),
        cache: Annotated[Path | None, typer.Option(help="Raw cache dir [default: RUN/_raw_cache].")] = None,
        rate: Annotated[float, typer.Option(help="Requests per second per host (0 = no limit).")] = 1.0,
        concurrency: Annotated[int, typer.Option(help="Parallel fetches.")] = 4,
        retries: Annotated[int, typer.Option(help="Retries on 429/5xx/timeouts/disconnects.")] = 4,
        timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 20.0,
        user_agent: Annotated[str | None, typer.Option(help="User-Agent header.")] = None,
        header: Annotated[list[str] | None, typer.Option("--header", help="Extra header 'Name: value'.")] = None,
        cookies_file: Annotated[Path | None, typer.Option(help="Cookies (cookies.txt or 'k=v; k2=v2').")] = None,
        ignore_robots: Annotated[bool, typer.Option(help="Do not consult robots.txt.")] = False,
        retry_failed: Annotated[bool, typer.Option(help="Re-fetch URLs whose cached fetch failed.")] = False,
        max_pages: Annotated[int | None, typer.Option(help="Stop discovering after this many URLs.")] = None,
        shard_size: Annotated[int, typer.Option(help="Outcomes per shard/checkpoint.")] = 100,
        force: Annotated[bool, typer.Option(help="Recompute even if the stage is complete.")] = False,
        executor: ExecutorOpt = "local",
        ray_address: RayAddressOpt = None,
    ) -> None:
        from curation.pipeline.storage import local_state_dir
        from sources.http import Crawler, FetchConfig, RawCache
        from sources.http.fetcher import DEFAULT_USER_AGENT
        from sources.http.ingest import iter_web_source
        from sources.settings import load_settings

        files = list(paths or [])
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            fail(f"input file(s) not found: {', '.join(missing)}")
        urls = list(url or [])
        if urls_file is not None:
            if not urls_file.is_file():
                fail(f"URL list not found: {urls_file}")
            urls += [u.strip() for u in urls_file.read_text(encoding="utf-8").splitlines()
                     if u.strip() and not u.startswith("#")]
        if not files and not urls:
            fail("give input files and/or --url/--urls-file")
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            fail(f"not an http(s) URL: {redact_url(bad[0])}")
        module = importlib.import_module(registry.get(source).module)
        settings = load_settings(source)
        crawler = None
        if urls:
            config = FetchConfig(
                user_agent=user_agent or DEFAULT_USER_AGENT, rate_per_host=rate, max_retries=retries,
                timeout=timeout, respect_robots=not ignore_robots, concurrency=concurrency,
                headers=_headers(header or []), cookies=_read_cookies(cookies_file, source),
            )
            crawler = Crawler(RawCache(cache or local_state_dir(run) / "_raw_cache"), config,
                              retry_failed=retry_failed, max_pages=max_pages)
        stage = Stage(
            name=f"ingest-{source}",
            produce=lambda skip: skip_outcomes(
                iter_web_source(module, settings, files=files, urls=urls, crawler=crawler), skip),
            inputs=file_inputs(files) + [{"url": u} for u in urls],
            params={"source": source, "settings": settings.name, "max_pages": max_pages,
                    "respect_robots": not ignore_robots},
            shard_size=shard_size,
            on_driver=True,  # the crawler's per-host politeness and raw cache live in this process
        )
        run_source_stage(run, stage, force=force, executor_name=executor, ray_address=ray_address)
        if crawler is not None and (crawler.stats.fetched or crawler.stats.from_cache):
            console.print(crawl_table(crawler.stats, source))

    command.__doc__ = help_text
    app.command(source)(command)


for _name, _help in WEB_SOURCES.items():
    _make_command(_name, _help)
