"""The ``jirakit`` command's entry point.

Loading the command line takes about a second (Typer, rich, httpx, the client). A Ctrl-C
or SIGTERM in that second used to print a traceback from deep inside an import. Here the
two signals are taken before anything heavy is imported: they end the command with one
line and 130 / 143, as they do later; then Python's own handling is put back and the
commands handle signals as they need (the sync, for one, says what it committed)."""

from __future__ import annotations

import os
import signal
from types import FrameType


def _starting(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    line = f"Interrupted ({name}) while jirakit was starting: nothing was done.\n"
    os.write(2, line.encode())
    os._exit(128 + signum)  # nothing to clean up yet: no file or connection is open


def main() -> None:
    # A signal the parent chose to ignore (``nohup``, a shell's background job) stays
    # ignored; the others are Python's again once the command line is loaded.
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in before.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _starting)
    from jirakit.cli import main as command_line

    for sig, handler in before.items():
        if handler is not None:
            signal.signal(sig, handler)
    command_line()
