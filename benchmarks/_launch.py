"""Run a command and write its own resource usage: ``python -S _launch.py OUT.json -- CMD``.

Why a launcher: on Linux a child's ``ru_maxrss`` also counts the address space it had
between ``fork`` and ``exec``, which is its parent's. The benchmark process holds the
sandbox (hundreds of MiB), so every tool it starts directly would look at least that big
(a ``/bin/true`` started from a process of 600 MiB reports 613 MiB). This launcher is a
few MiB; a tool started from it is measured from there. Stdio, environment and working
directory pass through; the exit status is the command's.
"""

import json
import os
import subprocess
import sys


def main() -> int:
    out, separator, *cmd = sys.argv[1:]
    if separator != "--" or not cmd:
        print("usage: _launch.py OUT.json -- CMD [ARG ...]", file=sys.stderr)
        return 2
    try:
        proc = subprocess.Popen(cmd)
    except OSError as exc:  # not found, not executable: as a shell would say it
        print(f"_launch.py: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        return 127
    _, status, usage = os.wait4(proc.pid, 0)
    with open(out, "w") as f:
        json.dump(
            {
                "max_rss_kib": usage.ru_maxrss,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            },
            f,
        )
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main())
