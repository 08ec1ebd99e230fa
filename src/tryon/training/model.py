"""What training updates: CatVTON's UNet on an SD-1.5 inpainting base, an optional pose ControlNet,
optional text through the base model's frozen CLIP, and the export the catvton engine loads.

The parts are diffusers' and peft's own building blocks: ``UNet2DConditionModel``,
``ControlNetModel.from_unet`` (a copy of the UNet's encoder whose output convolutions start at zero,
so before training it leaves the UNet's prediction exactly as it was) and LoRA adapters through the
UNet's peft integration. What learns (``--train``):

- ``attention``: the 16 self-attention layers, CatVTON's recipe (49.6M parameters of SD-1.5's 860M);
- ``lora``: low-rank adapters on the self-attention (and, with text, the cross-attention) projections;
- ``full``: the whole UNet.

Without text the cross-attention is skipped as CatVTON does, and its weights stay frozen (a weight
that receives no gradient would stall multi-GPU training).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tryon.engines.catvton.attention import attention_state, skip_cross_attention
from tryon.engines.catvton.pipeline import load_model, predict
from tryon.engines.catvton.trained import TEXT_FILES, ModelCard, load_text
from tryon.engines.weights import resolve_weights
from tryon.errors import WeightsError
from tryon.training.config import TrainConfig

_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
BASE_FILES = ("unet/config.json", tuple(f"unet/{w}" for w in _WEIGHTS), "scheduler/scheduler_config.json")
VAE_FILES = ("config.json", _WEIGHTS)
#: The attention projections that LoRA adapts (peft matches module names against this pattern).
_LORA_SELF = r".*attn1\.(to_q|to_k|to_v|to_out\.0)$"
_LORA_TEXT = r".*attn[12]\.(to_q|to_k|to_v|to_out\.0)$"


@dataclass
class Components:
    """The models and scheduler a run uses; only ``unet`` and ``controlnet`` learn."""

    unet: Any
    vae: Any
    noise_scheduler: Any  # DDPM, the base model's noise schedule and prediction type
    controlnet: Any = None
    text_encoder: Any = None
    tokenizer: Any = None

    @property
    def prediction_type(self) -> str:
        return self.noise_scheduler.config.prediction_type


class Denoiser(torch.nn.Module):
    """The UNet and its ControlNet as one module, so one DDP wrapper synchronises both."""

    def __init__(self, unet, controlnet=None):
        super().__init__()
        self.unet, self.controlnet = unet, controlnet

    def forward(self, sample: torch.Tensor, t: torch.Tensor, text: torch.Tensor | None = None,
                control: torch.Tensor | None = None) -> torch.Tensor:
        return predict(self.unet, self.controlnet, sample, t, text, control)


def resolve_folders(config: TrainConfig) -> tuple[Path, Path]:
    """The base model's and the VAE's local folders (hub ids fetched into the hub cache)."""
    files = BASE_FILES + (TEXT_FILES if config.text else ())
    base = resolve_weights(config.base_model, files, "train base_model")
    vae = base / "vae" if config.vae == "base" else resolve_weights(config.vae, VAE_FILES, "train vae")
    return base, vae


def load_components(config: TrainConfig, frozen_dtype: torch.dtype = torch.float32) -> Components:
    """The base model's parts, with what ``config`` trains made trainable and everything else frozen.
    Trained weights stay float32 (mixed precision computes in half precision from them); the frozen
    VAE and text encoder take ``frozen_dtype``."""
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler, UNet2DConditionModel

    base, vae_folder = resolve_folders(config)
    unet = load_model(UNet2DConditionModel, base / "unet", "UNet", torch_dtype=torch.float32)
    if unet.config.in_channels != 9:
        raise WeightsError(f"{config.base_model}: the UNet takes {unet.config.in_channels} input channels; training "
                           "needs Stable Diffusion 1.5 inpainting (9: noise, mask, masked person)")
    vae = load_model(AutoencoderKL, vae_folder, "VAE", torch_dtype=frozen_dtype).requires_grad_(False).eval()
    noise_scheduler = DDPMScheduler.from_pretrained(str(base / "scheduler"))
    parts = Components(unet, vae, noise_scheduler)
    if config.text:
        parts.text_encoder, parts.tokenizer = load_text(base, frozen_dtype)
    if config.pose:
        parts.controlnet = ControlNetModel.from_unet(unet)
    make_trainable(parts, config)
    return parts


def _freeze_cross_attention(model) -> None:
    for name, module in model.named_modules():
        if name.endswith("attn2"):
            module.requires_grad_(False)


def make_trainable(parts: Components, config: TrainConfig) -> None:
    """Freeze everything but what ``config.train`` (and the ControlNet) trains; skip and freeze the
    cross-attention without text; gradient checkpointing when asked."""
    unet = parts.unet
    unet.requires_grad_(False)
    if config.train == "attention":
        for name, module in unet.named_modules():
            if name.endswith("attn1"):
                module.requires_grad_(True)
    elif config.train == "lora":
        from peft import LoraConfig

        unet.add_adapter(LoraConfig(r=config.lora_rank, lora_alpha=config.lora_rank, init_lora_weights="gaussian",
                                    target_modules=_LORA_TEXT if config.text else _LORA_SELF))
    else:
        unet.requires_grad_(True)
    if parts.controlnet is not None:
        parts.controlnet.requires_grad_(True)
    if not config.text:
        for model in (unet, parts.controlnet):
            if model is not None:
                skip_cross_attention(model)
                _freeze_cross_attention(model)
    if config.gradient_checkpointing:
        for model in (unet, parts.controlnet):
            if model is not None:
                model.enable_gradient_checkpointing()


def trainable_parameters(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def export(denoiser: Denoiser, config: TrainConfig, folder: Path, details: dict) -> ModelCard:
    """Write the trained weights where the catvton engine loads them, and the model card."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    unet = denoiser.unet
    if config.train == "attention":
        (folder / "attention").mkdir(exist_ok=True)
        save_file(attention_state(unet), str(folder / "attention" / "model.safetensors"))
    elif config.train == "lora":
        from peft.utils import get_peft_model_state_dict

        (folder / "lora").mkdir(exist_ok=True)
        state = {k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(unet).items()}
        save_file(state, str(folder / "lora" / "adapter_model.safetensors"))
        unet.peft_config["default"].save_pretrained(str(folder / "lora"))
    else:
        unet.save_pretrained(str(folder / "unet"))
    if denoiser.controlnet is not None:
        denoiser.controlnet.save_pretrained(str(folder / "controlnet"))
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != "model_card.json")
    card = ModelCard(config.train, denoiser.controlnet is not None, config.text, config.base_model, files=files,
                     details=details)
    card.write(folder)
    return card
