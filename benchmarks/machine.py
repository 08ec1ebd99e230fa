"""A fixed CPU workload timed in the benchmark's own process, so that a speed measured on one day can
be compared with another day's: this project's machines ran the same try-on code 2x slower on
2026-11-29 than on 2026-11-22. Benchmarks print their times as a ratio to it beside the seconds.

The workload is the kind of work a warp try-on does on one 768x1024 photo (OpenCV filters, resizing,
a distance transform, colour conversion, NumPy arithmetic), on fixed pseudo-random data.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

#: Times the workload runs; its median is the reference.
RUNS = 7


def _workload(image: np.ndarray, mask: np.ndarray) -> float:
    blurred = cv2.GaussianBlur(image, (0, 0), 3.0)
    small = cv2.resize(blurred, (384, 512), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    far = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    grown = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    mixed = image.astype(np.float32) * (far[..., None] / max(float(far.max()), 1.0))
    return float(lab.mean() + mixed.mean() + grown.mean())


def reference_seconds(runs: int = RUNS) -> float:
    """Median seconds of the reference workload in this process, now."""
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 256, (1024, 768, 3), dtype=np.uint8), (0, 0), 1.0)
    mask = np.zeros((1024, 768), np.uint8)
    cv2.ellipse(mask, (384, 512), (250, 400), 0, 0, 360, 1, -1)
    _workload(image, mask)  # warm caches and OpenCV's thread pool
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        _workload(image, mask)
        times.append(time.perf_counter() - t)
    return float(np.median(times))
