"""Temporal smoothing of keypoints on a video stream, so a garment does not jitter on a still body.

The One-Euro filter (Casiez et al., CHI 2012) low-passes each coordinate with a cut-off that rises
with speed: strong smoothing when the body is still (no jitter), little when it moves (no lag).
"""

from __future__ import annotations

import math

import numpy as np

from tryon.person.keypoints import Keypoints


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2 * math.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class KeypointSmoother:
    """One-Euro filter over BODY_25 keypoints; joints that vanish and come back start afresh.

    ``min_cutoff`` (Hz) sets the smoothing of a still body, ``beta`` how fast the cut-off rises with
    speed (per pixel per second, scaled to the image height so it works at any frame size).
    """

    def __init__(self, min_cutoff: float = 0.3, beta: float = 0.05, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._xy: np.ndarray | None = None
        self._dxy: np.ndarray | None = None
        self._seen: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._xy = self._dxy = self._seen = self._t = None

    def __call__(self, kp: Keypoints, t: float) -> Keypoints:
        """The smoothed keypoints of the frame taken at time ``t`` (seconds, increasing)."""
        xy = kp.xy.astype(np.float64)
        seen = kp.confidence > 0
        if self._xy is None or self._t is None or t <= self._t or self._xy.shape != xy.shape:
            self._xy, self._dxy, self._seen, self._t = xy.copy(), np.zeros_like(xy), seen.copy(), t
            return kp
        dt = t - self._t
        scale = float(kp.height)
        fresh = seen & ~self._seen  # joints that were not seen last frame start from their new place
        dxy = (xy - self._xy) / dt
        a_d = _alpha(self.d_cutoff, dt)
        self._dxy = a_d * dxy + (1 - a_d) * self._dxy
        speed = np.linalg.norm(self._dxy, axis=1, keepdims=True) / scale
        a = _alpha(self.min_cutoff + self.beta * speed * 100, dt)
        smoothed = a * xy + (1 - a) * self._xy
        smoothed[fresh] = xy[fresh]
        self._dxy[fresh] = 0
        self._xy = np.where(seen[:, None], smoothed, self._xy)
        self._seen, self._t = seen, t
        out = kp.xy.copy()
        out[seen] = self._xy[seen].astype(np.float32)
        return Keypoints(out, kp.confidence.copy(), kp.width, kp.height)
