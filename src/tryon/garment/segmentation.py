"""Garment mask from a product photo: U^2-Net (u2netp) with a plain-background refinement."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from tryon import assets
from tryon.colour import colour_distance
from tryon.person.segmentation import components_in

#: Colour distance (RGB) from a plain background above which a pixel belongs to the garment;
#: on a digitally cleaned background (no noise at all) a much smaller difference is already real.
THRESHOLD = 20.0
CLEAN_THRESHOLD = 6.0
#: On a noise-free background, the largest difference from its colour that is still background.
EXACT = 2.5
#: Largest share of the pixels that differ from a plain background that may lie apart from the
#: garment's outline in the colour test. More means the test saw a print or a logo, not the garment
#: around it (a white tee on a light background): 0.01 at most on the tuning half's product photos
#: whose colour mask is right, 0.23 and 0.31 on two whose mask was a print alone.
MAX_APART = 0.05


def _threshold(spread: float) -> float:
    return CLEAN_THRESHOLD if spread < 1.0 else max(THRESHOLD, 2.5 * spread)

_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


class U2NetSession:
    """One onnxruntime session of u2netp (salient-object segmentation, 320x320 input)."""

    size = 320

    def __init__(self, model_path: str | None = None, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        path = model_path or str(assets.fetch("u2netp.onnx"))
        self._session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Soft foreground probability (H, W) float32 in 0..1."""
        h, w = image.shape[:2]
        small = np.asarray(Image.fromarray(image).resize((self.size, self.size), Image.LANCZOS), np.float32)
        small = (small / max(float(small.max()), 1.0) - _MEAN) / _STD
        out = self._session.run(None, {self._input: small.transpose(2, 0, 1)[None]})[0][0, 0]
        lo, hi = float(out.min()), float(out.max())
        prob = (out - lo) / max(hi - lo, 1e-6)
        return cv2.resize(prob.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def border_background(image: np.ndarray, ring: int = 4) -> tuple[np.ndarray, float] | None:
    """Colour of a plain background (median of the border) and its spread, or None if not plain."""
    border = np.concatenate([image[:ring].reshape(-1, 3), image[-ring:].reshape(-1, 3),
                             image[:, :ring].reshape(-1, 3), image[:, -ring:].reshape(-1, 3)]).astype(np.float32)
    colour = np.median(border, axis=0)
    dist = np.linalg.norm(border - colour, axis=1)
    # Plain when nearly all of the border is one colour (a product shot, not a scene).
    if np.mean(dist < 20) < 0.9:
        return None
    return colour, float(np.percentile(dist, 95))


def colour_mask(image: np.ndarray) -> np.ndarray | None:
    """The garment on a plain background by colour difference alone, or None when that is not
    trustworthy: no plain background, or background-like colour inside the outline (a white
    garment or print on white), where only a learned model can tell garment from background."""
    bg = border_background(image)
    if bg is None:
        return None
    colour, spread = bg
    differs = colour_distance(image, colour) > _threshold(spread)
    differs = cv2.morphologyEx(differs.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(differs.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = fill_holes(labels == main)
    if mask.mean() < 0.02 or (mask & ~differs).sum() > 0.02 * mask.sum():
        return None
    if (differs & ~mask).sum() > MAX_APART * differs.sum():
        return None
    # A garment is a compact shape; a thin sliver means the colour test saw only a shadow.
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    if mask.sum() < 0.5 * max(hull, 1.0):
        return None
    return mask


def refine_on_plain_background(image: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Binary mask: on a plain background the exact outline comes from the colour difference,
    while U^2-Net's coarse mask decides what is garment where colours match (white on white)."""
    coarse = prob > 0.5
    bg = border_background(image)
    if bg is None:
        return coarse
    colour, spread = bg
    diff = colour_distance(image, colour)
    differs = diff > _threshold(spread)
    # Near U^2-Net's outline trust the colour test; far inside trust U^2-Net (a white garment on
    # white would otherwise be hollow); far outside, only clear colour differences joined to it count.
    k = max(3, int(0.02 * max(image.shape[:2])))
    inner = cv2.erode(coarse.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    outer = cv2.dilate(coarse.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)).astype(bool)
    # Background seen through the garment's gaps (between a sleeve and the body) is joined to the
    # border by background-coloured pixels; U^2-Net often fills those gaps. Remove them, unless
    # the flood leaks into the garment itself (a white garment with a broken outline).
    outside = _border_connected(~differs)
    faint = False
    if spread < 1.0:
        # A faint garment (a white tee on white) differs from the background by less than the
        # threshold, and the flood runs into it. A noise-free background is exactly its colour
        # (up to JPEG rounding): a flood through only that colour stops at the garment's outline
        # (its small gaps closed first). When that keeps much more garment, the first flood leaked;
        # otherwise the first one stays, which also takes away the light halo of a cut-out.
        solid = cv2.morphologyEx((diff > EXACT).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        tight = _border_connected(solid == 0)
        faint = (~tight).sum() > 1.3 * (~outside).sum()
        if faint:
            outside = tight
    if (outside & inner).sum() > 0.1 * max(inner.sum(), 1):
        outside &= ~inner
    if faint:
        mask = ~outside  # all the tight flood does not reach, also where U^2-Net missed the garment
    else:
        # On a noise-free (digitally cleaned) background any difference is real, also where
        # U^2-Net missed part of a garment.
        near = np.ones_like(outer) if spread < 1.0 else outer
        mask = (inner | (near & differs)) & ~outside
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    return fill_holes(mask)


def _border_connected(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` connected to the image border."""
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge = edge[edge > 0]
    return components_in(labels, edge)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed holes (a garment has none seen from the front, except what the border touches)."""
    h, w = mask.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flood[1:-1, 1:-1] = mask.astype(np.uint8)
    cv2.floodFill(flood, None, (0, 0), 2)
    return (flood[1:-1, 1:-1] != 2)
