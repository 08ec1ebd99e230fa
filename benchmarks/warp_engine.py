"""The warp engine under the paired protocol, its speed per stage, and an unpaired contact sheet.

Paired protocol (issue #3): for each ground-truth pair of the evalset with a reference agnostic
mask, the engine gets the person photo with the mask region painted grey, the mask, keypoints
estimated on the original photo, and the product photo; the output is compared with the original
photo (SSIM as pytorch-msssim, at the ground truth's size). The grey-fill baseline (the masked
input itself) is printed beside it from the same run.

Light (``--only light``): on every evalset photo with bare arms, the real arms' lightness step from
one side to the other (0.6-0.9 of the way out from the axis, as a share of the axis' lightness)
against the step the engine gives a rebuilt arm from the face's two halves
(``compose.LATERAL_PER_FACE``), per half: correlation, best slope, and the error with and without it.

Usage: python benchmarks/warp_engine.py [--only paired|speed|sheet|light] [--sheet OUT.png [--half checking --seed N]]
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
          f"this process's reference workload, benchmarks/machine.py: {1000 * reference:.1f} ms now; garment and "
          f"warp run beside person, so the stages add up to more than the total):")
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


#: Where across a limb the light benchmark reads its sides (share of the half-width from the axis).
SIDE_BAND = (0.6, 0.9)


def arm_side_steps(image: np.ndarray, parse: np.ndarray, kp) -> list[float]:
    """Lightness step (+x side less -x side, relative to the axis) across the photo's own bare arms,
    one per profile: nine profiles along the middle half of each upper arm and forearm whose parsed
    skin lies wholly inside the search line."""
    import cv2

    from tryon.person.keypoints import Joint as J
    from tryon.person.parsing import ARMS, of_labels

    arms = of_labels(parse, ARMS)
    lum = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    h, w = arms.shape
    steps = []
    for a, b in ((J.R_SHOULDER, J.R_ELBOW), (J.R_ELBOW, J.R_WRIST), (J.L_SHOULDER, J.L_ELBOW), (J.L_ELBOW, J.L_WRIST)):
        if not (kp.seen(a) and kp.seen(b)):
            continue
        start, end = kp.xy[a].astype(float), kp.xy[b].astype(float)
        length = float(np.linalg.norm(end - start))
        if length < 20:
            continue
        across = np.array([-(end - start)[1], (end - start)[0]]) / length
        across = across if across[0] >= 0 else -across  # towards +x
        for t in np.linspace(0.25, 0.75, 9):
            offsets = np.arange(-80, 81) * (length / 120)
            pts = np.round(start + t * (end - start) + offsets[:, None] * across).astype(int)
            if pts.min() < 0 or (pts[:, 0] >= w).any() or (pts[:, 1] >= h).any():
                continue
            skin = arms[pts[:, 1], pts[:, 0]]
            mid = len(offsets) // 2
            if not skin[mid]:
                continue
            lo, hi = mid, mid
            while lo > 0 and skin[lo - 1]:
                lo -= 1
            while hi < len(offsets) - 1 and skin[hi + 1]:
                hi += 1
            if hi - lo < 8 or lo == 0 or hi == len(offsets) - 1:
                continue
            q = (offsets[lo:hi + 1] - (offsets[lo] + offsets[hi]) / 2) / ((offsets[hi] - offsets[lo]) / 2)
            values = lum[pts[lo:hi + 1, 1], pts[lo:hi + 1, 0]]
            axis = float(np.median(values[np.abs(q) < 0.25]))
            if axis < 20:
                continue
            band = (np.abs(q) >= SIDE_BAND[0]) & (np.abs(q) <= SIDE_BAND[1])
            steps.append((values[band & (q > 0)].mean() - values[band & (q < 0)].mean()) / axis)
    return steps


def bench_light(ev: Evalset) -> None:
    from tryon.engines.warp.compose import ROUND_SHADE, skin_light
    from tryon.person.analyzer import PersonAnalyzer
    from tryon.errors import TryOnError

    analyzer = PersonAnalyzer()
    band = np.mean(SIDE_BAND)
    # The engine's step at the band: gain 1 + lateral q on each side, under the round shade there.
    per_lateral = 2 * band * (1 - ROUND_SHADE * band ** 2)
    print("light: real bare arms' side-to-side step vs the rebuilt arm's, from the face")
    for half in ("tuning", "checking"):
        real, given = [], []
        for e in ev.half(half):
            if e.kind != "person":
                continue
            try:
                a = analyzer.analyze(load_image(e.path))
            except TryOnError:
                continue
            steps = arm_side_steps(a.image, a.parse, a.keypoints)
            light = skin_light(a.image, a.parse, np.ones(a.parse.shape, bool))
            if len(steps) < 4 or light is None:
                continue
            real.append(float(np.median(steps)))
            given.append(light.lateral * per_lateral)
        r, g = np.array(real), np.array(given)
        if len(r) < 3:
            print(f"  {half}: too few photos with bare arms ({len(r)})")
            continue
        corr = float(np.corrcoef(r, g)[0, 1]) if g.std() > 0 else float("nan")
        best = float((r * g).sum() / max((g * g).sum(), 1e-9))
        print(f"  {half:8s} {len(r):2d} photos: correlation {corr:.2f}, best scale {best:.2f} x the engine's; "
              f"error (rms) {np.sqrt(np.mean((r - g) ** 2)):.3f} with it, {np.sqrt(np.mean(r ** 2)):.3f} without")


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheet", help="also write an unpaired contact sheet here")
    ap.add_argument("--only", choices=["paired", "speed", "sheet", "light"])
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
    if args.only in (None, "light"):
        bench_light(ev)
    if args.sheet:
        sheet(ev, engine, args.sheet, args.half, seed=args.seed)


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t:.0f} s)")
