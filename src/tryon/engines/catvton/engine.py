"""The ``catvton`` engine: our masks (no DensePose, no SCHP) and CatVTON's published weights."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from tryon.category import Category
from tryon.engines.accelerator import plain_out_of_memory, torch_device
from tryon.engines.base import Engine, LazyAnalysers, TryOnRequest, TryOnResult, prepare_person
from tryon.engines.catvton import CatVTONOptions
from tryon.engines.catvton.geometry import Crop, centre_crop_box, crop_resize, fit_on_white, paste_back
from tryon.errors import InputError, TryOnError
from tryon.garment.analyzer import GarmentAnalyzer
from tryon.engines.catvton.trained import TEXT_FILES, read_card
from tryon.engines.weights import option_weights, resolve_weights
from tryon.person.render import render_pose
from tryon.imageio import load_image
from tryon.person.analyzer import PersonAnalyzer

log = logging.getLogger(__name__)


@dataclass
class _Prepared:
    image: np.ndarray  # the original person photo
    crop: Crop
    person: np.ndarray  # working size, uint8
    garment: np.ndarray  # working size, on white
    mask: np.ndarray | None  # working size, 0/255 (None for the mask-free model)
    pose: np.ndarray | None  # working size, the keypoints drawn (models with a pose ControlNet)
    region: np.ndarray  # the original's size, 255 = regenerated (for the result's layers)
    category: Category
    seconds: float


class CatVTONEngine(LazyAnalysers, Engine):
    """Latent-diffusion try-on; several requests run as one batch on the GPU."""

    name = "catvton"

    def __init__(self, options: CatVTONOptions | None = None, person_analyzer: PersonAnalyzer | None = None,
                 garment_analyzer: GarmentAnalyzer | None = None):
        self.options = c = options or CatVTONOptions()
        import torch

        from tryon.engines.catvton.pipeline import CatVTONPipeline

        device, dtype = torch_device(c.device, c.dtype, "catvton")
        self.device, self.torch_dtype = device, dtype
        folders = {name: option_weights(c, name, "catvton") for name in ("base_model", "vae", "attn_weights")}
        card = read_card(folders["attn_weights"])
        if card is not None:  # a trained model: its own files, and the base model's CLIP if it takes text
            folders["attn_weights"] = resolve_weights(c.attn_weights, tuple(card.files), "catvton attn_weights")
            if card.text:
                folders["base_model"] = resolve_weights(c.base_model, TEXT_FILES, "catvton base_model")
        self.pipeline = CatVTONPipeline.from_pretrained(folders["base_model"], folders["attn_weights"],
                                                        folders["vae"], c.scheduler, dtype)
        if device == "cpu":
            log.warning("catvton runs on the CPU: expect minutes per picture (about 13 s per step at 512x384, "
                        "95 s at 1024x768 on 2 cores); a GPU takes about a second")
        if c.offload:
            if device == "cpu":
                raise TryOnError("--offload keeps models on the CPU between GPU steps: it needs a GPU")
            self.pipeline.enable_model_cpu_offload()
        else:
            self.pipeline.to(device)
        if c.vae_tiling:
            self.pipeline.enable_vae_tiling()
        if c.compile:
            self.pipeline.unet.to(memory_format=torch.channels_last)
            self.pipeline.unet = torch.compile(self.pipeline.unet)
        self._persons = person_analyzer
        self._garments = garment_analyzer

    def run(self, person, garment, category="auto", *, mask=None, keypoints=None, person_analysis=None,
            garment_analysis=None, options=None) -> TryOnResult:
        return self.run_batch([TryOnRequest(person, garment, category, mask, keypoints, person_analysis,
                                            garment_analysis, options or {})])[0]

    def _prepare(self, r: TryOnRequest, analyses: dict) -> _Prepared:
        """Inputs at working size; ``analyses`` (per batch) analyses a person photo given as the same
        path or object once, however many garments go on it."""
        t = time.perf_counter()
        prepared = prepare_person(r.person, r.mask, r.keypoints)
        image = prepared.image
        h, w = image.shape[:2]
        g = r.garment_analysis
        category = None if str(r.category).lower() == "auto" else Category.parse(r.category)
        if g is None and r.garment is None:
            raise InputError("no garment photo given")
        if g is None and category is None:  # only the auto category needs the garment analysed
            g = self.garments.analyze(r.garment)
        garment_pixels = g.image if g is not None else load_image(r.garment)
        category = category or g.category
        analysis = None
        if self.pipeline.takes_pose or (prepared.user_mask is None and not self.pipeline.mask_free):
            analysis = self.analysed_person(r, prepared, analyses)
        if prepared.user_mask is not None:
            region = prepared.user_mask.astype(np.uint8) * 255
        elif self.pipeline.mask_free:
            region = np.full((h, w), 255, np.uint8)
        else:
            region = analysis.agnostic_mask(category)
        crop = centre_crop_box(w, h, self.options.size)
        pose = crop_resize(render_pose(analysis.keypoints), crop) if self.pipeline.takes_pose else None
        # As published: the mask resized like the photo (Lanczos), then binarised at one half.
        work_mask = None if self.pipeline.mask_free else np.where(crop_resize(region, crop) > 127, 255, 0).astype(np.uint8)
        return _Prepared(image, crop, crop_resize(image, crop), fit_on_white(garment_pixels, self.options.size),
                         work_mask, pose, region, category, time.perf_counter() - t)

    def run_batch(self, requests: list[TryOnRequest]) -> list[TryOnResult]:
        """Requests that agree on steps and guidance run as one batch on the GPU, each with its own
        seed and prompt."""
        if not self.pipeline.takes_text and any(self.options_for(r.options).prompt for r in requests):
            raise InputError("prompt: this model was not trained with text (tryon train --text makes one that is)")
        analyses: dict = {}
        prepared = [self._prepare(r, analyses) for r in requests]
        results: list = [None] * len(requests)
        for options, indices in self.option_groups(requests, varying=("seed", "repaint", "prompt")):
            group = [prepared[i] for i in indices]
            own = [self.options_for(requests[i].options) for i in indices]
            for i, out in zip(indices, self._diffuse(group, options, own)):
                results[i] = out
        return results

    def _diffuse(self, prepared: list[_Prepared], options: CatVTONOptions, own: list[CatVTONOptions]
                 ) -> list[TryOnResult]:
        import torch

        t = time.perf_counter()
        # Contiguous NCHW: a permuted view is channels-last, where CPU GroupNorm in the VAE drifts (2.5e-2).
        pixels = lambda arrays: (torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # noqa: E731
                                 .float() / 127.5 - 1)
        person = pixels([p.person for p in prepared])
        garment = pixels([p.garment for p in prepared])
        mask = pose = None
        if not self.pipeline.mask_free:
            mask = torch.from_numpy(np.stack([p.mask for p in prepared])[:, None]).float() / 255
        if self.pipeline.takes_pose:
            pose = torch.from_numpy(np.stack([p.pose for p in prepared])).permute(0, 3, 1, 2).contiguous().float() / 255
        # A generator per request: each picture is the one its seed gives alone, whatever shares the batch.
        generators = [torch.Generator().manual_seed(o.seed) for o in own]
        with plain_out_of_memory("catvton", "try --offload, --vae-tiling or a smaller --size"):
            images = self.pipeline(person, garment, mask, steps=options.steps, guidance=options.guidance,
                                   generator=generators, pose=pose, prompts=[o.prompt for o in own])
        out = (images.permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        seconds = (time.perf_counter() - t) / len(prepared)
        results = []
        for p, o, work in zip(prepared, own, out):
            if o.repaint and p.mask is not None:
                work = repaint(p.person, p.mask, work)
            image = paste_back(p.image, work, p.crop)
            garment_layer = paste_back(np.full_like(p.image, 255), p.garment, p.crop)
            results.append(TryOnResult(image, p.category, p.region,
                                       {"analysis": p.seconds, "diffusion": seconds, "total": p.seconds + seconds},
                                       {"garment-input": garment_layer}))
        return results

    def close(self) -> None:
        self.close_analysers()


def repaint(person: np.ndarray, mask: np.ndarray, result: np.ndarray) -> np.ndarray:
    """The person photo outside the mask, the result inside, across a blur of height/50 pixels.

    Off by default: in a paired evaluation the pasted pixels are ground truth, which flatters the
    score (the published benchmark numbers use it).
    """
    soft = np.asarray(Image.fromarray(mask).filter(ImageFilter.GaussianBlur(person.shape[0] / 50)), np.float32)
    soft = soft[..., None] / 255
    return (person * (1 - soft) + result * soft + 0.5).astype(np.uint8)
