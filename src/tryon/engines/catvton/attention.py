"""CatVTON's attention file: which tensor goes to which self-attention layer, and the skipped
cross-attention.

The published ``attention/model.safetensors`` holds 80 tensors, five per self-attention (``attn1``)
layer: ``{8i}.to_q.weight``, ``{8i}.to_k.weight``, ``{8i}.to_v.weight``, ``{8i}.to_out.0.weight`` and
``{8i}.to_out.0.bias``. Layer ``i`` is the i-th ``attn1`` in diffusers' module registration order
(down blocks, up blocks, then the mid block). Layers of equal width have identical shapes, so only
this order tells them apart: the file is checked for the exact names and shapes before anything is
copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from tryon.errors import WeightsError

PARAMS = ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias")
#: Module slots per layer in the file's key numbering (the attention module and its submodules
#: as CatVTON's training code listed them).
STRIDE = 8
#: Self-attention layers of the Stable Diffusion 1.5 UNet.
LAYERS = 16


@dataclass(frozen=True)
class Slot:
    key: str  # name in the attention file
    module: str  # the attn1 module's name in the UNet
    param: str  # the parameter within it
    shape: tuple[int, ...]


def self_attention_names(unet: torch.nn.Module) -> list[str]:
    """The UNet's ``attn1`` modules in registration order (the order of the file's layer index)."""
    return [name for name, _ in unet.named_modules() if name.endswith(".attn1")]


def attention_slots(unet: torch.nn.Module) -> list[Slot]:
    names = self_attention_names(unet)
    if len(names) != LAYERS:
        raise WeightsError(f"the base UNet has {len(names)} self-attention layers; CatVTON's attention file is "
                           f"for the {LAYERS} of Stable Diffusion 1.5")
    modules = dict(unet.named_modules())
    slots = []
    for i, name in enumerate(names):
        params = dict(modules[name].named_parameters())
        for p in PARAMS:
            slots.append(Slot(f"{STRIDE * i}.{p}", name, p, tuple(params[p].shape)))
    return slots


def check_attention_file(tensors: dict[str, torch.Tensor], slots: list[Slot], source: str) -> None:
    """Raise :class:`WeightsError` naming every missing, extra and misshapen key."""
    expected = {s.key: s for s in slots}
    missing = sorted(set(expected) - set(tensors), key=_key_order)
    extra = sorted(set(tensors) - set(expected), key=_key_order)
    misshapen = [f"{k} is {tuple(tensors[k].shape)}, expected {expected[k].shape}"
                 for k in sorted(set(expected) & set(tensors), key=_key_order)
                 if tuple(tensors[k].shape) != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} key(s): {_listing(missing)}")
    if extra:
        problems.append(f"{len(extra)} unexpected key(s): {_listing(extra)}")
    if misshapen:
        problems.append(f"{len(misshapen)} misshapen: {_listing(misshapen)}")
    if problems:
        raise WeightsError(f"{source} does not match CatVTON's attention layout for this UNet "
                           f"({len(expected)} tensors): " + "; ".join(problems))


def load_attention_weights(unet: torch.nn.Module, folder: str | Path) -> Path:
    """Copy CatVTON's self-attention weights from ``folder`` (e.g. ``mix-48k-1024``) into the UNet.

    ``folder`` may be the weights folder (holding ``attention/model.safetensors``), its
    ``attention`` sub-folder, or the file itself.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(folder)
    for candidate in (path / "attention" / "model.safetensors", path / "model.safetensors", path):
        if candidate.is_file():
            path = candidate
            break
    else:
        raise WeightsError(f"{folder}: no attention/model.safetensors (give one of CatVTON's folders, "
                           "e.g. mix-48k-1024)")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    slots = attention_slots(unet)
    check_attention_file(tensors, slots, str(path))
    modules = dict(unet.named_modules())
    with torch.no_grad():
        for slot in slots:
            param = dict(modules[slot.module].named_parameters())[slot.param]
            param.copy_(tensors[slot.key].to(param.dtype))
    return path


def attention_state(unet: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The UNet's self-attention weights under CatVTON's key names (what ``tryon train`` exports
    after attention-only training: the file loads wherever CatVTON's own does)."""
    modules = dict(unet.named_modules())
    return {s.key: dict(modules[s.module].named_parameters())[s.param].detach().float().cpu().contiguous()
            for s in attention_slots(unet)}


class SkipCrossAttention:
    """The cross-attention processor that returns its input: no text, and the block computes
    ``h + norm2(h)`` where it had ``h + attn2(norm2(h))`` (CatVTON was trained that way)."""

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states=None, attention_mask=None,
                 temb=None, *args, **kwargs) -> torch.Tensor:
        return hidden_states


def skip_cross_attention(unet) -> None:
    """Give every ``attn2`` the skipping processor; the self-attention keeps diffusers' own (SDPA)."""
    processors = {}
    for name, processor in unet.attn_processors.items():
        processors[name] = SkipCrossAttention() if name.endswith("attn2.processor") else processor
    unet.set_attn_processor(processors)


def _key_order(key: str):
    head = key.split(".")[0]
    return (int(head) if head.isdigit() else 1 << 30, key)


def _listing(items: list[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")
