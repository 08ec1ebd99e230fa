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
    """The garment photo with its outline's rim (``rim`` pixels inside the mask, and one pixel
    beyond it) recoloured from the garment's interior.

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
    # Normalised convolution at half size (the average colour of the interior near each outline
    # pixel is smooth), read back only where the outline is.
    small = (max(1, (x1 - x0) // 2), max(1, (y1 - y0) // 2))
    crop = cv2.resize(image[box], small, interpolation=cv2.INTER_AREA).astype(np.float32)
    weight = cv2.resize(core.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    weight = (weight > 0.99).astype(np.float32)  # wholly interior
    num = cv2.GaussianBlur(crop * weight[..., None], (0, 0), max(1.0, rim / 2))
    den = cv2.GaussianBlur(weight, (0, 0), max(1.0, rim / 2))
    # Only the outline and a pixel beyond it are ever blended in.
    ys, xs = np.nonzero(cv2.dilate(mask[box].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~core)
    sy, sx = np.minimum(ys // 2, small[1] - 1), np.minimum(xs // 2, small[0] - 1)
    ok = den[sy, sx] > 1e-3
    fill = num[sy[ok], sx[ok]] / den[sy[ok], sx[ok]][:, None]
    out = image.copy()
    out[y0 + ys[ok], x0 + xs[ok]] = np.clip(fill + 0.5, 0, 255).astype(np.uint8)
    return out
