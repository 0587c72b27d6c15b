#!/usr/bin/env python
"""A local stand-in for the crawled sites: serves the REAL sample pages on 127.0.0.1 with faults.

Used by the crawler tests and `scripts/bench_crawl.py`. Prints `READY http://127.0.0.1:PORT`
once listening. Routes (all bodies are the shared samples, byte for byte, unless noted):

    /robots.txt                               Disallow: /private/
    /zhihu/api/v4/answers/<id>                answer detail JSON (sample; `id` rewritten if not the sample's)
    /zhihu/api/v4/questions/<qid>/answers     answer list with paging (?offset=&limit=; built by
                                              wrapping copies of the sample answer object; total=?total=)
    /zhihu/question/<qid>                     server-rendered question page (sample)
    /segmentfault/channel/<name>              channel listing (sample, unwrapped from its JS literal)
    /segmentfault/q/<id>                      question page (tests/fixtures/sources/web/ fixture)
    /douban/movie/subject/3541415/            movie subject page (sample)
    /douban/book/subject/1089243/             book subject page (sample)
    /douban-gbk/movie/subject/3541415/        the same page re-encoded as GB18030, served as charset=gbk
    /wikihow/Stop-Ringing-in-Ears             wikiHow article (sample)
    /xhs/note/<id>                            Xiaohongshu feed JSON (sample)
    /bench/<n>                                page n of the throughput benchmark (zhihu answer JSON)
    /private/...                              disallowed by robots.txt
    /_log                                     JSON list of paths requested so far (not itself logged)

Fault prefixes (state is per full path, so each URL fails its first N times, then succeeds):

    /fault/429/<n>/<path>        first n requests: 429 with Retry-After: 1
    /fault/500/<n>/<path>        first n requests: 500
    /fault/disconnect/<n>/<path> first n requests: connection closed without a response
    /fault/slow/<ms>/<path>      every request delayed by ms
    /fault/always500/<path>      always 500
    /fault/html-for-json/<path>  an HTML error page with status 200 where JSON was expected

`--delay-ms` slows every response (used to kill a crawl mid-way in the resume test).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
SAMPLES = Path(os.environ.get("CQIA_SAMPLES", REPO.parent / "shared" / "samples")).resolve()
FIXTURES = REPO / "tests" / "fixtures" / "sources" / "web"

ANSWER_SAMPLE = SAMPLES / "zhihu" / "zhihu-plus-plus__real-api_answer-detail.json"
ANSWER_SAMPLE_ID = "1936787046304842491"


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _segmentfault_listing() -> bytes:
    text = (SAMPLES / "segmentfault" / "morning-paper-sever__segmentfault_html_mock.js").read_text("utf-8")
    match = re.search(r"`(.*)`", text, re.S)
    return (match.group(1) if match else text).encode("utf-8")


class State:
    def __init__(self, delay_ms: int) -> None:
        self.delay = delay_ms / 1000
        self.counts: dict[str, int] = {}
        self.log: list[str] = []
        self.lock = threading.Lock()
        self.answer = json.loads(ANSWER_SAMPLE.read_text("utf-8"))
        self.cache: dict[str, bytes] = {}

    def hit(self, key: str) -> int:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def answer_json(self, answer_id: str, question_id: str | None = None) -> dict:
        obj = json.loads(json.dumps(self.answer))
        if answer_id != ANSWER_SAMPLE_ID:
            obj["id"] = answer_id
            obj["url"] = f"https://www.zhihu.com/api/v4/answers/{answer_id}"
        if question_id:
            obj["question"]["id"] = question_id
        return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cqia-sample-site/1"
    state: State

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without NODELAY, Nagle + delayed ACK add ~40 ms each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _disconnect(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        st = self.state
        if self.path == "/_log":
            with st.lock:
                body = json.dumps(st.log).encode()
            self._send(200, body, "application/json")
            return
        with st.lock:
            st.log.append(self.path)
        if st.delay:
            time.sleep(st.delay)
        path = self.path
        fault = re.match(r"^/fault/(429|500|disconnect|slow|always500|html-for-json)/(?:(\d+)/)?(.*)$", path)
        if fault:
            kind, number, rest = fault.group(1), int(fault.group(2) or 0), "/" + fault.group(3)
            count = st.hit(path)
            if kind == "429" and count <= number:
                self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": "1"})
                return
            if kind == "500" and count <= number:
                self._send(500, b"Internal Server Error", "text/plain")
                return
            if kind == "disconnect" and count <= number:
                self._disconnect()
                return
            if kind == "slow":
                time.sleep(number / 1000)
            if kind == "always500":
                self._send(500, b"Internal Server Error", "text/plain")
                return
            if kind == "html-for-json":
                self._send(200, b"<html><body><h1>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95</h1></body></html>")
                return
            path = rest
        self._route(path)

    def _route(self, path: str) -> None:
        st = self.state
        parts = urlsplit(path)
        route, query = parts.path, parse_qs(parts.query)
        host = self.headers.get("Host", "127.0.0.1")
        if route == "/robots.txt":
            self._send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif route.startswith("/private/"):
            self._send(200, b"<html><body>secret</body></html>")
        elif m := re.fullmatch(r"/zhihu/api/v4/answers/(\d+)", route):
            self._send(200, json.dumps(st.answer_json(m.group(1)), ensure_ascii=False).encode(), "application/json")
        elif m := re.fullmatch(r"/zhihu/api/v4/questions/(\d+)/answers", route):
            qid = m.group(1)
            offset = int(query.get("offset", ["0"])[0])
            limit = int(query.get("limit", ["5"])[0])
            total = int(query.get("total", ["12"])[0])
            ids = range(offset, min(offset + limit, total))
            data = [st.answer_json(f"{qid}{i:04d}", qid) for i in ids]
            is_end = offset + limit >= total
            nxt = f"http://{host}/zhihu/api/v4/questions/{qid}/answers?offset={offset + limit}&limit={limit}&total={total}"
            body = {"data": data, "paging": {"is_end": is_end, "is_start": offset == 0, "totals": total,
                                             "next": nxt, "previous": ""}}
            self._send(200, json.dumps(body, ensure_ascii=False).encode(), "application/json")
        elif re.fullmatch(r"/zhihu/question/\d+", route):
            self._send(200, _read(SAMPLES / "zhihu" / "magic-html__zhihu_q586816837_a2916374892.html"))
        elif route.startswith("/segmentfault/channel/"):
            self._send(200, _segmentfault_listing())
        elif m := re.fullmatch(r"/segmentfault/q/(\d+)", route):
            fixture = FIXTURES / "segmentfault_question.html"
            self._send(200, fixture.read_bytes()) if fixture.exists() else self._send(404, b"not found")
        elif route == "/douban/movie/subject/3541415/":
            self._send(200, _read(SAMPLES / "douban" / "neodb__https___movie_douban_com_subject_3541415_.html"))
        elif route == "/douban/book/subject/1089243/":
            self._send(200, _read(SAMPLES / "douban" / "neodb__https___book_douban_com_subject_1089243_.html"))
        elif route == "/douban-gbk/movie/subject/3541415/":
            raw = _read(SAMPLES / "douban" / "neodb__https___movie_douban_com_subject_3541415_.html").decode("utf-8")
            raw = re.sub(r'charset=["\']?utf-8', "charset=gbk", raw, flags=re.I)
            self._send(200, raw.encode("gb18030"), "text/html; charset=gbk")
        elif route == "/wikihow/Stop-Ringing-in-Ears":
            self._send(200, _read(SAMPLES / "wikihow" / "teknologi-umum-bot__wikihow_en_stop-ringing-in-ears.html"))
        elif route.startswith("/xhs/note/"):
            self._send(200, _read(SAMPLES / "xiaohongshu" / "spider_xhs__test_one_info.derived.json"),
                       "application/json")
        elif m := re.fullmatch(r"/bench/(\d+)", route):
            body = json.dumps(st.answer_json(f"9{int(m.group(1)):09d}"), ensure_ascii=False).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found", "text/plain")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=int, default=0, help="delay every response")
    args = parser.parse_args(argv)
    if not ANSWER_SAMPLE.exists():
        sys.exit(f"samples not found under {SAMPLES}; set CQIA_SAMPLES")
    Handler.state = State(args.delay_ms)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
