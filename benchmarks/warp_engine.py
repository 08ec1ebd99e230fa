"""The warp engine under the paired protocol, its speed per stage, and an unpaired contact sheet.

Paired protocol (issue #3): for each ground-truth pair of the evalset with a reference agnostic
mask, the engine gets the person photo with the mask region painted grey, the mask, keypoints
estimated on the original photo, and the product photo; the output is compared with the original
photo (SSIM as pytorch-msssim, at the ground truth's size). The grey-fill baseline (the masked
input itself) is printed beside it from the same run.

Usage: python benchmarks/warp_engine.py [--only paired|speed|sheet] [--sheet OUT.png [--half checking --seed N]]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

from machine import reference_seconds
from tryon.data.evalset import Evalset, find_evalset
from tryon.engines import get_engine
from tryon.engines.base import MASK_GREY
from tryon.imageio import load_image, load_mask
from tryon.metrics.image import ms_ssim, psnr, ssim


def bench_paired(ev: Evalset, engine) -> None:
    rows = []
    for pair_id, person, garment, mask_entry in ev.masked_pairs():
        truth = load_image(person.path)
        mask = load_mask(mask_entry.path, size=(truth.shape[1], truth.shape[0])) > 0
        masked = truth.copy()
        masked[mask] = MASK_GREY
        keypoints = engine.persons.pose(truth).keypoints  # from the original photo, per the protocol
        result = engine.run(masked, garment.path, "upper", mask=mask.astype(np.uint8) * 255, keypoints=keypoints)
        rows.append((pair_id, ssim(result.image, truth), ssim(masked, truth), psnr(result.image, truth),
                     psnr(masked, truth), ms_ssim(result.image, truth)))
        print(f"  {pair_id}: SSIM {rows[-1][1]:.4f} (grey fill {rows[-1][2]:.4f})  PSNR {rows[-1][3]:.2f} dB "
              f"(grey {rows[-1][4]:.2f})  MS-SSIM {rows[-1][5]:.4f}")
    a = np.array([r[1:] for r in rows])
    print(f"paired, {len(rows)} pairs: SSIM {a[:, 0].mean():.4f} vs grey fill {a[:, 1].mean():.4f} "
          f"(target >= 0.87); PSNR {a[:, 2].mean():.2f} dB vs {a[:, 3].mean():.2f}; MS-SSIM {a[:, 4].mean():.4f}")


def bench_speed(ev: Evalset, engine) -> None:
    from PIL import Image

    people = [e for e in ev.of_kind("person", "studio") if e.path.suffix != ".png"][:8]
    garments = ev.of_kind("garment", "upper")[:8]
    engine.run(load_image(people[0].path), garments[0].path)
    stages: dict[str, list[float]] = {}
    for p, g in zip(people, garments):
        img = np.asarray(Image.fromarray(load_image(p.path)).resize((768, 1024), Image.LANCZOS))
        garment = load_image(g.path)
        try:
            res = engine.run(img, garment, "upper")
        except Exception as exc:  # report, keep measuring
            print(f"  {p.file}: {exc}")
            continue
        for k, v in res.timings.items():
            stages.setdefault(k, []).append(v)
    reference = reference_seconds()
    print(f"speed at 768x1024, models loaded, {len(stages.get('total', []))} try-ons (median ms; in units of "
          f"this process's reference workload, benchmarks/machine.py: {1000 * reference:.1f} ms now):")
    for k, v in stages.items():
        print(f"  {k:9s} {1000 * np.median(v):7.1f}  ({np.median(v) / reference:5.1f} x reference)")
    print(f"  => {np.median(stages['total']):.3f} s per try-on end to end (target <= 0.5 s), "
          f"{np.median(stages['total']) / reference:.1f} x the reference workload")


def sheet(ev: Evalset, engine, path: str, half: str | None = None, count: int = 9, seed: int = 0) -> None:
    """Unpaired try-ons, upper, lower and dress in turn: studio persons by default, or persons and
    garments drawn (``seed``) from one evalset half (the ``checking`` half is the one to judge)."""
    from tryon.imageio import save_image
    from tryon.sheet import contact_sheet

    if half is None:
        people = [e for e in ev.of_kind("person", "studio")][::5][:8]
        garments = {c: ev.of_kind("garment", c)[:3] for c in ("upper", "lower", "dress")}
    else:
        pool = ev.half(half)
        rng = np.random.default_rng(seed)
        persons = [e for e in pool if e.kind == "person"]
        people = [persons[i] for i in rng.choice(len(persons), min(count, len(persons)), replace=False)]
        garments = {c: [pool[i] for i in rng.permutation(len(pool)) if pool[i].kind == "garment" and pool[i].category == c]
                    for c in ("upper", "lower", "dress")}
    rows = []
    for i, person in enumerate(people):
        for cat, items in garments.items() if half is None else [list(garments.items())[i % 3]]:
            g = items[i % len(items)]
            try:
                out = engine.run(person.path, g.path, cat).image
                caption = f"{person.file[8:40]} + {g.file[9:40]} ({cat})"
            except Exception as exc:
                out, caption = None, f"{cat}: {exc}"
            rows.append((load_image(person.path), load_image(g.path), out, caption))
    save_image(contact_sheet(rows), path)
    print(f"contact sheet: {path}")


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheet", help="also write an unpaired contact sheet here")
    ap.add_argument("--only", choices=["paired", "speed", "sheet"])
    ap.add_argument("--half", choices=["tuning", "checking"], help="draw the sheet's persons and garments from this half")
    ap.add_argument("--seed", type=int, default=0, help="which persons and garments the sheet draws from a half")
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("evalset not found: set TRYON_EVALSET")
    ev = Evalset(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    engine = get_engine("warp")
    if args.only in (None, "paired"):
        bench_paired(ev, engine)
    if args.only in (None, "speed"):
        bench_speed(ev, engine)
    if args.sheet:
        sheet(ev, engine, args.sheet, args.half, seed=args.seed)


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t:.0f} s)")
