"""The catvton engine end to end on a GPU, as a user runs it: folders on disk, photos, masks.

Writes the full-size architecture with random weights in the published folder layout (a diffusers
base model with ``unet/``, ``vae/``, ``scheduler/`` and a CatVTON ``attention/model.safetensors``),
loads it through ``get_engine("catvton", ...)`` and dresses the evalset's paired photos under their
reference masks (a user's mask: no person analysis runs). Random weights draw noise, so this checks
behaviour and cost, not looks: output size; determinism per seed (the first request is run again
alone and compared, in 8-bit levels, with its first output, which came from a batch for batch4);
and the time and peak GPU memory of each setting (bf16, fp16, fast preset, batch of four, model
CPU offload, VAE tiling, both, torch.compile).

Usage: python benchmarks/catvton_engine.py [--scale full|tiny] [--steps 50] [--settings NAME ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

import numpy as np
import torch

from tryon.data.evalset import Evalset, find_evalset
from tryon.engines import get_engine
from tryon.engines.base import TryOnRequest
from tryon.engines.catvton.testing import write_random_catvton
from tryon.imageio import load_image

#: name -> (engine settings, garments per batch)
SETTINGS = {
    "bf16": ({"dtype": "bf16"}, 1),
    "fp16": ({"dtype": "fp16"}, 1),
    "fast": ({"dtype": "bf16", "scheduler": "dpm++", "steps": 8}, 1),
    "batch4": ({"dtype": "bf16"}, 4),
    "offload": ({"dtype": "bf16", "offload": True}, 1),
    "vae-tiling": ({"dtype": "bf16", "vae_tiling": True}, 1),
    "small-gpu": ({"dtype": "bf16", "offload": True, "vae_tiling": True}, 1),
    "compile": ({"dtype": "bf16", "compile": True}, 1),
}


def requests(ev: Evalset) -> list[TryOnRequest]:
    return [TryOnRequest(person.path, garment.path, "upper", mask.path)
            for _, person, garment, mask in ev.masked_pairs()]


def measure(engine, reqs: list[TryOnRequest], per_batch: int) -> tuple[float, float, list[np.ndarray]]:
    """Median seconds per try-on (after a warm-up batch), peak GPU memory in GB, the outputs."""
    engine.run_batch(reqs[:per_batch])
    if engine.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times, images = [], []
    for i in range(0, len(reqs), per_batch):
        t = time.perf_counter()
        results = engine.run_batch(reqs[i:i + per_batch])
        times.append((time.perf_counter() - t) / len(results))
        images += [r.image for r in results]
    peak = torch.cuda.max_memory_allocated() / 2**30 if engine.device.startswith("cuda") else float("nan")
    return float(np.median(times)), peak, images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("evalset not found: set TRYON_EVALSET to the folder holding manifest.csv")
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()  # casting the random fp32 files to half precision is what we mean
    reqs = requests(Evalset(root))
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, device {name}, torch {torch.__version__}; "
          f"{args.scale} model, working size 768x1024, {len(reqs)} evalset photos under their reference masks")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folders = write_random_catvton(tmp, args.scale)
        for label in args.settings:
            settings, per_batch = SETTINGS[label]
            flags = {**folders, "steps": args.steps, **settings}
            t = time.perf_counter()
            engine = get_engine("catvton", **flags)
            load = time.perf_counter() - t
            seconds, peak, images = measure(engine, reqs, per_batch)
            again = engine.run_batch(reqs[:1])[0].image
            sizes = all(img.shape == load_image(r.person).shape for img, r in zip(images, reqs))
            drift = int(np.abs(again.astype(int) - images[0]).max())  # the first request again, alone
            rows.append((label, flags["steps"], load, seconds, peak, drift, sizes))
            print(f"  {label}: {seconds:.2f} s per try-on, peak {peak:.2f} GB, load {load:.1f} s", flush=True)
            del engine
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    print(f"\n{'setting':11s} {'steps':>5s} {'load s':>7s} {'s/try-on':>9s} {'peak GB':>8s} "
          f"{'alone again: max diff':>22s} {'output size = photo':>20s}")
    for label, steps, load, seconds, peak, drift, sizes in rows:
        print(f"{label:11s} {steps:5d} {load:7.1f} {seconds:9.2f} {peak:8.2f} {drift:22d} {str(sizes):>20s}")


if __name__ == "__main__":
    main()
