"""Scripted OpenAI-compatible server: deterministic answers, usage counts, fault injection.

Why: tests and dry runs need a real HTTP endpoint on 127.0.0.1 so the real client, concurrency,
retries and resume are exercised, without a model or network. Start:

    python -m curation.llm.fake_server --host 127.0.0.1 --port 0 [--script rules.json] [--api-key K]

The first stdout line is the base URL (`http://127.0.0.1:PORT/v1`). Endpoints:
`POST /v1/chat/completions`, `POST /v1/embeddings` (deterministic vectors: hashed character bigrams,
L2-normalised, so equal texts give cosine 1 and texts sharing more bigrams are closer), `GET /v1/models`, and admin: `POST /_admin/faults`
(`{"status": 429|500, "times": N, "retry_after": s, "delay_s": x, "disconnect": bool}` or a list),
`POST /_admin/rules`, `POST /_admin/config` (`{"api_key": ..., "models": [...]}`),
`POST /_admin/reset`, `GET /_admin/log` (with `max_concurrent`: most chat requests in progress at once,
and each entry's start `t0` and end `t`).

Script file: a JSON list of rules, or `{"rules": [...], "api_key": ..., "models": [...]}`. A rule is
`{"pattern": REGEX, "reply": TEXT, "model": REGEX?}`; the first rule whose pattern matches the
last user message (and whose model regex matches the requested model) answers. `{prompt}`,
`{model}` and `{hash}` (8 hex chars of the prompt's sha256) in the reply are replaced. Without a match the reply is derived from a hash of the
prompt, in Chinese, so the same prompt always gets the same answer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import select
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "fake-model"
_SENTENCES = (
    "这是一个很好的问题。",
    "我会尽量给出清晰、准确的回答。",
    "从多个角度来看，这个问题都值得认真思考。",
    "首先，我们需要明确问题的背景。",
    "其次，可以结合具体的例子来说明。",
    "最后，总结要点并给出建议。",
    "我是一个人工智能助手，乐于为你提供帮助。",
    "如果还有其他问题，欢迎继续提问。",
)


def default_reply(model: str, prompt: str) -> str:
    """Deterministic Chinese answer chosen by a hash of (model, prompt)."""
    digest = hashlib.sha256(f"{model}\x00{prompt}".encode()).digest()
    picks = [_SENTENCES[b % len(_SENTENCES)] for b in digest[:3]]
    return f"关于「{prompt[:20]}」：" + "".join(picks) + f"（编号 {digest.hex()[:8]}）"


EMBED_DIM = 64


def fake_embedding(text: str, dim: int = EMBED_DIM) -> list[float]:
    """Deterministic unit vector of hashed character-bigram counts (no model needed)."""
    vec = [0.0] * dim
    t = " " + text.strip().lower() + " "
    for i in range(len(t) - 1):
        h = int.from_bytes(hashlib.blake2b(t[i : i + 2].encode(), digest_size=4).digest(), "big")
        vec[h % dim] += 1.0 if (h >> 31) & 1 else -1.0
    norm = sum(x * x for x in vec) ** 0.5
    return [round(x / norm, 6) for x in vec] if norm else vec


def count_tokens(text: str) -> int:
    """Rough, deterministic token count: CJK chars count 1, other text ~4 chars per token."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk + 3) // 4


class State:
    """Rules, faults, auth and the request log, shared by handler threads."""

    def __init__(self, rules: list[dict] | None = None, api_key: str | None = None, models: list[str] | None = None):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.models = models
        self.set_rules(rules or [])
        self.faults: list[dict] = []
        self.inflight = 0
        self.reset_log()

    def set_rules(self, rules: list[dict]) -> None:
        compiled = []
        for i, rule in enumerate(rules):
            if "pattern" not in rule or "reply" not in rule:
                raise ValueError(f"rule {i} needs 'pattern' and 'reply'")
            compiled.append((re.compile(rule["pattern"], re.S), re.compile(rule["model"]) if rule.get("model") else None,
                             rule["reply"]))
        self.rules = compiled

    def set_faults(self, faults: list[dict]) -> None:
        for f in faults:
            f.setdefault("times", 1)
        self.faults = [f for f in faults if f["times"] > 0]

    def reset_log(self) -> None:
        self.entries: list[dict] = []
        self.seen: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.total = 0
        self.max_inflight = 0  # requests still in progress (`inflight`) survive a reset

    def started(self) -> float:
        """A chat request began (counted until `finished`): the log's `max_concurrent` is what
        this server saw at once, the real measure of a client's concurrency cap."""
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        return time.time()

    def finished(self) -> None:
        with self.lock:
            self.inflight -= 1

    def take_fault(self, prompt: str) -> dict | None:
        with self.lock:
            for f in self.faults:
                if f.get("match") and not re.search(f["match"], prompt):
                    continue
                f["times"] -= 1
                if f["times"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None

    def reply(self, model: str, prompt: str) -> str:
        for pattern, model_re, text in self.rules:
            if model_re is not None and not model_re.search(model):
                continue
            if pattern.search(prompt):
                digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
                return text.replace("{prompt}", prompt).replace("{model}", model).replace("{hash}", digest)
        return default_reply(model, prompt)

    def record(self, model: str, prompt: str, status: int, t0: float | None = None) -> None:
        with self.lock:
            self.total += 1
            self.seen[prompt] += 1
            if status == 200:
                self.served[prompt] += 1
            self.by_status[str(status)] += 1
            if len(self.entries) < 100_000:
                now = time.time()
                self.entries.append({"t": now, "t0": now if t0 is None else t0, "model": model,
                                     "prompt": prompt[:500], "status": status})

    def log(self, entries: bool = True) -> dict[str, Any]:
        with self.lock:
            dup = {p: n for p, n in self.served.items() if n > 1}
            return {
                "requests": self.total,
                "by_status": dict(self.by_status),
                "max_concurrent": self.max_inflight,
                "served": sum(self.served.values()),
                "unique_prompts": len(self.seen),
                "duplicate_served": sum(n - 1 for n in dup.values()),
                "per_prompt": dict(self.seen),
                "per_prompt_served": dict(self.served),
                "entries": list(self.entries) if entries else [],
                "pending_faults": [dict(f) for f in self.faults],
            }


def last_user_text(messages: list[dict]) -> str:
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):  # content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid Nagle/delayed-ACK stalls
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self._done_working()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}, headers)

    def _client_gone(self) -> bool:
        """True when the peer already closed its side (EOF pending on the socket)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _authorized(self) -> bool:
        want = self.server.state.api_key
        if not want:
            return True
        got = self.headers.get("authorization", "")
        return got == f"Bearer {want}"

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        state = self.server.state
        if path == "/_admin/log":
            self._send(200, state.log(entries="entries=0" not in self.path))
        elif path == "/v1/models":
            if not self._authorized():
                return self._error(401, "Incorrect API key provided.", "invalid_api_key")
            names = state.models or [DEFAULT_MODEL]
            self._send(200, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "cqia"} for m in names]})
        elif path in ("", "/health"):
            self._send(200, {"ok": True})
        else:
            self._error(404, f"no route GET {path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()  # always read the body first (keep-alive safety)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/chat/completions":
            return self._chat(body)
        if path == "/v1/embeddings":
            return self._embeddings(body)
        if path.startswith("/_admin/"):
            return self._admin(path, body)
        self._error(404, f"no route POST {path}", "not_found")

    def _admin(self, path: str, body: bytes) -> None:
        state = self.server.state
        try:
            data = json.loads(body or b"null")
        except ValueError:
            return self._error(400, "admin body must be JSON", "bad_json")
        try:
            if path == "/_admin/faults":
                faults = data if isinstance(data, list) else ([data] if data else [])
                with state.lock:
                    state.set_faults([dict(f) for f in faults])
            elif path == "/_admin/rules":
                state.set_rules(data.get("rules", []) if isinstance(data, dict) else (data or []))
            elif path == "/_admin/config":
                if "api_key" in data:
                    state.api_key = data["api_key"] or None
                if "models" in data:
                    state.models = data["models"] or None
            elif path == "/_admin/reset":
                with state.lock:
                    state.faults = []
                    state.reset_log()
                state.set_rules(self.server.initial_rules)
                state.api_key = self.server.initial_key
                state.models = self.server.initial_models
            else:
                return self._error(404, f"no admin route {path}", "not_found")
        except (ValueError, re.error, TypeError, AttributeError) as exc:
            return self._error(400, f"bad admin request: {exc}", "bad_admin")
        self._send(200, {"ok": True})

    def _embeddings(self, body: bytes) -> None:
        state = self.server.state
        if not self._authorized():
            state.record("", "", 401)
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            req = json.loads(body)
            model = str(req["model"])
            inputs = req["input"]
            inputs = [inputs] if isinstance(inputs, str) else [str(x) for x in inputs]
        except (ValueError, KeyError, TypeError):
            state.record("", "", 400)
            return self._error(400, "body must be JSON with 'model' and 'input'", "bad_request")
        if state.models and model not in state.models:
            state.record(model, "", 404)
            return self._error(404, f"The model `{model}` does not exist", "model_not_found")
        fault = state.take_fault("[embeddings]")
        if fault and fault.get("status"):
            state.record(model, "[embeddings]", int(fault["status"]))
            return self._error(int(fault["status"]), f"injected fault {fault['status']}", "injected")
        for text in inputs:
            state.record(model, f"[embeddings] {text}", 200)
        tokens = sum(count_tokens(t) for t in inputs)
        self._send(200, {"object": "list", "model": model,
                         "data": [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(inputs)],
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _chat(self, body: bytes) -> None:
        state = self.server.state
        t0 = state.started()
        self._working = True
        try:
            self._chat_request(body, state, t0)
        finally:
            self._done_working()

    def _done_working(self) -> None:
        """A chat request stops counting as in progress before its reply is written: a client
        that frees a slot on receiving the reply can never make the count exceed its cap."""
        if getattr(self, "_working", False):
            self._working = False
            self.server.state.finished()

    def _chat_request(self, body: bytes, state: State, t0: float) -> None:
        if not self._authorized():
            state.record("", "", 401, t0)
            return self._error(401, "Incorrect API key provided.", "invalid_api_key")
        try:
            req = json.loads(body)
            messages = req["messages"]
            model = str(req.get("model") or "")
        except (ValueError, KeyError, TypeError):
            state.record("", "", 400, t0)
            return self._error(400, "body must be JSON with 'model' and 'messages'", "bad_request")
        if not model:
            return self._error(400, "you must provide a model parameter", "missing_model")
        if state.models and model not in state.models:
            state.record(model, "", 404, t0)
            return self._error(404, f"The model `{model}` does not exist", "model_not_found")
        prompt = last_user_text(messages)
        fault = state.take_fault(prompt)
        if fault:
            if fault.get("delay_s"):
                time.sleep(float(fault["delay_s"]))
            if fault.get("disconnect"):
                state.record(model, prompt, 0, t0)
                self.close_connection = True
                return
            status = fault.get("status")
            if status:
                state.record(model, prompt, int(status), t0)
                headers = {"retry-after": str(fault["retry_after"])} if fault.get("retry_after") is not None else None
                return self._error(int(status), f"injected fault {status}", "injected", headers)
        text = state.reply(model, prompt)
        max_tokens = req.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens > 0 and count_tokens(text) > max_tokens:
            text, finish = text[:max_tokens], "length"
        else:
            finish = "stop"
        pt = sum(count_tokens(str(m.get("content") or "")) + 4 for m in messages)
        ct = count_tokens(text)
        rid = hashlib.sha256(body).hexdigest()[:24]
        if self._client_gone():  # the caller died while we worked (e.g. kill -9): not served
            state.record(model, prompt, 499, t0)
            self.close_connection = True
            return
        state.record(model, prompt, 200, t0)
        self._send(200, {
            "id": f"chatcmpl-{rid}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        })


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], state: State) -> None:
        super().__init__(addr, Handler)
        self.state = state
        self.initial_rules = [
            {"pattern": p.pattern, "reply": r, **({"model": m.pattern} if m else {})} for p, m, r in state.rules
        ]
        self.initial_key = state.api_key
        self.initial_models = state.models

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"


def load_script(path: str | None) -> tuple[list[dict], str | None, list[str] | None]:
    if not path:
        return [], None, None
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if isinstance(data, list):
        return data, None, None
    return data.get("rules", []), data.get("api_key"), data.get("models")


def _watch_parent(ppid: int) -> None:
    """Exit when the process that started us is gone (no orphan servers after a crashed test run)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Scripted OpenAI-compatible server for tests and dry runs.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script", help="JSON rules file")
    ap.add_argument("--api-key", default=os.environ.get("FAKE_LLM_API_KEY"), help="require this bearer key (401 otherwise)")
    ap.add_argument("--models", help="comma-separated model names to accept (others get 404)")
    ap.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process dies")
    args = ap.parse_args(argv)
    try:
        rules, key, models = load_script(args.script)
        state = State(rules, args.api_key or key, args.models.split(",") if args.models else models)
    except (OSError, ValueError, re.error) as exc:
        sys.exit(f"fake_server: cannot load script {args.script}: {exc}")
    server = FakeServer((args.host, args.port), state)
    print(server.base_url, flush=True)
    if args.exit_with_parent:
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
