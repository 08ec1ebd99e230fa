"""The ``catvton`` engine: CatVTON's latent-diffusion try-on on diffusers, with our masks.

CatVTON (ICLR 2025) is Stable Diffusion 1.5 inpainting with the person and the garment concatenated
in latent space, no text encoder, and only the UNet's self-attention layers fine-tuned. Its weights
are CC BY-NC-SA 4.0 (non-commercial); they load by hub id (fetched into the hub cache on first use)
or from folders. Needs the ``catvton`` extra (PyTorch, diffusers, safetensors, accelerate).
"""

from __future__ import annotations

from dataclasses import dataclass

from tryon.engines.options import OptionError, check_size, option
from tryon.engines.registry import EngineSpec

SCHEDULERS = ("ddim", "dpm++", "unipc")
DTYPES = ("auto", "fp32", "fp16", "bf16")
DEVICES = ("auto", "cuda", "cpu")
#: A diffusers model folder: its config and its weights (safetensors preferred).
_DIFFUSERS_MODEL = ("config.json", ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"))


@dataclass(frozen=True)
class CatVTONOptions:
    base_model: str = option(
        "booksforcharlie/stable-diffusion-inpainting",
        "Stable Diffusion 1.5 inpainting, diffusers layout (folder or hub id; CatVTON's own default).",
        files=tuple(f"unet/{f}" if isinstance(f, str) else tuple(f"unet/{a}" for a in f) for f in _DIFFUSERS_MODEL)
        + ("scheduler/scheduler_config.json",))
    vae: str = option("stabilityai/sd-vae-ft-mse", "The VAE (folder or hub id), as CatVTON uses.",
                      files=_DIFFUSERS_MODEL)
    attn_weights: str = option("zhengchong/CatVTON/mix-48k-1024",
                               "CatVTON's attention weights (a folder holding attention/model.safetensors, or a hub "
                               "id with the version folder), or a model made by tryon train (its RUN/final).",
                               files=(("model_card.json", "attention/model.safetensors"),))
    steps: int = option(50, "Sampling steps (50 as published; 8-12 with dpm++).", per_request=True)
    guidance: float = option(2.5, "Classifier-free guidance scale (1 = none).", per_request=True)
    seed: int = option(42, "Random seed: the same seed gives the same picture.", per_request=True)
    prompt: str = option("", "Text for a model trained with --text, e.g. 'a person wearing a red linen top'.",
                         per_request=True)
    size: tuple[int, int] = option((768, 1024), "Working size WIDTHxHEIGHT, multiples of 8.")
    scheduler: str = option("ddim", "ddim (as published), dpm++ or unipc (fewer steps).", choices=SCHEDULERS)
    dtype: str = option("auto", "Weights' precision: bf16 on a GPU that has it, else fp16; fp32 on a CPU.",
                        choices=DTYPES)
    device: str = option("auto", "cuda, cpu, or auto (a GPU if PyTorch sees one).", choices=DEVICES)
    repaint: bool = option(False, "Paste the photo back outside the blurred mask (flatters paired scores).",
                           per_request=True)
    offload: bool = option(False, "Keep each model on the CPU until it runs (small GPUs).")
    vae_tiling: bool = option(False, "Decode in tiles (large sizes on small GPUs).")
    compile: bool = option(False, "torch.compile the UNet (GPU: minutes of warm-up, then faster steps).")

    def check(self) -> None:
        check_size(self.size)
        if self.steps < 1 or self.guidance < 0:
            raise OptionError("steps must be at least 1 and guidance at least 0")


SPEC = EngineSpec(
    name="catvton",
    summary="CatVTON (ICLR 2025): SD-1.5 inpainting with person and garment concatenated; GPU.",
    options=CatVTONOptions,
    factory="tryon.engines.catvton.engine:CatVTONEngine",
    weights_licence="CC BY-NC-SA 4.0 (CatVTON, non-commercial); base SD-1.5 inpainting CreativeML OpenRAIL-M; "
                    "sd-vae-ft-mse MIT",
    max_batch=4,
    extra="catvton",
)
