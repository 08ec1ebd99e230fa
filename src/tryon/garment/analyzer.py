"""GarmentAnalyzer: mask, category and landmarks of a garment product photo (or of the garment cut
out of a photo of someone wearing it: tryon.garment.worn)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import GarmentError
from tryon.garment.segmentation import U2NetSession, colour_mask, refine_on_plain_background
from tryon.garment.shape import GarmentLandmarks, detect_category, landmarks
from tryon.garment.worn import WearerCheck, WornParams, worn_garment
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
    #: The on-model photo the garment was cut out of (``image`` is then the cut-out on white); None
    #: for a product shot. Engines trained on on-model garment photos (fashn) may prefer it.
    worn_photo: np.ndarray | None = None


class GarmentAnalyzer:
    """Not thread-safe (one per worker).

    ``persons``: a callable giving the caller's person analyser, shared for the photos that show
    someone wearing the garment (else one is loaded when the first such photo comes).
    ``worn=False`` skips that check: product shots only, about 60 ms less per photo.
    ``threads``: the segmentation network's (default: onnxruntime's, one per core)."""

    def __init__(self, model_path: str | None = None, persons=None, worn: bool = True,
                 worn_params: WornParams = WornParams(), threads: int | None = None):
        self.u2net = U2NetSession(model_path, threads)
        self.wearers = WearerCheck(persons, worn_params) if worn else None
        self.worn_params = worn_params

    def mask(self, image: np.ndarray) -> np.ndarray:
        """Garment mask (uint8, 255 = garment) of an RGB product photo."""
        mask = colour_mask(image)  # exact and fast on clean product shots
        if mask is None:
            mask = largest_components(refine_on_plain_background(image, self.u2net(image)), min_share=0.1)
        return mask.astype(np.uint8) * 255

    def analyze(self, source: ImageSource, category: Category | str | None = None) -> GarmentAnalysis:
        image = load_image(source)
        given = None if category is None or str(category).lower() == "auto" else Category.parse(category)
        t0 = time.perf_counter()
        wearer = self.wearers(image) if self.wearers is not None else None
        t1 = time.perf_counter()
        if wearer is not None:
            lay = worn_garment(wearer, given, self.worn_params)
            worn_photo, image, mask = image, lay.image, lay.mask
            guess, confidence = lay.category, 1.0  # from the parse of the wearer
        else:
            worn_photo, mask = None, self.mask(image)
            share = (mask > 0).mean()
            if share < 0.02:
                raise GarmentError("no garment outline found in the garment photo")
            if share > 0.97:
                raise GarmentError("the garment fills the whole photo: no clear outline (use a product shot)")
            guess, confidence = detect_category(mask > 0)
        t2 = time.perf_counter()
        chosen, confidence = (given, 1.0) if given is not None else (guess, confidence)
        marks = landmarks(mask > 0, chosen)
        t3 = time.perf_counter()
        return GarmentAnalysis(image, mask, chosen, confidence, marks,
                               {"worn": t1 - t0, "mask": t2 - t1, "shape": t3 - t2, "total": t3 - t0}, worn_photo)

    def close(self) -> None:
        if self.wearers is not None:
            self.wearers.close()


def cutout(analysis: GarmentAnalysis, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """The garment on a plain background (for pictures and previews)."""
    alpha = cv2.GaussianBlur(analysis.mask, (3, 3), 0).astype(np.float32)[..., None] / 255
    return (analysis.image * alpha + np.array(background, np.float32) * (1 - alpha)).astype(np.uint8)
