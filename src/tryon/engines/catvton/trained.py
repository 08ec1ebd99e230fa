"""Models made by ``tryon train``, as the catvton engine loads them.

``tryon train`` exports ``RUN/final/`` with a ``model_card.json`` saying what was trained and
which files hold it:

- ``attention/model.safetensors``: the self-attention layers in CatVTON's own key scheme (the
  published recipe), so the folder is interchangeable with CatVTON's ``mix-48k-1024``;
- ``lora/``: a peft LoRA adapter of the UNet (``adapter_config.json``, ``adapter_model.safetensors``);
- ``unet/``: the whole UNet as a diffusers folder;
- ``controlnet/``: the pose ControlNet as a diffusers folder, when trained with one.

A model trained with text uses the base model's own CLIP (``text_encoder/``, ``tokenizer/``), which
stays frozen, so those come from the base model's folder. A folder without a card is one of
CatVTON's published attention folders.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tryon.engines.catvton.attention import load_attention_weights
from tryon.errors import WeightsError

CARD = "model_card.json"
FORMAT = "tryon-catvton/1"
#: What ``--train`` may update, and the export that holds it.
TRAINED_PARTS = {"attention": "attention/model.safetensors", "lora": "lora/adapter_model.safetensors",
                 "full": "unet/diffusion_pytorch_model.safetensors"}
#: Files of the base model that a model trained with text needs (its frozen CLIP).
TEXT_FILES = ("text_encoder/config.json", ("text_encoder/model.safetensors", "text_encoder/pytorch_model.bin"),
              "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json")


@dataclass
class ModelCard:
    """What a ``final/`` folder holds and how it was made (data, steps, settings, validation)."""

    trained: str  # attention, lora or full
    controlnet: bool = False
    text: bool = False
    base_model: str = ""
    format: str = FORMAT
    files: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        path = Path(folder) / CARD
        path.write_text(json.dumps(asdict(self), indent=1))
        return path


def read_card(folder: str | Path) -> ModelCard | None:
    """The folder's model card, None for a folder without one (CatVTON's published weights)."""
    path = Path(folder) / CARD
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        card = ModelCard(**{k: data[k] for k in ModelCard.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise WeightsError(f"{path}: not a readable model card ({exc})") from None
    if card.format != FORMAT or card.trained not in TRAINED_PARTS:
        raise WeightsError(f"{path}: format {card.format!r} / trained {card.trained!r} is not one this version "
                           f"reads ({FORMAT}: {', '.join(TRAINED_PARTS)})")
    return card


@dataclass
class Parts:
    unet: Any
    controlnet: Any = None
    text_encoder: Any = None
    tokenizer: Any = None


def load_finetuned(unet, base: Path, folder: Path, dtype) -> Parts:
    """The base UNet with ``folder``'s weights in it, and the models a trained card adds."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    from tryon.engines.catvton.pipeline import load_model

    card = read_card(folder)
    if card is None or card.trained == "attention":
        load_attention_weights(unet, folder)
    elif card.trained == "full":
        unet = load_model(UNet2DConditionModel, folder / "unet", "trained UNet", torch_dtype=dtype)
    else:
        load_lora(unet, folder / "lora")
    parts = Parts(unet)
    if card is None:
        return parts
    if card.controlnet:
        parts.controlnet = load_model(ControlNetModel, folder / "controlnet", "pose ControlNet", torch_dtype=dtype)
    if card.text:
        parts.text_encoder, parts.tokenizer = load_text(base, dtype)
    return parts


def load_lora(unet, folder: Path) -> None:
    """Add the peft LoRA adapter in ``folder`` to the UNet (its base weights unchanged)."""
    from peft import LoraConfig
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    try:
        config = LoraConfig.from_pretrained(str(folder))
        state = load_file(str(folder / "adapter_model.safetensors"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{folder}: not a readable LoRA adapter ({exc})") from None
    unet.add_adapter(config)
    result = set_peft_model_state_dict(unet, state)
    missing = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]
    if missing or getattr(result, "unexpected_keys", []):
        raise WeightsError(f"{folder}: the adapter does not match this UNet ({len(missing)} LoRA weights missing, "
                           f"{len(result.unexpected_keys)} unexpected)")


def load_text(base: Path, dtype):
    """The base model's CLIP text encoder and tokenizer (transformers)."""
    try:
        from transformers import CLIPTextModel, CLIPTokenizer
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise WeightsError("this model was trained with text: it needs transformers (pip install 'tryon[train]')") from None
    from tryon.engines.catvton.pipeline import load_model

    transformers_logging.disable_progress_bar()  # a per-load bar of a few hundred MB reads as noise
    encoder = load_model(CLIPTextModel, base / "text_encoder", "text encoder", dtype=dtype)
    try:
        tokenizer = CLIPTokenizer.from_pretrained(str(base / "tokenizer"), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{base / 'tokenizer'}: the tokenizer could not be loaded ({exc})") from None
    return encoder.eval().requires_grad_(False), tokenizer
