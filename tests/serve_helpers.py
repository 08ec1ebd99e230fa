"""Helpers shared by the service tests: an app with its models loaded, photos as upload bytes."""

from __future__ import annotations

import time
from contextlib import contextmanager

from fastapi.testclient import TestClient

from tryon.serve.app import create_app
from tryon.serve.settings import ServeSettings


@contextmanager
def running_app(**settings):
    """A TestClient on an app whose models have loaded (``/readyz`` answers 200)."""
    app = create_app(ServeSettings(**settings))
    with TestClient(app) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert app.state.tryon["error"] is None, app.state.tryon["error"]
            assert time.monotonic() < deadline, "the service did not become ready in 120 s"
            time.sleep(0.1)
        yield client, app.state.tryon["service"]
