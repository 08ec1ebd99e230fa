"""Smooth fills from known pixels: the background behind a removed garment, the colours just
outside a garment's outline."""

from __future__ import annotations

import cv2
import numpy as np


def push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill unknown pixels (float image) smoothly from known ones: masked averages down a
    pyramid, then back up."""
    if min(known.shape) <= 2 or known.all():
        if not known.any():
            return image
        mean = image[known].mean(axis=0)
        return np.where(known[..., None], image, mean)
    h, w = known.shape
    half = (max(1, w // 2), max(1, h // 2))
    weight = known.astype(np.float32)
    num = cv2.resize(image * weight[..., None], half, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weight, half, interpolation=cv2.INTER_AREA)
    small = num / np.maximum(den, 1e-6)[..., None]
    filled = push_pull(small, den > 1e-6)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(known[..., None], image, up)


def decontaminate(image: np.ndarray, mask: np.ndarray, rim: int) -> np.ndarray:
    """The garment photo with its outline's rim (``rim`` pixels inside the mask) and everything
    outside recoloured from the garment's interior.

    Outline pixels of a product photo are part garment, part backdrop: warped and blended, they
    draw a pale (or dark) halo around the garment on the person. Coverage still comes from the
    mask; only the colours under the soft edge change.
    """
    ys, xs = np.nonzero(mask)
    if len(ys) == 0 or rim < 1:
        return image
    h, w = mask.shape
    m = 2 * rim + 2
    y0, y1, x0, x1 = max(0, ys.min() - m), min(h, ys.max() + m + 1), max(0, xs.min() - m), min(w, xs.max() + m + 1)
    box = (slice(y0, y1), slice(x0, x1))
    core = cv2.erode(mask[box].astype(np.uint8), np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)) > 0
    if core.sum() < 0.2 * mask[box].sum():
        return image  # a garment this thin has no interior to draw from
    out = image.copy()
    out[box] = np.clip(push_pull(image[box].astype(np.float32), core) + 0.5, 0, 255).astype(np.uint8)
    return out
