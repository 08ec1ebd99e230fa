"""Blur faces in a picture, so try-on results can be stored or shared without identities."""

from __future__ import annotations

import cv2
import numpy as np


def blur_face(image: np.ndarray, box: tuple[int, int, int, int], grow: float = 1.35) -> np.ndarray:
    """The image with a feathered, strong blur over the face box (grown to take in hair line and chin).

    The blur radius follows the face size, so the face is unrecognisable at any resolution; the
    ellipse's soft edge keeps the picture from looking cut.
    """
    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax, ay = max(2.0, (x1 - x0) * grow / 2), max(2.0, (y1 - y0) * grow / 2)
    pad = int(max(ax, ay) * 0.4) + 2
    bx0, by0 = max(0, int(cx - ax) - pad), max(0, int(cy - ay) - pad)
    bx1, by1 = min(w, int(cx + ax) + pad + 1), min(h, int(cy + ay) + pad + 1)
    if bx1 <= bx0 or by1 <= by0:
        return image.copy()
    patch = image[by0:by1, bx0:bx1].astype(np.float32)
    sigma = max(2.0, (x1 - x0) / 6)
    blurred = cv2.GaussianBlur(patch, (0, 0), sigma)
    weight = np.zeros(patch.shape[:2], np.float32)
    cv2.ellipse(weight, (int(cx - bx0), int(cy - by0)), (int(ax), int(ay)), 0, 0, 360, 1.0, -1)
    weight = cv2.GaussianBlur(weight, (0, 0), max(1.0, pad / 3))[..., None]
    out = image.copy()
    out[by0:by1, bx0:bx1] = np.clip(patch * (1 - weight) + blurred * weight + 0.5, 0, 255).astype(np.uint8)
    return out
