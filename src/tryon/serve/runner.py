"""Run the service on uvicorn with a graceful shutdown.

On SIGTERM (what Kubernetes, systemd and Docker send) or Ctrl-C the server first drains: it keeps
listening, answers new requests 503 ``shutting_down`` (with ``Connection: close``) so a load
balancer moves them elsewhere at once rather than meeting a refused connection, and lets the
requests in flight finish. When none is left, or after the request deadline (no try-on runs
longer; an upload still trickling in by then is cut off), uvicorn shuts down: it closes the socket, waits up to :data:`CLOSE_S` for the last
connections, and the process exits 0. A second signal skips the wait.
"""

from __future__ import annotations

import time
from types import FrameType

import uvicorn

from tryon.serve.app import create_app
from tryon.serve.settings import ServeSettings

#: Seconds uvicorn waits for connections after draining, before it cancels what is left.
CLOSE_S = 5.0


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain before its own shutdown (see the module's docstring)."""

    def __init__(self, config: uvicorn.Config, drain_s: float):
        super().__init__(config)
        self.drain_s = drain_s
        self.traffic = config.app.state.traffic

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.traffic.draining_since is None:
            self.traffic.drain()  # the main loop's tick decides when to stop (on_tick)
        else:
            super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        since = self.traffic.draining_since
        if since is not None and (self.traffic.in_flight == 0 or time.monotonic() - since > self.drain_s):
            self.should_exit = True
        return await super().on_tick(counter)


def serve(settings: ServeSettings) -> None:
    """Serve until SIGTERM or Ctrl-C, then drain and exit (see the module's docstring)."""
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            ws_max_size=int(settings.max_upload_mb * 1024 * 1024),
                            timeout_graceful_shutdown=CLOSE_S)
    # The process exits within the deadline plus CLOSE_S: give the orchestrator's grace period more
    # (Kubernetes' terminationGracePeriodSeconds is 30 s by default; the deadline's default is 30 s).
    DrainingServer(config, drain_s=settings.deadline_s).run()
