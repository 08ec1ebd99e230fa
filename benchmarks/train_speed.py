"""Training speed of ``tryon train``'s step: images/s, peak GPU memory and MFU.

The full-size Stable Diffusion 1.5 inpainting UNet and VAE with random weights (the real model's
FLOPs; quality is not measured here) in CatVTON's recipe (self-attention trained, AdamW), bf16
autocast with gradient checkpointing, at 512x384 and 1024x768; the baseline is the step without
the ControlNet, and the step with the pose ControlNet is printed as a ratio of it, run in the same
process. The step is ``tryon.training.trainer.training_loss`` (VAE encoding of person, masked person
and garment, noising, the UNet) plus the backward pass and the optimizer.

MFU: the FLOPs of one step as torch's FlopCounterMode counts them without recomputation (VAE
encoding, forward and backward), times steps per second, over the GPU's dense bf16 peak. Target on
an H100/H200: at least 40 % at 512x384. On a CPU it runs the tiny model in fp32 and says so.

Usage: python benchmarks/train_speed.py [--batch 8] [--steps 10] [--sizes 384x512,768x1024] [--no-checkpointing]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from tryon.engines.catvton.testing import SD15_SCHEDULE, build_unet, build_vae
from tryon.engines.options import parse_size
from tryon.training.config import load_config
from tryon.training.model import Components, Denoiser, make_trainable, trainable_parameters
from tryon.training.trainer import keyed_generator, training_loss

from gpu import peak_flops


def build(scale: str, pose: bool, device: str, checkpointing: bool, size: tuple[int, int]):
    from diffusers import ControlNetModel, DDPMScheduler

    torch.manual_seed(0)
    unet, vae = build_unet(scale), build_vae(scale)
    frozen = torch.bfloat16 if device == "cuda" else torch.float32
    parts = Components(unet, vae.to(device, frozen).requires_grad_(False).eval(), DDPMScheduler.from_config(SD15_SCHEDULE))
    if pose:
        parts.controlnet = ControlNetModel.from_unet(unet)
    config = load_config({"size": f"{size[0]}x{size[1]}", "controlnet": "pose" if pose else "none",
                          "gradient_checkpointing": checkpointing, "workers": 0})
    make_trainable(parts, config)
    denoiser = Denoiser(parts.unet, parts.controlnet).to(device)
    optimizer = torch.optim.AdamW(trainable_parameters(denoiser), lr=1e-5)
    return parts, denoiser, optimizer, config


def batch_of(n: int, size: tuple[int, int], device: str) -> dict:
    w, h = size
    g = torch.Generator().manual_seed(1)
    mask = torch.zeros(n, 1, h, w)
    mask[..., h // 5: 4 * h // 5, w // 6: 5 * w // 6] = 1
    return {"person": torch.rand(n, 3, h, w, generator=g) * 2 - 1, "garment": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
            "mask": mask, "pose": torch.rand(n, 3, h, w, generator=g), "prompt": [""] * n}


def step(parts, denoiser, optimizer, batch, config, device, k: int) -> None:
    with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
        loss = training_loss(parts, denoiser, batch, config, keyed_generator(0, k), torch.device(device))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def step_flops(parts, denoiser, optimizer, batch, config, device) -> float:
    """One step's FLOPs without recomputation (checkpointing off while counting)."""
    from torch.utils.flop_counter import FlopCounterMode

    models = [m for m in (denoiser.unet, denoiser.controlnet) if m is not None]
    for m in models:
        m.disable_gradient_checkpointing()
    with FlopCounterMode(display=False) as counter:
        step(parts, denoiser, optimizer, batch, config, device, 0)
    if config.gradient_checkpointing:
        for m in models:
            m.enable_gradient_checkpointing()
    return float(counter.get_total_flops())


def measure(scale: str, pose: bool, size: tuple[int, int], batch_size: int, steps: int, device: str,
            checkpointing: bool) -> dict:
    parts, denoiser, optimizer, config = build(scale, pose, device, checkpointing, size)
    batch = batch_of(batch_size, size, device)
    flops = step_flops(parts, denoiser, optimizer, batch, config, device)
    for k in range(2):  # warm-up: kernels chosen, allocator grown
        step(parts, denoiser, optimizer, batch, config, device, k)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for k in range(steps):
        step(parts, denoiser, optimizer, batch, config, device, k)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t) / steps
    memory = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
    trained = sum(p.numel() for p in trainable_parameters(denoiser))
    del parts, denoiser, optimizer
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"images_per_s": batch_size / seconds, "seconds": seconds, "memory_gb": memory, "flops": flops,
            "trained": trained}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--scale", choices=("full", "tiny"), default=None, help="default: full on a GPU, tiny on a CPU")
    ap.add_argument("--batch", type=int, default=None, help="pairs per step (default 8 on a GPU, 2 on a CPU)")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 10 on a GPU, 2 on a CPU)")
    ap.add_argument("--sizes", default=None, help="WIDTHxHEIGHT list (default 384x512,768x1024; CPU 64x128)")
    ap.add_argument("--no-checkpointing", action="store_true",
                    help="keep every activation (faster where the GPU's memory allows; default on a GPU: checkpointing)")
    args = ap.parse_args()
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    dev = args.device
    gpu = dev == "cuda"
    scale = args.scale or ("full" if gpu else "tiny")
    batch = args.batch or (8 if gpu else 2)
    steps = args.steps or (10 if gpu else 2)
    sizes = [parse_size(s) for s in (args.sizes or ("384x512,768x1024" if gpu else "64x128")).split(",")]
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    name, peak = peak_flops(dev)
    checkpointing = gpu and not args.no_checkpointing
    precision = {True: "bf16 autocast" + (", gradient checkpointing" if checkpointing else ", no checkpointing"),
                 False: "fp32 on the CPU"}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, device {name}, torch {torch.__version__}; "
          f"{scale} model ({precision[gpu]}{'' if scale == 'full' else ', the TINY test model: not the real one'}), "
          f"batch {batch}, attention-only training (CatVTON's recipe)")
    for w, h in sizes:
        base = measure(scale, False, (w, h), batch, steps, dev, checkpointing)
        pose = measure(scale, True, (w, h), batch, steps, dev, checkpointing)
        print(f"{w}x{h}: {base['images_per_s']:.2f} images/s ({base['seconds']:.3f} s per step of {batch}), "
              f"peak GPU memory {base['memory_gb']:.1f} GB, {base['flops'] / batch / 1e12:.2f} TFLOP per image, "
              f"{base['trained'] / 1e6:.1f}M trained parameters")
        print(f"  with the pose ControlNet: {pose['images_per_s'] / base['images_per_s']:.2f}x the baseline's images/s "
              f"({pose['images_per_s']:.2f} images/s), peak GPU memory {pose['memory_gb']:.1f} GB, "
              f"{pose['trained'] / 1e6:.1f}M trained parameters")
        if peak is not None:
            for label, r in (("baseline", base), ("with ControlNet", pose)):
                print(f"  MFU {label}: {r['flops'] / r['seconds'] / peak:.1%} of {peak / 1e12:.0f} TFLOP/s "
                      "(dense bf16 peak; target >= 40% at 384x512)")


if __name__ == "__main__":
    main()
