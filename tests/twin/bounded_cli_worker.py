"""A ``twin`` CLI worker under a memory limit, for tests that run many crafted inputs.

Run as ``python bounded_cli_worker.py LIMIT_BYTES CASE_SECONDS``. It sets
``RLIMIT_AS`` to LIMIT_BYTES, imports the CLI once, then reads one JSON request per line
on stdin: ``{"argv": [...], "files": {path: text}}`` (files written first) and answers
one JSON line: ``{"code", "stderr", "error", "seconds"}``. A case that runs past
CASE_SECONDS is stopped by an alarm (code -1); one that exhausts the memory limit gives
code -1 with the MemoryError. Not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from pathlib import Path


class _Alarm(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Alarm()


def main() -> None:
    limit, seconds = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from typer.testing import CliRunner

    from twin.cli import app

    signal.signal(signal.SIGALRM, _on_alarm)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        for path, text in request.get("files", {}).items():
            Path(path).write_text(text, encoding="utf-8")
        started = time.monotonic()
        signal.alarm(seconds)
        try:
            result = CliRunner().invoke(app, request["argv"])
            code, stderr = result.exit_code, result.stderr
            error = repr(result.exception) if code not in (0, 2) else ""
        except (_Alarm, MemoryError) as exc:
            code, stderr, error = -1, "", repr(exc)
        finally:
            signal.alarm(0)
        print(json.dumps({"code": code, "stderr": stderr[-4000:], "error": error[-2000:],
                          "seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    main()
