"""`tryon serve` as a subprocess on a free local port, for the service benchmarks."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time

import httpx


@contextlib.contextmanager
def local_server(*flags: str, timeout_s: float = 120):
    """Yields (base URL, process) once /readyz answers 200; stops the server afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tryon.cli", "serve", "--port", str(port), *flags],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the server did not start")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=30)
