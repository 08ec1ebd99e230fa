"""Garment fidelity: is the garment on the person the garment the shop sells?

Two measures, both comparing the product photo's garment pixels (our garment mask) with the
try-on's garment region (our parse of the result):

- **Colour** (``delta_e``): each side's dominant colours (k-means in CIELAB, weighted by their
  share of the garment), matched to the nearest colour of the other side by CIEDE2000; the mean of
  both directions, weighted. 0 is the same palette; about 2 is a difference a shopper just notices;
  the light on a worn garment (folds, shadow) costs a few units even for a perfect try-on, which is
  why the paired setting also reports the ground-truth photo's own figure (``delta_e_truth``).
- **Print** (``print_kept``): the share of the product's local features (SIFT keypoints inside
  the garment) that find a distinctive match (Lowe's ratio test) in the try-on's garment: a print
  or a logo that survives keeps its features; blurred, replaced or mirrored ones lose them.
  None for garments with too few features to judge (plain fabric).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.cluster.vq import kmeans2

from tryon.category import Category
from tryon.colour import to_lab
from tryon.person.parsing import LOWER_GARMENT, UPPER_GARMENT

#: Parse labels that make the garment region of a result, per category.
REGION_LABELS = {
    Category.UPPER: tuple(int(x) for x in UPPER_GARMENT),
    Category.LOWER: tuple(int(x) for x in LOWER_GARMENT),
    Category.DRESS: tuple(int(x) for x in UPPER_GARMENT + LOWER_GARMENT),
}


@dataclass(frozen=True)
class FidelityParams:
    """The measures' settings, named so that a result's protocol can list them."""

    colours: int = 4  # dominant colours per side
    sample: int = 20_000  # pixels per side fed to k-means (evenly strided)
    starts: int = 8  # k-means starts per palette, the best kept
    erode: int = 5  # px taken off the garment's edge on both sides (halos, anti-aliasing)
    feature_height: int = 512  # both garments are scaled to this height before SIFT
    ratio: float = 0.8  # Lowe's ratio test
    min_features: int = 25  # below this many product features the print is not judged
    min_pixels: int = 400  # a garment region smaller than this cannot be measured


@dataclass(frozen=True)
class Fidelity:
    delta_e: float | None
    print_kept: float | None
    product_features: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {"delta_e": self.delta_e, "print_kept": self.print_kept, "product_features": self.product_features}


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal 2005) of Lab arrays (..., 3), broadcasting."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dL, dC = L2 - L1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    L_mean, cp_mean = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) > 180, np.where(h_sum < 360, h_sum + 360, h_sum - 360), h_sum) / 2
    h_mean = np.where(c1p * c2p == 0, h_sum, h_mean)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    s_l = 1 + 0.015 * (L_mean - 50) ** 2 / np.sqrt(20 + (L_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = (-2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
           * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2)))))
    return np.sqrt((dL / s_l) ** 2 + (dC / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dC / s_c) * (dH / s_h))


def palette(lab: np.ndarray, params: FidelityParams) -> tuple[np.ndarray, np.ndarray]:
    """Dominant colours (k, 3) and their shares (k,) of Lab pixels (N, 3); deterministic."""
    step = max(1, len(lab) // params.sample)
    data = lab[::step]
    k = min(params.colours, len(np.unique(data.round(1), axis=0)))
    # The best of several starts: one start's local optimum moved with a few pixels more or less
    # of the garment, and the distance with it by a whole unit of ΔE.
    runs = [kmeans2(data, k, minit="++", seed=np.random.default_rng(seed)) for seed in range(params.starts)]
    centres, labels = min(runs, key=lambda run: float(((data - run[0][run[1]]) ** 2).sum()))
    shares = np.bincount(labels, minlength=k).astype(np.float64)
    keep = shares > 0
    return centres[keep], shares[keep] / shares.sum()


def palette_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Symmetric share-weighted CIEDE2000 from each palette's colours to the other's nearest."""
    (ca, wa), (cb, wb) = a, b
    d = ciede2000(ca[:, None, :], cb[None, :, :])
    return float((wa @ d.min(axis=1) + wb @ d.min(axis=0)) / 2)


def _eroded(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.erode(mask.astype(np.uint8), kernel) > 0


def _features(image: np.ndarray, mask: np.ndarray, params: FidelityParams):
    """SIFT descriptors of the masked garment, its bounding box scaled to a common height."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = params.feature_height / (y1 - y0)
    size = (max(1, round((x1 - x0) * scale)), params.feature_height)
    grey = cv2.resize(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    m = cv2.resize(mask[y0:y1, x0:x1].astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST)
    _, desc = cv2.SIFT_create().detectAndCompute(grey, m)
    return desc if desc is not None else np.zeros((0, 128), np.float32)


def print_kept(product: np.ndarray, product_mask: np.ndarray, result: np.ndarray, region: np.ndarray,
               params: FidelityParams = FidelityParams()) -> tuple[float | None, int]:
    """(share of the product's features matched in the result, number of product features)."""
    theirs = _features(product, product_mask, params)
    if len(theirs) < params.min_features:
        return None, len(theirs)
    ours = _features(result, region, params)
    if len(ours) < 2:
        return 0.0, len(theirs)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(theirs, ours, k=2)
    good = sum(1 for m in pairs if len(m) == 2 and m[0].distance < params.ratio * m[1].distance)
    return good / len(theirs), len(theirs)


def garment_region(parse: np.ndarray, category: Category | str) -> np.ndarray:
    """The try-on's garment pixels: the parse labels of the garment's category."""
    return np.isin(parse, REGION_LABELS[Category.parse(category)])


def garment_fidelity(product: np.ndarray, product_mask: np.ndarray, result: np.ndarray, region: np.ndarray,
                     params: FidelityParams = FidelityParams()) -> Fidelity:
    """Colour and print fidelity of one try-on (``region``: its garment pixels) to the product photo."""
    product_px, result_px = _eroded(product_mask > 0, params.erode), _eroded(region, params.erode)
    if product_px.sum() < params.min_pixels or result_px.sum() < params.min_pixels:
        return Fidelity(None, None, 0)
    delta = palette_distance(palette(to_lab(product[product_px]), params), palette(to_lab(result[result_px]), params))
    kept, count = print_kept(product, product_px, result, result_px, params)
    return Fidelity(delta, kept, count)
