"""Worker processes end with the process that started them.

A pool worker blocked on a pipe outlives a SIGKILLed parent for ever: after `kill -9` of a dedup
run, both scan workers were found hung writing a result nobody would read. Called in the worker
(a pool `initializer`), `die_with_parent` asks Linux to SIGKILL it when its parent dies (prctl
PR_SET_PDEATHSIG); elsewhere it does nothing. SIGTERM/SIGHUP of the CLI need no help: the pools'
context managers stop their workers when the CLI unwinds (curation.cli.signals).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> None:
    """In a child: be sent `sig` when the parent dies; if `parent_pid` is given and is already
    gone (the parent died before this ran), end now."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)
