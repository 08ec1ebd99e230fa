"""Quiet start-up of native libraries (MediaPipe / TensorFlow Lite print to the C-level stderr)."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

# mediapipe 0.10.14 calls a protobuf API that newer protobuf marks deprecated, on every frame; the
# warning is for mediapipe's authors, not for our users or a server's logs.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


@contextlib.contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for the duration (only around model loading)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by pytest)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
