"""Quiet start-up of native libraries (MediaPipe / TensorFlow Lite print to the C-level stderr)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings

# mediapipe 0.10.14 calls a protobuf API that newer protobuf marks deprecated, on every frame; the
# warning is for mediapipe's authors, not for our users or a server's logs.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


_lock = threading.Lock()
_depth = 0  # quiet_stderr contexts open, across threads
_saved: int | None = None  # the real stderr while they are


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for the duration (only around model loading).

    Threads loading models at once (a server's workers) share one redirection: the first in sends
    fd 2 away, the last out restores it. Each saving and restoring on its own would, interleaved,
    restore /dev/null last, and every later line on stderr (the service's log) would be lost."""
    global _depth, _saved
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by pytest)
        yield
        return
    with _lock:
        if _depth == 0:
            sys.stderr.flush()
            _saved = os.dup(fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                sys.stderr.flush()
                os.dup2(_saved, fd)
                os.close(_saved)
                _saved = None
