"""Speed of the catvton engine against a straightforward implementation of the published algorithm.

Both run the full-size architecture (Stable Diffusion 1.5 inpainting UNet and VAE, CatVTON's
attention file layout) with random weights, so the FLOPs are the real model's; image quality is
not measured here (random weights draw noise; judging fewer steps needs the real weights).

(a) the reference at its own published defaults, the baseline a user actually runs: the published
    algorithm written out plainly (50 DDIM steps, eta 1, classifier-free guidance as a batch of two,
    diffusers' default attention) in bf16 with TF32 allowed, as CatVTON's inference.py and app.py run
    it (on a CPU: fp32).
(a0) the same in plain fp32 with PyTorch's default precision (no user runs this; kept for context).
(b) ours: CatVTONPipeline in bf16 (channels-last, optionally torch.compile; ``--compile both``
    times it without, then with), same steps, seed, noise and bf16 weights as (a); its output is
    compared with (a)'s (PSNR).
(c) the fast preset: DPM-Solver++ with fewer steps.

Prints each run as it is measured (seconds per try-on, peak GPU memory, the model FLOPs utilisation
of the UNet steps) and last the speed-up over (a) (target: at least 2x at 35 dB or more).

Usage: python benchmarks/catvton_speed.py [--scale full|tiny] [--size 768x1024] [--steps 50]
       [--fast-steps 8] [--compile [no|yes|both]] [--device cuda|cpu]
       [--repeats 3] [--skip-fp32]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from tryon.engines.catvton.attention import load_attention_weights, skip_cross_attention
from tryon.engines.catvton.pipeline import CatVTONPipeline, make_scheduler
from tryon.engines.options import parse_size
from tryon.engines.catvton.testing import SD15_SCHEDULE, attention_tensors, build_unet, build_vae

from gpu import COMPILE_VARIANTS as VARIANTS, peak_flops


def reference(unet, vae, scheduler, person, garment, mask, steps, guidance, seed):
    """The published algorithm, plainly, in the weights' precision: DDIM, guidance as a batch of two
    (unconditional first), every tensor in that precision as the published pipeline keeps them."""
    g = torch.Generator().manual_seed(seed)
    dev, dtype = person.device, next(unet.parameters()).dtype
    scale = vae.config.scaling_factor
    person, garment, mask = person.to(dtype), garment.to(dtype), mask.to(dtype)

    def encode(x):
        dist = vae.encode(x).latent_dist
        return (dist.mean + dist.std * torch.randn(dist.mean.shape, generator=g).to(dev, dtype)) * scale

    masked = encode(person * (mask < 0.5))
    cond = encode(garment)
    mask_lat = torch.nn.functional.interpolate(mask, size=masked.shape[-2:], mode="nearest")
    concat = torch.cat([masked, cond], dim=-2)
    mask_concat = torch.cat([mask_lat, torch.zeros_like(mask_lat)], dim=-2)
    latents = torch.randn(concat.shape, generator=g).to(dev, dtype) * scheduler.init_noise_sigma
    concat = torch.cat([torch.cat([masked, torch.zeros_like(cond)], dim=-2), concat])
    mask_concat = torch.cat([mask_concat] * 2)
    scheduler.set_timesteps(steps, device=dev)
    for t in scheduler.timesteps:
        x = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        noise = unet(torch.cat([x, mask_concat, concat], dim=1), t, encoder_hidden_states=None, return_dict=False)[0]
        uncond, text = noise.chunk(2)
        noise = uncond + guidance * (text - uncond)
        latents = scheduler.step(noise, t, latents, eta=1.0, generator=g).prev_sample
    latents = latents.split(latents.shape[-2] // 2, dim=-2)[0]
    return (vae.decode(latents / scale).sample.float() / 2 + 0.5).clamp(0, 1)


def timed(fn, device, repeats=1):
    """Median seconds of ``repeats`` runs after one warm-up, and the last result."""
    out = fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR (dB) between two images in [0, 1]."""
    mse = torch.mean((a.float() - b.float()) ** 2).item()
    return 10 * np.log10(1 / mse) if mse > 0 else float("inf")


def unet_flops(unet, sample: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(sample, torch.tensor(500, device=sample.device), encoder_hidden_states=None, return_dict=False)
    return float(counter.get_total_flops())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument("--size", default="768x1024")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--fast-steps", type=int, default=8)
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--compile", nargs="?", const="yes", default="no", choices=tuple(VARIANTS),
                    help="torch.compile the UNet for (b) and (c); 'both' times (b) without, then with it")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-fp32", action="store_true", help="leave out (a0), the plain fp32 run")
    args = ap.parse_args()
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # casting random fp32 models to bf16 is what we mean to do
    w, h = parse_size(args.size)
    dev = args.device
    torch.manual_seed(0)

    # Random models in the published layout: the attention file goes through our loader.
    unet, vae = build_unet(args.scale), build_vae(args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        save_file(attention_tensors(unet), str(Path(tmp) / "model.safetensors"))
        load_attention_weights(unet, Path(tmp) / "model.safetensors")
    skip_cross_attention(unet)
    unet.eval().to(dev)
    vae.eval().to(dev)
    ddim = make_scheduler("ddim", SD15_SCHEDULE)

    g = torch.Generator().manual_seed(1)
    person = (torch.rand(1, 3, h, w, generator=g) * 2 - 1).to(dev)
    garment = (torch.rand(1, 3, h, w, generator=g) * 2 - 1).to(dev)
    mask = torch.zeros(1, 1, h, w, device=dev)
    mask[..., h // 5: 4 * h // 5, w // 6: 5 * w // 6] = 1

    name, peak = peak_flops(dev)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, device {name}, torch {torch.__version__}; "
          f"{args.scale} model, {w}x{h}, guidance {args.guidance}")
    flops = unet_flops(unet, torch.zeros(2, 9, h // 4, w // 8, device=dev))
    print(f"UNet FLOPs per step (batch of 2, {h // 4}x{w // 8} latent): {flops / 1e9:.1f} GFLOP")

    def mfu(seconds: float) -> str:
        return (f"; MFU of the UNet steps {flops * args.steps / seconds / peak:.1%} of {peak / 1e12:.0f} TFLOP/s "
                "(dense bf16 peak; the whole try-on's time, so VAE and sampler count against it)") if peak else ""

    t_fp32 = out_fp32 = None
    if not args.skip_fp32:
        if dev == "cuda":  # (a0) runs with PyTorch's defaults: fp32 matmuls, TF32 convolutions
            torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            t_fp32, out_fp32 = timed(lambda: reference(unet, vae, ddim, person, garment, mask, args.steps, args.guidance, 7),
                              dev, args.repeats)
        print(f"(a0) reference in plain fp32, {args.steps} DDIM steps: {t_fp32:.2f} s per try-on")

    # (a) the reference at its published defaults: bf16 weights and TF32 (CatVTON's inference.py, app.py).
    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    precision = str(dtype).split(".")[-1]
    if dev == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    unet.to(dtype=dtype)
    vae.to(dtype=dtype)
    if dev == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        t_ref, out_ref = timed(lambda: reference(unet, vae, ddim, person, garment, mask, args.steps, args.guidance, 7),
                               dev, args.repeats)
    mem_ref = torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else float("nan")
    print(f"(a) reference, {precision}{' + TF32' if dev == 'cuda' else ''}, {args.steps} DDIM steps: "
          f"{t_ref:.2f} s per try-on; peak GPU memory {mem_ref:.2f} GB{mfu(t_ref)}"
          + (f"; {psnr(out_ref, out_fp32):.1f} dB against (a0)" if out_fp32 is not None else ""))

    # (b) ours on the same weights: channels-last UNet, eager and/or compiled, each printed as it is
    # measured; (c) on the last of them.
    label = lambda variant: f"ours, {precision}{' + compile' if variant == 'compile' else ''}"  # noqa: E731
    unet.to(memory_format=torch.channels_last)
    ours = {}  # variant -> (seconds, PSNR against (a))
    for variant in VARIANTS[args.compile]:
        pipe = CatVTONPipeline(torch.compile(unet) if variant == "compile" else unet, vae,
                               make_scheduler("ddim", SD15_SCHEDULE))
        if dev == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        run = lambda steps: pipe(person, garment, mask, steps=steps, guidance=args.guidance,  # noqa: E731
                                 generator=torch.Generator().manual_seed(7))
        t_ours, out_ours = timed(lambda: run(args.steps), dev, args.repeats)
        ours[variant] = (t_ours, psnr(out_ours, out_ref))
        mem = torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else float("nan")
        print(f"(b) {label(variant)}, {args.steps} DDIM steps: {t_ours:.2f} s per try-on; peak GPU memory {mem:.2f} GB"
              f"{mfu(t_ours)}")
        print(f"    {t_ref / t_ours:.2f}x (a)'s speed at {ours[variant][1]:.1f} dB against its output"
              + (f"; {t_fp32 / t_ours:.2f}x (a0)'s speed, {psnr(out_ours, out_fp32):.1f} dB against its output"
                 if out_fp32 is not None else ""))
    pipe.set_scheduler("dpm++")
    t_fast, _ = timed(lambda: run(args.fast_steps), dev, args.repeats)
    print(f"(c) fast preset ({label(variant)}), DPM-Solver++ {args.fast_steps} steps: {t_fast:.2f} s per try-on")
    best = min(ours, key=lambda v: ours[v][0])
    print(f"speed-up of ({label(best)}) over (a), the reference at its published defaults: "
          f"{t_ref / ours[best][0]:.2f}x (target >= 2x) at {ours[best][1]:.1f} dB PSNR against its output "
          "(target >= 35 dB)")

if __name__ == "__main__":
    main()
