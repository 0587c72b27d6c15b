"""Test hooks of the local Hub: users/tokens, a request log and injectable faults."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Fault:
    """Answer `status` instead of (mode "before") or after (mode "after") handling a matching request.

    Mode "after" applies the request and then fails it: the client sees an error although e.g. the
    commit exists, which is how a lost response looks on the real Hub.
    """

    method: str
    path_regex: str
    status: int
    times: int = 1
    retry_after: float | None = None
    mode: str = "before"
    message: str = "Injected fault"

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method.upper() in (method, "*") and re.search(self.path_regex, path) is not None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Fault:
        if d.get("mode", "before") not in ("before", "after"):
            raise ValueError("mode must be 'before' or 'after'")
        re.compile(d["path_regex"])
        return cls(
            method=str(d.get("method", "*")),
            path_regex=d["path_regex"],
            status=int(d["status"]),
            times=int(d.get("times", 1)),
            retry_after=d.get("retry_after"),
            mode=d.get("mode", "before"),
            message=str(d.get("message", "Injected fault")),
        )


@dataclass
class Admin:
    """Mutable test state shared by all request threads."""

    users: dict[str, str] = field(default_factory=dict)  # token -> user name
    orgs: dict[str, set[str]] = field(default_factory=dict)  # org -> members
    faults: list[Fault] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.matches(method, path):
                    f.times -= 1
                    return f
        return None

    def record(self, method: str, path: str, query: str, status: int, user: str | None, fault: bool) -> None:
        with self.lock:
            self.log.append({
                "i": len(self.log), "ts": time.time(), "method": method, "path": path, "query": query,
                "status": status, "user": user, "fault": fault,
            })

    def can_write(self, user: str | None, namespace: str) -> bool:
        """A user writes to their own namespace and to orgs they belong to; an org nobody
        declared is claimed by the first user who creates a repo in it."""
        if user is None:
            return False
        if namespace == user or user in self.orgs.get(namespace, set()):
            return True
        return False

    def claim_namespace(self, user: str, namespace: str) -> bool:
        with self.lock:
            if namespace in self.users.values() or namespace in self.orgs:
                return self.can_write(user, namespace)
            self.orgs[namespace] = {user}
            return True
