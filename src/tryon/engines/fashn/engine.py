"""The ``fashn`` engine: our analysis in, FASHN VTON v1.5 out.

The published pipeline needs DWPose (YOLOX and a whole-body pose model) and FASHN's human parser,
three downloads. Here the person's pose image is drawn from our keypoints (body from the pose model,
hands from MediaPipe Hands; there are no face landmarks, so the face points are left out), product
photos go in as they are (a black pose image, as published for flat-lays), and a garment worn by a
model is cut out with our parser and drawn with its own pose. Several requests run as one batch.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.category import Category
from tryon.engines.accelerator import plain_out_of_memory, torch_device
from tryon.engines.base import Engine, LazyAnalysers, TryOnRequest, TryOnResult, prepare_person
from tryon.engines.fashn import FashnOptions
from tryon.engines.fashn.geometry import POSE_INTERPOLATION, Padding, pre_resize, resize_pad, unpad
from tryon.engines.fashn.pose import MISSING, PoseKeypoints, draw_pose_image, empty_pose
from tryon.engines.weights import option_weights
from tryon.errors import InputError, MultiplePersonsError, NoPersonError
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.imageio import load_image
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.hands import HandEstimator
from tryon.person.keypoints import Keypoints
from tryon.person.parsing import LOWER_GARMENT, Label

log = logging.getLogger(__name__)

#: Options that shape a request's inputs or noise, not the sampler: requests differing in them share a batch.
_PREPARATION = ("seed", "masked", "garment_photo", "hands")
#: The model's category labels (0 is the null class of classifier-free guidance).
CATEGORY_LABELS = {Category.UPPER: 1, Category.LOWER: 2, Category.DRESS: 3}
#: Grey that hides what the model must not copy (the published preprocessing's value).
HIDDEN_GREY = 127
#: Our parser's labels that make up the garment of each category, when a model wears it.
GARMENT_LABELS = {Category.UPPER: (Label.UPPER_CLOTHES, Label.COAT),
                  Category.LOWER: LOWER_GARMENT,
                  Category.DRESS: (Label.DRESS, Label.UPPER_CLOTHES, Label.COAT, *LOWER_GARMENT)}
#: One guided step of the published model at 864x576 on a CPU: about 350 s on 2 cores (AMD EPYC, fp32;
#: benchmarks/fashn_speed.py). Smaller checkpoints are estimated in proportion to their parameters.
CPU_SECONDS_PER_STEP = 350
MEASURED_CORES = 2
PUBLISHED_PARAMETERS = 972e6
PUBLISHED_WIDTH = 1280
PUBLISHED_DEPTHS = (8, 16, 4)  # double blocks, single blocks, patch mixer


@dataclass
class _Prepared:
    size: tuple[int, int]  # the person photo's (W, H): the result's
    person: np.ndarray  # the photo the model sees (pre-resized, grey where hidden), fitted and padded
    person_pose: np.ndarray
    garment: np.ndarray
    garment_pose: np.ndarray
    padding: Padding  # of the person photo: the result is cut out of it
    category: Category
    region: np.ndarray | None  # (H, W) uint8 of the original, 255 = regenerated; None = the whole picture
    layers: dict[str, np.ndarray]
    seconds: float


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def pose_keypoints(keypoints: Keypoints, hands: list[np.ndarray] | None) -> PoseKeypoints:
    """Our BODY_25 keypoints as the whole-body pose the model was trained on: COCO-18 order,
    normalised by the photo's size, :data:`MISSING` where not seen."""
    xy, confidence = keypoints.coco18()
    body = (xy / np.array([keypoints.width, keypoints.height], np.float32)).astype(np.float32)
    body[confidence <= 0] = MISSING
    return PoseKeypoints(body, hands or None, None)


def _to_tensor(images: list[np.ndarray]):
    """uint8 pictures (H, W[, C]) as one (B, C, H, W) batch in [-1, 1]."""
    import torch

    batch = np.stack([im if im.ndim == 3 else im[..., None] for im in images])
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous().float() / 127.5 - 1


class FashnEngine(LazyAnalysers, Engine):
    """FASHN VTON v1.5 on our analysis; several requests run as one batch on the GPU."""

    name = "fashn"

    def __init__(self, options: FashnOptions | None = None, person_analyzer: PersonAnalyzer | None = None,
                 garment_analyzer: GarmentAnalyzer | None = None):
        self.options = o = options or FashnOptions()
        from tryon.engines.fashn.pipeline import FashnPipeline

        # As published: bf16 where the GPU has it, else fp32 (its activations are not tested in fp16).
        self.device, dtype = torch_device(o.device, o.dtype, "fashn", fallback="fp32")
        folder = option_weights(o, "model", "fashn")
        self.pipeline = FashnPipeline.from_pretrained(folder, dtype, self.device)
        self._check_architecture(folder)
        if self.device == "cpu":
            share = sum(p.numel() for p in self.pipeline.model.parameters()) / PUBLISHED_PARAMETERS
            step = CPU_SECONDS_PER_STEP * share * MEASURED_CORES / (os.cpu_count() or MEASURED_CORES)
            log.warning("fashn runs on the CPU: expect about %s per picture at %d steps (%s a step); a GPU takes "
                        "seconds", _duration(step * o.steps), o.steps, _duration(step))
        if o.compile:
            # Each repeated block compiled once (diffusers' regional compilation), as
            # benchmarks/fashn_speed.py measures it: 1.60x the reference on an H200 against 1.20x
            # eager, with a far shorter warm-up than the whole model's.
            self.pipeline.model.compile_repeated_blocks(fullgraph=True)
        self._persons = person_analyzer
        self._garments = garment_analyzer
        self._hands: HandEstimator | None = None

    def _check_architecture(self, folder) -> None:
        """A file with the published width but fewer blocks is most likely cut short (its last blocks'
        keys all missing look like a smaller model): say so rather than draw noise in silence."""
        c = self.pipeline.model.config
        depths = (c.double_blocks_depth, c.single_blocks_depth, c.patch_mixer_depth)
        if c.hidden_size == PUBLISHED_WIDTH and depths != PUBLISHED_DEPTHS:
            log.warning("fashn: %s has the published width but %d double, %d single and %d patch-mixer blocks "
                        "(published: %d, %d, %d): a partial download?", folder, *depths, *PUBLISHED_DEPTHS)

    @property
    def hands(self) -> HandEstimator:
        if self._hands is None:
            self._hands = HandEstimator()
        return self._hands

    def run(self, person, garment, category="auto", *, mask=None, keypoints=None, person_analysis=None,
            garment_analysis=None, options=None) -> TryOnResult:
        return self.run_batch([TryOnRequest(person, garment, category, mask, keypoints, person_analysis,
                                            garment_analysis, options or {})])[0]

    # -- inputs ---------------------------------------------------------------------------------
    def _pose_image(self, image: np.ndarray, keypoints: Keypoints, o: FashnOptions) -> np.ndarray:
        """The grey pose image of ``image`` (already at the model's scale) from keypoints found in it or in
        a larger copy (they are normalised), with hands where MediaPipe finds them."""
        hands = self.hands(image) if o.hands else None
        h, w = image.shape[:2]
        return draw_pose_image(pose_keypoints(keypoints, hands), h, w)

    def _wearer(self, image: np.ndarray, mode: str, analysis: GarmentAnalysis | None) -> PersonAnalysis | None:
        """The person wearing the garment in its photo (at the model's scale), or None for a product shot.

        Auto mode takes the garment analysis's answer (``tryon.garment.worn``: a clear head and
        shoulders, or bare hands, then the person analysis), asking it here when the request brings
        no garment analysis."""
        if mode == "flat-lay":
            return None
        if mode == "auto" and (analysis is None or analysis.worn_photo is None):
            if analysis is not None or self.garments.wearers is None:
                return None
            return self.garments.wearers(image)
        try:
            return self.persons.analyze(image)
        except (NoPersonError, MultiplePersonsError) as exc:
            raise InputError(f"{'--garment-photo model' if mode == 'model' else 'the garment photo shows a person'}: "
                             f"the person wearing the garment could not be analysed ({exc})") from None

    def _garment(self, r: TryOnRequest, category: Category | None, o: FashnOptions):
        """(garment picture, its pose image, category, what was done) at the model's scale."""
        g = r.garment_analysis
        if g is None and r.garment is None:
            raise InputError("no garment photo given")
        # FASHN takes on-model garment photos as they are: the original, not our cut-out of it.
        photo = (g.image if g.worn_photo is None else g.worn_photo) if g is not None else load_image(r.garment)
        image = pre_resize(photo)
        worn = self._wearer(image, o.garment_photo, g)
        if category is None:
            g = g or self.garments.analyze(image)
            category = g.category
        if worn is None:
            h, w = image.shape[:2]
            return image, draw_pose_image(empty_pose(), h, w), category, "flat-lay"
        cut = image.copy()
        cut[~np.isin(worn.parse, GARMENT_LABELS[category])] = HIDDEN_GREY
        if (cut != HIDDEN_GREY).all(axis=2).mean() < 0.01:
            raise InputError(f"the garment photo shows a model, but no {category.value} garment was found on them")
        return cut, self._pose_image(image, worn.keypoints, o), category, "worn by a model"

    def _prepare(self, r: TryOnRequest, analyses: dict) -> _Prepared:
        t = time.perf_counter()
        o = self.options_for(r.options)
        prepared = prepare_person(r.person, r.mask, r.keypoints)
        original = prepared.image
        oh, ow = original.shape[:2]
        category = None if str(r.category).lower() == "auto" else Category.parse(r.category)
        garment, garment_pose, category, kind = self._garment(r, category, o)
        log.debug("fashn: garment photo taken as %s", kind)
        p = self.analysed_person(r, prepared, analyses)
        image = pre_resize(original)
        h, w = image.shape[:2]
        region = None
        if prepared.user_mask is not None:
            region = prepared.user_mask.astype(np.uint8) * 255
        elif o.masked:
            region = p.agnostic_mask(category)
        if region is not None:  # hidden at the model's scale, as the grey the model was trained to fill
            hidden = cv2.resize(region, (w, h), interpolation=cv2.INTER_NEAREST) > 0
            image = image.copy()
            image[hidden] = HIDDEN_GREY
        pose = self._pose_image(image, p.keypoints, o)
        person, padding = resize_pad(image)
        return _Prepared((ow, oh), person, resize_pad(pose, interpolation=POSE_INTERPOLATION)[0],
                         resize_pad(garment)[0], resize_pad(garment_pose, interpolation=POSE_INTERPOLATION)[0],
                         padding, category, region,
                         {"pose": pose, "garment-input": garment, "garment-pose": garment_pose},
                         time.perf_counter() - t)

    # -- the batch ------------------------------------------------------------------------------
    def run_batch(self, requests: list[TryOnRequest]) -> list[TryOnResult]:
        """Requests that agree on the sampling options run as one batch on the GPU, each with its own seed."""
        analyses: dict = {}
        prepared = [self._prepare(r, analyses) for r in requests]
        results: list = [None] * len(requests)
        for options, indices in self.option_groups(requests, varying=_PREPARATION):
            seeds = [self.options_for(requests[i].options).seed for i in indices]
            for i, out in zip(indices, self._sample([prepared[i] for i in indices], options, seeds)):
                results[i] = out
        return results

    def _sample(self, prepared: list[_Prepared], o: FashnOptions, seeds: list[int]) -> list[TryOnResult]:
        import torch

        t = time.perf_counter()
        categories = torch.tensor([CATEGORY_LABELS[p.category] for p in prepared])
        # A generator per request: each picture is the one its seed gives alone, whatever shares the batch.
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        with plain_out_of_memory("fashn", "run fewer requests at once (the server's batch) or use a larger GPU"):
            images = self.pipeline(_to_tensor([p.person for p in prepared]), _to_tensor([p.garment for p in prepared]),
                                   _to_tensor([p.person_pose for p in prepared]),
                                   _to_tensor([p.garment_pose for p in prepared]), categories, steps=o.steps,
                                   guidance=o.guidance, skip_cfg_last_n_steps=o.skip_cfg_last, generator=generators)
        out = ((images.float().permute(0, 2, 3, 1).cpu().numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
        seconds = (time.perf_counter() - t) / len(prepared)
        results = []
        for p, work in zip(prepared, out):
            picture = cv2.resize(unpad(work, p.padding), p.size, interpolation=cv2.INTER_LANCZOS4)
            results.append(TryOnResult(picture, p.category, p.region,
                                       {"analysis": p.seconds, "diffusion": seconds, "total": p.seconds + seconds},
                                       p.layers))
        return results

    def close(self) -> None:
        if self._hands is not None:
            self._hands.close()
        self.close_analysers()
