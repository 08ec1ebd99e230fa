"""GarmentAnalyzer: mask, category and landmarks of a garment product photo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import GarmentError
from tryon.garment.segmentation import U2NetSession, colour_mask, refine_on_plain_background
from tryon.garment.shape import GarmentLandmarks, detect_category, landmarks
from tryon.imageio import ImageSource, load_image
from tryon.person.segmentation import largest_components


@dataclass
class GarmentAnalysis:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    mask: np.ndarray  # (H, W) uint8, 255 = garment
    category: Category
    category_confidence: float  # 1.0 when the user gave the category
    landmarks: GarmentLandmarks
    timings: dict[str, float] = field(default_factory=dict)


class GarmentAnalyzer:
    def __init__(self, model_path: str | None = None):
        self.u2net = U2NetSession(model_path)

    def mask(self, image: np.ndarray) -> np.ndarray:
        """Garment mask (uint8, 255 = garment) of an RGB product photo."""
        mask = colour_mask(image)  # exact and fast on clean product shots
        if mask is None:
            mask = largest_components(refine_on_plain_background(image, self.u2net(image)), min_share=0.1)
        return mask.astype(np.uint8) * 255

    def analyze(self, source: ImageSource, category: Category | str | None = None) -> GarmentAnalysis:
        image = load_image(source)
        t0 = time.perf_counter()
        mask = self.mask(image)
        t1 = time.perf_counter()
        share = (mask > 0).mean()
        if share < 0.02:
            raise GarmentError("no garment outline found in the garment photo")
        if share > 0.97:
            raise GarmentError("the garment fills the whole photo: no clear outline (use a product shot)")
        guess, confidence = detect_category(mask > 0)
        if category is not None and str(category).lower() != "auto":
            chosen, confidence = Category.parse(category), 1.0
        else:
            chosen = guess
        marks = landmarks(mask > 0, chosen)
        t2 = time.perf_counter()
        return GarmentAnalysis(image, mask, chosen, confidence, marks,
                               {"mask": t1 - t0, "shape": t2 - t1, "total": t2 - t0})


def cutout(analysis: GarmentAnalysis, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """The garment on a plain background (for pictures and previews)."""
    alpha = cv2.GaussianBlur(analysis.mask, (3, 3), 0).astype(np.float32)[..., None] / 255
    return (analysis.image * alpha + np.array(background, np.float32) * (1 - alpha)).astype(np.uint8)
