"""One JSON object per log line: what log collectors (Loki, CloudWatch, Elastic) index without parsing.

A record's structured fields travel in ``extra={"fields": {...}}``; a traceback, when there is one,
is the field ``traceback``. Request lines never hold image data: the service logs only the fields
it names (time, route, status, duration, engine, request id, error code).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import TextIO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_json_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the service's log (the ``tryon`` loggers) to ``stream`` as JSON lines; by default to a
    copy of stderr's file descriptor, which the silencing of native libraries while models load
    (``tryon.native.quiet_stderr``) does not touch: requests answered meanwhile are logged too."""
    if stream is None:
        try:
            stream = open(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")
        except (AttributeError, OSError, ValueError):  # no real stderr
            stream = sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tryon")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
