"""Smooth fills from known pixels: the background behind a removed garment, the colours just
outside a garment's outline."""

from __future__ import annotations

import cv2
import numpy as np


def push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill unknown pixels (float image, one channel or several) smoothly from known ones: masked
    averages down a pyramid, then back up."""
    per_pixel = (lambda m: m) if image.ndim == 2 else (lambda m: m[..., None])
    if min(known.shape) <= 2 or known.all():
        if not known.any():
            return image
        mean = image[known].mean(axis=0)
        return np.where(per_pixel(known), image, mean)
    h, w = known.shape
    half = (max(1, w // 2), max(1, h // 2))
    weight = known.astype(np.float32)
    num = cv2.resize(image * per_pixel(weight), half, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weight, half, interpolation=cv2.INTER_AREA)
    small = num / per_pixel(np.maximum(den, 1e-6))
    filled = push_pull(small, den > 1e-6)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(per_pixel(known), image, up)


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


def _run_distances(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, how far along its row the nearest known pixel lies to the left and to the right
    (0 on a known pixel; more than the row's width where there is none)."""
    w = known.shape[1]
    cols = np.arange(w)[None, :]
    far = 2 * w + 2
    left = cols - np.maximum.accumulate(np.where(known, cols, -far), axis=1)
    right = np.minimum.accumulate(np.where(known, cols, far)[:, ::-1], axis=1)[:, ::-1] - cols
    return left, right


def mirrored_detail(image: np.ndarray, known: np.ndarray, wanted: np.ndarray, sigma: float,
                    reach: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Fine detail for the ``wanted`` pixels (unknown ones) of ``image``: the known pixels' own
    detail (the image less its ``sigma``-blurred known average), mirrored across the nearest known
    pixel of the row on either side and cross-faded between the two by distance, fading out to
    none at ``reach`` pixels from them. Returned as the wanted pixels' (rows, columns) and their
    detail (N x 3, float32); only those pixels' rows are worked on.

    A smooth fill reads as a blur where the photo has grain or texture (grass, pavement, a
    mottled backdrop, a flag's stripes): mirrored, it runs on into the hole without a seam.
    """
    wanted = wanted & ~known
    ys, xs = np.nonzero(wanted)
    if not len(ys):
        return (ys, xs), np.zeros((0, 3), np.float32)
    h, w = known.shape
    y0, y1 = ys.min(), ys.max() + 1
    x0, x1 = max(0, xs.min() - 2 * reach), min(w, xs.max() + 2 * reach + 1)
    crop = image[y0:y1, x0:x1]
    seen = known[y0:y1, x0:x1]
    # The known average, blurred at a quarter of the size: it is smooth.
    small = (max(1, (x1 - x0) // 4), max(1, (y1 - y0) // 4))
    masked = cv2.bitwise_and(crop, crop, mask=seen.astype(np.uint8))
    num = cv2.GaussianBlur(cv2.resize(masked, small, interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), sigma / 4)
    den = cv2.GaussianBlur(cv2.resize(seen.astype(np.float32), small, interpolation=cv2.INTER_AREA), (0, 0), sigma / 4)
    low = cv2.resize(num / np.maximum(den, 1e-3)[..., None], (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    left, right = _run_distances(seen)
    r, c = ys - y0, xs - x0
    dl, dr = left[r, c], right[r, c]
    out = np.zeros((len(r), 3), np.float32)
    for dist, other, step in ((dl, dr, -1), (dr, dl, 1)):
        # Pixel x mirrored across the known pixel at x + step * dist: x + step * (2 dist - 1).
        src = c + step * (2 * dist - 1)
        ok = (dist <= reach) & (src >= 0) & (src < x1 - x0)
        src = np.clip(src, 0, x1 - x0 - 1)
        ok &= seen[r, src]
        share = np.where(ok, other * np.clip(1.0 - dist / reach, 0.0, 1.0), 0.0).astype(np.float32)
        out += (crop[r, src] - low[r, src]) * share[:, None]
    out /= np.maximum(dl + dr, 1).astype(np.float32)[:, None]
    return (ys, xs), out

