"""Per-pixel colour arithmetic shared by the pipeline's stages (distances, CIELAB)."""

from __future__ import annotations

import cv2
import numpy as np

_SUM = np.ones((1, 3), np.float32)
_MEAN = np.full((1, 3), 1 / 3, np.float32)


def colour_distance(image: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance (H, W) float32 between an image and a colour or a second image.

    In OpenCV's vectorised float32 arithmetic: ``np.linalg.norm`` over the colour axis costs
    three times as much on a product photo, and this runs on every try-on.
    """
    if image.size == 0:
        return np.zeros(image.shape[:2], np.float32)
    d = image.astype(np.float32)
    other = np.asarray(other, np.float32)
    if other.ndim == 1:
        d = cv2.subtract(d, (*other.tolist(), 0.0))
    else:
        d = cv2.subtract(d, other)
    return cv2.sqrt(cv2.transform(cv2.multiply(d, d), _SUM))


def channel_mean(image: np.ndarray) -> np.ndarray:
    """The mean of an (H, W, 3) image's channels, (H, W) float32: a grey level.

    As one OpenCV transform: numpy's ``mean(axis=2)`` reduces along an axis of three, and takes
    four times as long on a try-on's crop.
    """
    if image.size == 0:
        return np.zeros(image.shape[:2], np.float32)
    return cv2.transform(np.ascontiguousarray(image, np.float32), _MEAN)


def to_lab(pixels: np.ndarray) -> np.ndarray:
    """RGB (..., 3; 0-255, any dtype, clipped) -> CIELAB (D65) float64 of the same shape, L in [0, 100]."""
    flat = np.clip(pixels, 0, 255).reshape(-1, 1, 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(pixels.shape).astype(np.float64)
