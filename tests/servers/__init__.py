"""Real servers the tests run as subprocesses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def model_server(*models: str) -> Iterator[str]:
    """``tests.servers.model_server`` on a free loopback port (with the named example models); its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "tests.servers.model_server", str(port)]
    if models:
        command += ["--models", ",".join(models)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
