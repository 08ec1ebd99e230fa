"""The default engine: geometric warping and compositing on the CPU, nothing to download."""

from __future__ import annotations

import time

import cv2
import numpy as np

from tryon.category import Category
from tryon.engines.base import Engine, LazyAnalysers, TryOnResult, prepare_person
from tryon.engines.warp import WarpOptions
from tryon.engines.warp.compose import ComposeOptions, compose
from tryon.engines.warp.fit import Body, fit_garment, flatten
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.imageio import ImageSource, load_image, shrink_to
from tryon.person.agnostic import protected, worn_waist
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.keypoints import Keypoints


class WarpEngine(LazyAnalysers, Engine):
    """Moves the real garment pixels onto the body, part by part, and composites them."""

    name = "warp"

    def __init__(self, options: WarpOptions | None = None, person_analyzer: PersonAnalyzer | None = None,
                 garment_analyzer: GarmentAnalyzer | None = None):
        self.options = options or WarpOptions()
        self._persons = person_analyzer
        self._garments = garment_analyzer

    def run(self, person: ImageSource, garment: ImageSource | None, category: Category | str = "auto", *,
            mask: ImageSource | np.ndarray | None = None, keypoints: str | dict | Keypoints | None = None,
            garment_analysis: GarmentAnalysis | None = None, person_analysis: PersonAnalysis | None = None,
            options: dict | None = None) -> TryOnResult:
        o = self.options_for(options)
        t0 = time.perf_counter()
        prepared = prepare_person(person, mask, keypoints)
        image, user_mask, kp = prepared.image, prepared.user_mask, prepared.keypoints
        h, w = image.shape[:2]
        timings: dict[str, float] = {}

        # A garment is never drawn larger than the person photo: more pixels only cost time.
        g = garment_analysis or self.garments.analyze(
            shrink_to(load_image(garment), max(h, w)), None if str(category).lower() == "auto" else category)
        timings["garment"] = time.perf_counter() - t0
        t = time.perf_counter()
        p = person_analysis or self.persons.analyze(image, keypoints=kp)
        timings["person"] = time.perf_counter() - t

        t = time.perf_counter()
        region = user_mask if user_mask is not None else p.agnostic_mask(g.category) > 0
        readable = ~user_mask if user_mask is not None else np.ones((h, w), bool)
        waist = worn_waist(p.parse, p.keypoints) if g.category == Category.LOWER else None
        layers = fit_garment(g, Body(p.keypoints, waist), (w, h))
        timings["warp"] = time.perf_counter() - t

        t = time.perf_counter()
        rgb, alpha = flatten(layers)
        if user_mask is None:
            # A garment longer or wider than the worn one reaches past the computed mask: that
            # part joins the region (never the face, hair, hands or the other garment).
            grow = cv2.dilate((alpha > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            region = region | (grow & ~protected(p.parse, p.keypoints, g.category))
        out = compose(image, region, readable, layers, p.parse, p.keypoints, g.category,
                      ComposeOptions(shading=o.shading, wrinkles=o.wrinkles), p.face)
        timings["compose"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        return TryOnResult(out, g.category, region.astype(np.uint8) * 255, timings,
                           {"warped-garment": rgb, "warped-mask": (alpha > 0.5).astype(np.uint8) * 255})

    def close(self) -> None:
        self.close_analysers()
