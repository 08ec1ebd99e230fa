"""FASHN VTON's image geometry: photos shrunk for pose detection, then fitted and padded to the
working size; the padding is remembered so the result can be cut back out.

Pixel-exact with the published preprocessing: sizes are truncated (``int``), not rounded; the
pre-resize uses PIL's Lanczos and never enlarges; the fit uses OpenCV, area averaging to shrink and
Lanczos-4 to enlarge (pose images are resized with exact nearest neighbour so that their grey levels,
which encode body parts, stay unmixed); padding is black and split evenly, the odd pixel going right
and bottom.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

#: The published working size (W, H).
MODEL_SIZE = (576, 864)
#: Interpolation for pose images: grey levels must not blend.
POSE_INTERPOLATION = cv2.INTER_NEAREST_EXACT


@dataclass(frozen=True)
class Padding:
    """Black borders added around the fitted image, in pixels."""

    left: int
    top: int
    right: int
    bottom: int


def _fit_scale(width: int, height: int, box_width: int, box_height: int) -> float:
    return min(box_width / width, box_height / height)


def pre_resize(image: np.ndarray, size: tuple[int, int] = MODEL_SIZE) -> np.ndarray:
    """Shrink an RGB uint8 photo to fit a square of the working size's longer side (never enlarge):
    pose detection and parsing then see what they would at the published size."""
    side = max(size)
    height, width = image.shape[:2]
    scale = _fit_scale(width, height, side, side)
    if scale >= 1.0:
        return image
    resized = Image.fromarray(image).resize((int(scale * width), int(scale * height)), Image.LANCZOS)
    return np.asarray(resized)


def resize_pad(image: np.ndarray, size: tuple[int, int] = MODEL_SIZE,
               interpolation: int | None = None) -> tuple[np.ndarray, Padding]:
    """Fit ``image`` (H, W[, C]) in ``size`` (W, H) keeping its aspect, then pad it to ``size``."""
    box_width, box_height = size
    height, width = image.shape[:2]
    scale = _fit_scale(width, height, box_width, box_height)
    if scale != 1.0:
        if interpolation is None:
            interpolation = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_AREA
        image = cv2.resize(image, (int(scale * width), int(scale * height)), interpolation=interpolation)
        height, width = image.shape[:2]
    dx, dy = max(box_width - width, 0), max(box_height - height, 0)
    padding = Padding(dx // 2, dy // 2, dx - dx // 2, dy - dy // 2)
    padded = cv2.copyMakeBorder(image, padding.top, padding.bottom, padding.left, padding.right,
                                cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return padded, padding


def unpad(image: np.ndarray, padding: Padding) -> np.ndarray:
    """The fitted image without its borders (H, W[, C])."""
    height, width = image.shape[:2]
    return image[padding.top: height - padding.bottom, padding.left: width - padding.right]
