"""Speed of the fashn engine's sampler against FASHN's published code, in one process.

Both run the full-size architecture (FASHN VTON v1.5's MMDiT, 972M parameters) with random weights
built in memory, so the FLOPs are the real model's; the published code is the oracle in
``shared/oracles/fashn-vton-1.5`` (or ``$TRYON_ORACLES/fashn-vton-1.5``).

(a) reference: the published sampler (``TryOnPipeline._sample``) on the published model, in its own
    settings: bf16 weights on a GPU that has bf16, else float32; guidance computed on every step.
(b) ours: FashnPipeline, bf16 on a GPU (float32 on a CPU), optionally with the repeated blocks
    compiled (``--compile``; ``--compile both`` times it without, then with), from the same initial
    noise; its output is compared with (a)'s (PSNR on [-1, 1], peak-to-peak 2).

On a GPU: a whole try-on at the published 864x576, 30 steps; target: (b) at least twice as fast as
(a), at 35 dB or more. On a CPU one step (with guidance) of each, at half the published size by
default (a published-size step takes minutes per model on a small CPU); it prints what 30 steps
would cost, also scaled to the published size by the FLOP count, and exits.

Usage: python benchmarks/fashn_speed.py [--size 576x864] [--steps 30] [--guidance 1.5] [--compile [no|yes|both]]
       [--device cuda|cpu] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import os
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

from tryon.engines.fashn.geometry import MODEL_SIZE
from tryon.engines.fashn.model import FashnMMDiT
from tryon.engines.fashn.pipeline import GUIDANCE, SKIP_CFG_LAST_N_STEPS, STEPS, TIME_SHIFT_MU, FashnPipeline
from tryon.engines.fashn.testing import random_model

from gpu import COMPILE_VARIANTS as VARIANTS, peak_flops

ORACLES = Path(os.environ.get("TRYON_ORACLES") or Path(__file__).resolve().parents[2] / "shared" / "oracles")
#: The CPU default: half the published size per side (a quarter of the tokens).
CPU_SIZE = (288, 432)
TARGET_SPEEDUP = 2.0
TARGET_PSNR = 35.0


def _stub(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    return module


def load_reference():
    """The published TryOnModel and TryOnPipeline. Stand-ins replace what their import pulls in but
    sampling never uses: torchvision's to_pil_image (the identity, so the sampler returns tensors),
    matplotlib, and the human parser's label tables."""
    root = ORACLES / "fashn-vton-1.5" / "src" / "fashn_vton"
    if not root.is_dir():
        sys.exit(f"FASHN's reference code not found at {root} (set TRYON_ORACLES)")
    # Shadowed only while the reference imports: a real torchvision, where installed, stays for the
    # libraries that import it later (transformers, through diffusers and peft).
    shadowed = {"torchvision": _stub("torchvision"), "torchvision.transforms": _stub("torchvision.transforms"),
                "torchvision.transforms.functional": _stub("torchvision.transforms.functional",
                                                           to_pil_image=lambda x: x),
                "matplotlib": _stub("matplotlib")}
    saved = {name: sys.modules.get(name) for name in shadowed}
    sys.modules.update(shadowed)
    sys.modules.update({
        "fashn_human_parser": _stub("fashn_human_parser", CATEGORY_TO_BODY_COVERAGE={}, FashnHumanParser=None,
                                    BODY_COVERAGE_TO_LABELS={}, IDENTITY_LABELS=(), LABELS_TO_IDS={}),
        "fashn_vton": _stub("fashn_vton", __path__=[str(root)])})
    try:
        return (importlib.import_module("fashn_vton.tryon_mmdit").TryOnModel,
                importlib.import_module("fashn_vton.pipeline").TryOnPipeline)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def reference_model(TryOnModel, model: FashnMMDiT, size: tuple[int, int], dtype: torch.dtype):
    """The published model (default architecture) holding the very same tensors as ``model``."""
    with torch.device("meta"):
        ref = TryOnModel(input_shape=size)
    ref.load_state_dict({k: v.to(dtype) for k, v in model.state_dict().items()}, assign=True)
    return ref.eval()


def reference_sample(TryOnPipeline, ref, inputs: dict, noise: torch.Tensor, steps: int, guidance: float, skip: int):
    """The published sampler, its noise draw answered with ``noise``."""
    dtype = next(ref.parameters()).dtype
    randn = torch.randn
    torch.randn = lambda *args, **kwargs: noise.to(dtype)
    try:
        images = TryOnPipeline._sample(
            types.SimpleNamespace(tryon_model=ref), ca_images=inputs["ca_images"].to(dtype),
            garment_images=inputs["garment_images"].to(dtype), person_poses=inputs["person_poses"].to(dtype),
            garment_poses=inputs["garment_poses"].to(dtype), garment_categories=inputs["categories"],
            num_timesteps=steps, time_shift_mu=TIME_SHIFT_MU, guidance_scale=guidance,
            skip_cfg_last_n_steps=skip, use_tqdm=False)
    finally:
        torch.randn = randn
    return torch.stack(images) * 2 - 1


def _rss() -> tuple[float, float]:
    """Current and peak resident memory of this process (GB), from /proc."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return tuple(int(fields[k].split()[0]) / 2**20 for k in ("VmRSS", "VmHWM"))


def reset_peak(device: str) -> float:
    """Start a peak-memory window; returns the baseline (GB)."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated() / 2**30
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
    except OSError:
        pass
    return _rss()[0]


def peak(device: str, baseline: float) -> float:
    """GPU: peak allocated (weights included); CPU: growth of the peak RSS over the baseline."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return _rss()[1] - baseline


def timed(fn, device: str, repeats: int, warmup: bool):
    """Median seconds of ``repeats`` runs (after one warm-up on a GPU), the last result, and the peak memory."""
    if warmup:
        fn()
    times, mem = [], 0.0
    for _ in range(repeats):
        baseline = reset_peak(device)
        t = time.perf_counter()
        out = fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        mem = max(mem, peak(device, baseline))
    return float(np.median(times)), out, mem


def step_flops(model: FashnMMDiT, size: tuple[int, int]) -> float:
    """FLOPs of one guided step (a batch of two), counted on meta tensors (nothing is computed)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        meta = FashnMMDiT(**model.config)
        h, w = size
        args = [torch.zeros(2, 3, h, w), torch.zeros(2), torch.zeros(2, 3, h, w), torch.zeros(2, 3, h, w),
                torch.zeros(2, 1, h, w), torch.zeros(2, 1, h, w), torch.ones(2, dtype=torch.long)]
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            meta(*args, keep=torch.tensor([True, False]))
    return float(counter.get_total_flops())


def machine(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = torch.mean((a.double().cpu() - b.double().cpu()) ** 2).item()
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", help="WIDTHxHEIGHT, multiples of 12 (GPU default 576x864; CPU default 288x432)")
    ap.add_argument("--steps", type=int, help=f"sampling steps (GPU default {STEPS}; CPU default 1)")
    ap.add_argument("--guidance", type=float, default=GUIDANCE)
    ap.add_argument("--skip-cfg-last", type=int, help=f"unguided last steps (default {SKIP_CFG_LAST_N_STEPS}, as "
                                                       "published; 0 in a one-step run, which times a guided step)")
    ap.add_argument("--compile", nargs="?", const="yes", default="no", choices=tuple(VARIANTS),
                    help="torch.compile (b)'s repeated blocks; 'both' times (b) without, then with it")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, help="timed runs per side (GPU default 3, CPU 1)")
    args = ap.parse_args()
    dev = args.device
    gpu = dev == "cuda"
    w, h = (int(v) for v in args.size.lower().split("x")) if args.size else (MODEL_SIZE if gpu else CPU_SIZE)
    steps = args.steps or (STEPS if gpu else 1)
    repeats = args.repeats or (3 if gpu else 1)
    skip = args.skip_cfg_last if args.skip_cfg_last is not None else (SKIP_CFG_LAST_N_STEPS if steps > 1 else 0)
    ref_dtype = torch.bfloat16 if gpu and torch.cuda.is_bf16_supported() else torch.float32
    our_dtype = torch.bfloat16 if gpu else torch.float32
    TryOnModel, TryOnPipeline = load_reference()

    model = random_model("full", seed=0, dtype=our_dtype)
    flops = step_flops(model, (h, w))
    model = model.to(dev)
    reference = reference_model(TryOnModel, model, (h, w), ref_dtype)
    g = torch.Generator().manual_seed(1)
    inputs = {k: (torch.rand(1, c, h, w, generator=g) * 2 - 1).to(dev) for k, c in
              (("ca_images", 3), ("garment_images", 3), ("person_poses", 1), ("garment_poses", 1))}
    inputs["categories"] = torch.tensor([1], device=dev)
    noise = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(2))

    name = lambda dtype: str(dtype).split(".")[-1]  # noqa: E731
    label = lambda variant: f"ours, {name(our_dtype)}{' + compile' if variant == 'compile' else ''}"  # noqa: E731
    memory = "peak GPU memory (weights included)" if gpu else "peak RSS growth (weights excluded)"
    _, peak_rate = peak_flops(dev)
    run_flops = flops * (steps - skip / 2)  # an unguided step is half a guided one

    def report(text: str, seconds: float, mem: float) -> None:
        mfu = f"; MFU {run_flops / seconds / peak_rate:.1%} of the dense bf16 peak" if peak_rate else ""
        print(f"{text}: {seconds:.2f} s for {steps} step(s), {seconds / steps:.2f} s per step; {memory} {mem:.2f} GB"
              f"{mfu}")

    print(f"machine: {machine(dev)}; full model (972M parameters, random weights), {w}x{h}, {steps} step(s), "
          f"guidance {args.guidance}, last {skip} step(s) unguided")
    with torch.no_grad():
        if not gpu:  # one cheap pass of each first, so neither side pays the first call's set-up
            small = {k: v[..., :24, :24] for k, v in inputs.items() if k != "categories"}
            model(noise[..., :24, :24], torch.zeros(1), **small, categories=inputs["categories"])
            reference_model(TryOnModel, model, (24, 24), ref_dtype)(
                noise[..., :24, :24], torch.zeros(1), **small, garment_categories=inputs["categories"])
        t_ref, out_ref, mem_ref = timed(
            lambda: reference_sample(TryOnPipeline, reference, inputs, noise.to(dev), steps, args.guidance, skip),
            dev, repeats, warmup=gpu)
        report(f"(a) reference, {name(ref_dtype)}", t_ref, mem_ref)
        pipe = FashnPipeline(model)
        run = lambda: pipe(**inputs, steps=steps, guidance=args.guidance, skip_cfg_last_n_steps=skip,  # noqa: E731
                           noise=noise)
        ours = {}  # variant -> (seconds, PSNR against (a)); each printed as it is measured
        for variant in VARIANTS[args.compile]:
            if variant == "compile":
                model.compile_repeated_blocks(fullgraph=True)
            t_ours, out_ours, mem_ours = timed(run, dev, repeats, warmup=gpu)
            ours[variant] = (t_ours, psnr(out_ours, out_ref))
            report(f"(b) {label(variant)}", t_ours, mem_ours)
            print(f"    {t_ref / t_ours:.2f}x (a)'s speed at {ours[variant][1]:.1f} dB against its output; peak "
                  f"memory {mem_ours / max(mem_ref, 1e-9):.2f}x (a)'s")
    best = min(ours, key=lambda v: ours[v][0])
    t_ours, quality = ours[best]
    print(f"speed-up of ({label(best)}) over (a): {t_ref / t_ours:.2f}x (target >= {TARGET_SPEEDUP:.0f}x on a GPU at "
          f"the published size); PSNR against (a), same noise: {quality:.1f} dB (target >= {TARGET_PSNR:.0f} dB)")
    if steps < STEPS:
        published = step_flops(model, (MODEL_SIZE[1], MODEL_SIZE[0]))
        for text, seconds in (("(a)", t_ref), ("(b)", t_ours)):
            per_step = seconds / steps
            print(f"{text} {STEPS} steps would take about {STEPS * per_step:.0f} s at {w}x{h}, and about "
                  f"{STEPS * per_step * published / flops / 60:.0f} min at the published "
                  f"{MODEL_SIZE[0]}x{MODEL_SIZE[1]} ({published / 1e12:.1f} vs {flops / 1e12:.1f} TFLOP per "
                  "guided step)")


if __name__ == "__main__":
    main()
