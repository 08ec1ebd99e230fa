"""The ``fashn`` engine: FASHN VTON v1.5 (FASHN AI, 2026), our implementation of the published model.

A 972M-parameter MMDiT that generates in pixel space by rectified flow, conditioned on the person
photo, a grey pose image, the garment photo (and its pose, for garments worn by a model) and the
category. It needs no segmentation mask; its weights are Apache-2.0, so it is the learned engine a
shop may use commercially. Inputs come from our own analysis: no DWPose, YOLOX or human-parser
download. Needs the ``fashn`` extra (PyTorch, diffusers, safetensors, huggingface_hub).
"""

from __future__ import annotations

from dataclasses import dataclass

from tryon.engines.options import OptionError, option
from tryon.engines.registry import EngineSpec

GARMENT_PHOTOS = ("auto", "flat-lay", "model")


@dataclass(frozen=True)
class FashnOptions:
    model: str = option("fashn-ai/fashn-vton-1.5", "The weights: a folder holding model.safetensors, or a hub id.",
                        files=("model.safetensors",))
    steps: int = option(30, "Sampling steps (published: 20 fast, 30 balanced, 50 quality).", per_request=True)
    guidance: float = option(1.5, "Classifier-free guidance scale (1 = none: half the work per step).",
                             per_request=True)
    skip_cfg_last: int = option(1, "Guidance is skipped on this many last steps (keeps colours from saturating).",
                                per_request=True)
    seed: int = option(42, "Random seed: the same seed gives the same picture.", per_request=True)
    masked: bool = option(False, "Grey out our agnostic mask of the old garment first (default: segmentation-free, "
                                 "which keeps the body and lets the garment take its own volume).", per_request=True)
    garment_photo: str = option("auto", "flat-lay (product shot, used as it is), model (worn by someone: cut out "
                                        "with our parser, with its pose), or auto (model when the garment analysis finds "
                                        "someone wearing it: tryon.garment.worn).",
                                choices=GARMENT_PHOTOS, per_request=True)
    hands: bool = option(True, "Draw hand keypoints into the pose image (MediaPipe Hands, about 60 ms per photo).",
                         per_request=True)
    dtype: str = option("auto", "bf16 on a GPU that has it (as published), else fp32; fp32 on a CPU.",
                        choices=("auto", "fp32", "fp16", "bf16"))
    device: str = option("auto", "cuda, cpu, or auto (a GPU if PyTorch sees one).", choices=("auto", "cuda", "cpu"))
    compile: bool = option(False, "torch.compile the model's repeated blocks (GPU: a warm-up on the first picture, "
                                  "then 1.70 s a picture instead of 2.28 s on an H200).")

    def check(self) -> None:
        if self.steps < 1 or self.guidance < 0 or self.skip_cfg_last < 0:
            raise OptionError("steps must be at least 1, guidance and skip_cfg_last at least 0")


SPEC = EngineSpec(
    name="fashn",
    summary="FASHN VTON v1.5: maskless pixel-space MMDiT (972M), tops / bottoms / one-pieces; GPU.",
    options=FashnOptions,
    factory="tryon.engines.fashn.engine:FashnEngine",
    weights_licence="Apache-2.0 (FASHN AI): commercial use allowed",
    max_batch=4,
    extra="fashn",
)
