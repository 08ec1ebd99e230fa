"""Garment shape: category from the silhouette, and landmarks for the warping engine.

A product photo shows the garment flat and upright. Its silhouette says what it is: trousers
have a gap between the legs that opens at the bottom; tops are about as tall as wide with
sleeves sticking out at the top; dresses are tall and widen towards the hem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.category import Category


@dataclass
class ShapeFeatures:
    aspect: float  # bbox height / width
    leg_gap: float  # share of the bottom 30 % of rows with background at the centre between two parts
    top_width: float  # width at 15 % height / max width
    waist_width: float  # width at 50 % height / max width
    hem_width: float  # width at 90 % height / max width
    fill: float  # mask area / bbox area


def _row_extent(mask: np.ndarray, y: int) -> tuple[int, int, int]:
    xs = np.nonzero(mask[y])[0]
    if len(xs) == 0:
        return 0, 0, 0
    return int(xs.min()), int(xs.max()), len(xs)


def shape_features(mask: np.ndarray) -> ShapeFeatures:
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    h, w = y1 - y0 + 1, x1 - x0 + 1
    crop = mask[y0:y1 + 1, x0:x1 + 1]

    def width_at(f: float) -> float:
        lo, hi, _ = _row_extent(crop, min(h - 1, int(f * h)))
        return (hi - lo + 1) / w if hi > lo else 0.0

    gap_rows = 0
    rows = range(int(0.7 * h), h)
    for y in rows:
        line = crop[y]
        idx = np.nonzero(line)[0]
        if len(idx) < 2:
            continue
        # Background between the leftmost and rightmost garment pixels, near the centre.
        inner = line[idx.min():idx.max() + 1]
        centre = len(inner) // 2
        band = inner[max(0, centre - len(inner) // 6): centre + len(inner) // 6 + 1]
        gap_rows += int((~band).any())
    return ShapeFeatures(
        aspect=h / w,
        leg_gap=gap_rows / max(len(rows), 1),
        top_width=width_at(0.15),
        waist_width=width_at(0.5),
        hem_width=width_at(0.9),
        fill=float(crop.mean()),
    )


def detect_category(mask: np.ndarray) -> tuple[Category, float]:
    """Category and a confidence in 0..1 from the silhouette alone."""
    f = shape_features(mask)
    if f.leg_gap > 0.5 and f.aspect > 0.9:
        return Category.LOWER, min(1.0, f.leg_gap)
    # A skirt: no sleeves, the top (waistband) narrower than the hem, not much taller than wide.
    if f.aspect < 1.45 and f.top_width < 0.8 and f.hem_width > 0.85 and f.top_width < f.hem_width - 0.15:
        return Category.LOWER, 0.6
    if f.aspect >= 1.45 and f.hem_width >= f.waist_width * 0.95:
        return Category.DRESS, min(1.0, 0.5 + (f.aspect - 1.45))
    return Category.UPPER, 0.7 if f.aspect < 1.3 else 0.5


@dataclass
class GarmentLandmarks:
    """Named points (x, y) in pixels of the product photo; absent points are not in the dict."""

    points: dict[str, tuple[float, float]]

    def get(self, name: str) -> np.ndarray | None:
        p = self.points.get(name)
        return None if p is None else np.asarray(p, np.float32)


def landmarks(mask: np.ndarray, category: Category) -> GarmentLandmarks:
    """Collar, shoulders, sleeve ends, hem corners (tops, dresses); waistband, hems, crotch (bottoms)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    h = y1 - y0 + 1
    cx = (x0 + x1) / 2
    pts: dict[str, tuple[float, float]] = {}

    def top_at(x: float) -> float:
        col = np.nonzero(mask[:, int(np.clip(x, 0, mask.shape[1] - 1))])[0]
        return float(col.min()) if len(col) else float(y0)

    def row(y: int) -> tuple[int, int, int]:
        return _row_extent(mask, int(np.clip(y, 0, mask.shape[0] - 1)))

    hem_y = y1 - max(1, h // 100)
    lo, hi, _ = row(hem_y)
    if category == Category.LOWER:
        top_y = y0 + max(1, h // 100)
        wl, wr, _ = row(top_y)
        pts["waist_left"], pts["waist_right"] = (float(wl), float(top_y)), (float(wr), float(top_y))
        pts["hem_left_outer"], pts["hem_right_outer"] = (float(lo), float(hem_y)), (float(hi), float(hem_y))
        # The crotch: the highest background pixel of the gap between the legs, if there is one.
        col = mask[:, int(cx)]
        gap = np.nonzero(~col[y0:y1 + 1])[0]
        if len(gap):
            pts["crotch"] = (cx, float(y0 + gap.min()))
        return GarmentLandmarks(pts)
    # Tops and dresses: the torso width is read at mid-height, below the sleeves.
    ml, mr, _ = row(y0 + int(0.6 * h)) if category == Category.UPPER else row(y0 + int(0.4 * h))
    half = max((mr - ml) / 2, 1.0)
    collar_band = [top_at(x) for x in np.linspace(cx - 0.3 * half, cx + 0.3 * half, 7)]
    pts["collar"] = (cx, float(max(collar_band)))  # the neckline dips below the shoulders
    for name, x in (("shoulder_left", cx - 0.9 * half), ("shoulder_right", cx + 0.9 * half)):
        pts[name] = (float(x), top_at(x))
    if (x1 - x0) > 2.4 * half:  # something sticks out beyond the torso: sleeves
        left_rows, right_rows = np.nonzero(mask[:, x0])[0], np.nonzero(mask[:, x1])[0]
        pts["sleeve_left"] = (float(x0), float(np.mean(left_rows)))
        pts["sleeve_right"] = (float(x1), float(np.mean(right_rows)))
    pts["hem_left"], pts["hem_right"] = (float(lo), float(hem_y)), (float(hi), float(hem_y))
    return GarmentLandmarks(pts)
