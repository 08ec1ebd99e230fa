"""Random CatVTON models in the published folder layout, for tests and benchmarks.

``full`` has Stable Diffusion 1.5's architecture (the same FLOPs as the real model, random weights);
``tiny`` keeps its block structure (16 self-attention layers, factor-8 VAE) at small widths so a
CPU runs it in seconds. Neither produces a meaningful picture: they test plumbing and speed.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tryon.engines.catvton.attention import attention_slots

#: Stable Diffusion 1.5's noise schedule, as in the inpainting model's scheduler folder.
SD15_SCHEDULE = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "num_train_timesteps": 1000, "set_alpha_to_one": False, "steps_offset": 1, "clip_sample": False,
                 "timestep_spacing": "leading"}

_SIZES = {
    "tiny": dict(unet=dict(block_out_channels=(32, 64, 64, 64), cross_attention_dim=32, attention_head_dim=8),
                 vae=dict(block_out_channels=(32, 32, 64, 64))),
    "full": dict(unet=dict(block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8),
                 vae=dict(block_out_channels=(128, 256, 512, 512))),
}


def build_unet(scale: str = "tiny", in_channels: int = 9):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        in_channels=in_channels, out_channels=4, layers_per_block=2, norm_num_groups=32, sample_size=64,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, **_SIZES[scale]["unet"])


#: The tiny random VAE's latents have a standard deviation of about 0.24 on photos (measured on the
#: evalset's persons); scaled by 4 they are about unit-variance, as SD's are by its 0.18215.
TINY_LATENT_SCALE = 4.0
#: A trained VAE's encoder is nearly deterministic (SD's posterior std is ~1e-3 of its latents'); a
#: random one's log-variance is ~0, which would bury the latents in sampling noise.
_LOGVAR = -20.0


def build_vae(scale: str = "tiny"):
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, norm_num_groups=32,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        sample_size=256, scaling_factor=TINY_LATENT_SCALE if scale == "tiny" else 0.18215,
                        **_SIZES[scale]["vae"])
    with torch.no_grad():  # the posterior's log-variance channels: a constant, as in a trained VAE
        vae.quant_conv.weight[4:] = 0
        vae.quant_conv.bias[4:] = _LOGVAR
    return vae


def attention_tensors(unet, seed: int = 0) -> dict[str, torch.Tensor]:
    """A random attention file for this UNet, with the published key names (fp32)."""
    g = torch.Generator().manual_seed(seed)
    return {s.key: torch.randn(s.shape, generator=g) * (0.02 if s.key.endswith("bias") else 0.05)
            for s in attention_slots(unet)}


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins of byte-level BPE (GPT-2's and CLIP's byte-to-unicode table)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return [chr(b if b in keep else next(extra)) for b in range(256)]


def write_tiny_clip(folder: Path, seed: int = 0) -> None:
    """``text_encoder/`` (a 2-layer CLIP text model) and ``tokenizer/`` (byte-level BPE with a few
    merges) in Stable Diffusion's layout; transformers loads both as it loads the real ones."""
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    CLIPTextModel(CLIPTextConfig(**tiny_clip_text_config(write_clip_tokenizer(folder / "tokenizer")))
                  ).save_pretrained(folder / "text_encoder")


def write_clip_tokenizer(folder: Path) -> int:
    """CLIP's tokenizer files (byte-level BPE with a few merges) in ``folder``; returns the vocabulary size."""
    import json

    symbols = _byte_symbols()
    merges = ["r e", "re d</w>", "b l", "bl u", "blu e</w>", "t o", "to p</w>"]
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    for merge in merges:
        vocab["".join(merge.split())] = len(vocab)
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>"}))
    return len(vocab)


def tiny_clip_text_config(vocab_size: int) -> dict:
    """A 2-layer CLIP text tower for the tokenizer of :func:`write_clip_tokenizer`."""
    return dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=77, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                pad_token_id=vocab_size - 1)


def write_random_catvton(root: str | Path, scale: str = "tiny", mask_free: bool = False, seed: int = 0,
                         text: bool = False) -> dict[str, Path]:
    """Write ``base/`` (unet, vae, scheduler; with ``text``, the tiny CLIP too) and
    ``attn/attention/model.safetensors`` under ``root``."""
    from diffusers import DDIMScheduler
    from safetensors.torch import save_file

    root = Path(root)
    torch.manual_seed(seed)
    unet = build_unet(scale, 8 if mask_free else 9)
    base = root / "base"
    unet.save_pretrained(base / "unet")
    build_vae(scale).save_pretrained(base / "vae")
    DDIMScheduler(**SD15_SCHEDULE).save_pretrained(base / "scheduler")
    if text:
        write_tiny_clip(base, seed)
    attn = root / "attn"
    (attn / "attention").mkdir(parents=True, exist_ok=True)
    save_file(attention_tensors(unet, seed), str(attn / "attention" / "model.safetensors"))
    return {"base_model": base, "vae": base / "vae", "attn_weights": attn}
