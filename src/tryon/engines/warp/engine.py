"""The default engine: geometric warping and compositing on the CPU, nothing to download."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from tryon.category import Category
from tryon.engines.base import Engine, LazyAnalysers, TryOnResult, prepare_person
from tryon.engines.warp import WarpOptions
from tryon.engines.warp.compose import ComposeOptions, compose
from tryon.engines.warp.fit import Body, fit_garment, flatten
from tryon.engines.warp.mapping import Layer
from tryon.errors import OutfitError
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.imageio import ImageSource, load_image, shrink_to
from tryon.person.agnostic import protected, worn_waist
from tryon.person.analyzer import LocatedPerson, PersonAnalysis, PersonAnalyzer
from tryon.person.keypoints import Keypoints


#: The least longer side (pixels) a garment photo is analysed at, however small the person photo.
GARMENT_LEAST_SIDE = 512
#: A garment of which less than this share would show (the rest under what the try-on keeps: the
#: other garment, hands, hair) is refused: the picture would be the photo as it was. It happens
#: where the parse cannot tell a top from the trousers under it (black on black, down to the
#: frame's edge, the whole outfit "the top"). Of the evalset's other persons in trousers, the
#: least shown is 0.46 (hands folded over them below a long top).
LEAST_SHOWN = 0.2


class WarpEngine(LazyAnalysers, Engine):
    """Moves the real garment pixels onto the body, part by part, and composites them."""

    name = "warp"

    def __init__(self, options: WarpOptions | None = None, person_analyzer: PersonAnalyzer | None = None,
                 garment_analyzer: GarmentAnalyzer | None = None):
        self.options = options or WarpOptions()
        self._persons = person_analyzer
        self._garments = garment_analyzer
        self._worker: ThreadPoolExecutor | None = None

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
        auto = str(category).lower() == "auto"
        persons, garments = (self.persons if person_analysis is None else None,
                             self.garments if garment_analysis is None else None)

        def analyse_garment() -> GarmentAnalysis:
            t = time.perf_counter()
            # A garment is never drawn larger than the person photo: more pixels only cost time. But
            # it is looked at with at least GARMENT_LEAST_SIDE pixels: shrunk to a thumbnail-sized
            # person photo's 256, a hoodie's print of two hands was taken for a wearer's hands.
            side = max(h, w, GARMENT_LEAST_SIDE)
            g = garment_analysis or garments.analyze(shrink_to(load_image(garment), side), None if auto else category)
            timings["garment"] = time.perf_counter() - t
            return g

        def fit(g: GarmentAnalysis, body: Body) -> list[Layer]:
            t = time.perf_counter()
            layers = fit_garment(g, body, (w, h))
            timings["warp"] = time.perf_counter() - t
            return layers

        def fit_upper(located: LocatedPerson) -> list[Layer] | None:
            g = garment_job.result()
            if g.category == Category.LOWER:
                return None
            return fit(g, Body(located.keypoints, silhouette=located.pose_mask))

        # The pose model and the parse keep one core busy: the garment's analysis, then the fitting of
        # a garment that needs only the keypoints (not a lower one: it sits at the waist the parse
        # shows), run beside them on the other. Each MediaPipe model takes one image at a time, so a
        # garment photo worn by a model waits its turn at them.
        garment_job = self._pool.submit(analyse_garment)
        fit_job = None
        try:
            t = time.perf_counter()
            if person_analysis is None:
                located = persons.locate(image, keypoints=kp)
                fit_job = self._pool.submit(fit_upper, located)
                p = persons.finish(located)
            else:
                p = person_analysis
            timings["person"] = time.perf_counter() - t
        except Exception:
            garment_job.result()  # a bad garment photo is reported first, as when the two ran in turn
            raise
        g = garment_job.result()
        layers = None if fit_job is None else fit_job.result()
        if layers is None:
            waist = worn_waist(p.parse, p.keypoints) if g.category == Category.LOWER else None
            layers = fit(g, Body(p.keypoints, waist, p.pose_mask))

        t = time.perf_counter()
        region = user_mask if user_mask is not None else p.agnostic_mask(g.category) > 0
        readable = ~user_mask if user_mask is not None else np.ones((h, w), bool)
        rgb, alpha = flatten(layers)
        if user_mask is None:
            # A garment longer or wider than the worn one reaches past the computed mask: that
            # part joins the region (never the face, hair or hands). A top is worn over the
            # trousers or skirt, down to its own hem (tucked in along the parse's waist, its hem
            # was as ragged as that); a bodysuit's brief is worn under them.
            grow = cv2.dilate((alpha > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
            over = "brief" not in g.landmarks.points
            region = region | (grow & ~protected(p.parse, p.keypoints, g.category, over=over))
            drawn = alpha > 0.5
            if (drawn & region).sum() < LEAST_SHOWN * drawn.sum():
                raise OutfitError(f"the person's worn clothes could not be told apart where the {g.category.value} "
                                "garment goes: it would be hidden under what the photo keeps")
        # A user's mask is kept to exactly: nothing outside it changes, not even hair over the garment.
        out = compose(image, region, readable, layers, p.parse, p.keypoints, g.category,
                      ComposeOptions(shading=o.shading, wrinkles=o.wrinkles, past_region=user_mask is None),
                      p.face, self._pool)
        region = region | (out != image).any(axis=2)  # and the hair over the garment, where it changed
        timings["compose"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        # In the pipeline's order, whichever thread finished first (garment and warp overlap person).
        timings = {k: timings[k] for k in ("garment", "person", "warp", "compose", "total") if k in timings}
        return TryOnResult(out, g.category, region.astype(np.uint8) * 255, timings,
                           {"warped-garment": rgb, "warped-mask": (alpha > 0.5).astype(np.uint8) * 255})

    @property
    def _pool(self) -> ThreadPoolExecutor:
        """One worker thread beside the caller's: the analyses' models and the compositing each keep
        one core busy, and a second worker would find no third core on a 2-core machine."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tryon-warp")
        return self._worker

    def close(self) -> None:
        if self._worker is not None:
            self._worker.shutdown()
            self._worker = None
        self.close_analysers()
