"""The CLI ends cleanly when it is told to stop, not only on Ctrl-C.

By default SIGTERM (kill, systemd, a CI timeout) and SIGHUP (the terminal was closed) end Python
at once: no `finally`, no `except BaseException`, so a release build leaves its staging folder and
`annotate serve` leaves Label Studio holding the port. Turned into `SystemExit` in the main
thread, they unwind like any error and every cleanup runs. A second signal during that cleanup
ends the process at once (the default handler is back). SIGKILL cannot be caught: servers the CLI
starts also ask the kernel to stop them when the CLI dies (see annotation.server), and leftovers
of a killed release build are removed by the next build.
"""

from __future__ import annotations

import signal
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_on_termination() -> None:
    """Install the handlers (main thread only); a signal the caller ignores (nohup) stays ignored."""
    for sig in SIGNALS:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit)


def _exit(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    raise SystemExit(128 + signum)
