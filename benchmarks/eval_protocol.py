"""The evaluation protocol (`tryon eval`) on the evalset, per engine: paired and unpaired, with strata.

Paired: each ground-truth pair with a reference agnostic mask; the engine gets the photo with the
mask painted grey, the mask, and keypoints from the original (as benchmarks/warp_engine.py); the
result is scored against the original with SSIM, PSNR, MS-SSIM, FID/KID and garment fidelity
(the ground truth's own garment fidelity beside it).

Unpaired: persons of both evalset halves (tuning / checking, split by source repository), studio
and in-the-wild, each dressed in a garment of the same half, categories in turn; FID/KID against
the persons' own photos and garment fidelity against the product photos, per category, source
(studio / in-the-wild) and half. Every number carries its protocol (JSON beside the report).

Usage: python benchmarks/eval_protocol.py [--engines warp] [--persons 12] [--out out/eval]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np

from tryon.data.evalset import Evalset, find_evalset
from tryon.engines import get_engine
from tryon.engines.base import MASK_GREY
from tryon.imageio import load_image, load_mask, save_image
from tryon.metrics.evaluate import EvalSettings, evaluate_folders
from tryon.metrics.report import write_report

SHOWN = (("ssim", "SSIM", 4), ("ms_ssim", "MS-SSIM", 4), ("fid", "FID", 2), ("kid_x1000", "KIDx1000", 2),
         ("delta_e", "dE00", 2), ("delta_e_truth", "dE00 truth", 2), ("print_kept", "print kept", 3),
         ("print_kept_truth", "print kept truth", 3))


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        dst.symlink_to(src.resolve())


def paired(ev: Evalset, engine, root: Path) -> tuple[Path, Path, Path]:
    for pair_id, person, garment, mask_entry in ev.masked_pairs():
        truth = load_image(person.path)
        mask = load_mask(mask_entry.path, size=(truth.shape[1], truth.shape[0])) > 0
        masked = truth.copy()
        masked[mask] = MASK_GREY
        keypoints = engine.persons.pose(truth).keypoints
        result = engine.run(masked, garment.path, "upper", mask=mask.astype(np.uint8) * 255, keypoints=keypoints)
        save_image(result.image, root / "results" / f"{pair_id}.png")
        _link(person.path, root / "gt" / f"{pair_id}{person.path.suffix}")
        _link(garment.path, root / "garments" / f"{pair_id}{garment.path.suffix}")
    return root / "results", root / "gt", root / "garments"


def unpaired(ev: Evalset, engine, root: Path, per_half: int) -> tuple[Path, Path, Path, Path, Path]:
    rows, pairs = [], []
    for half in ("tuning", "checking"):
        entries = ev.half(half)
        persons = [e for e in entries if e.kind == "person" and e.category in ("studio", "in-the-wild")]
        studio = [p for p in persons if p.category == "studio"][: per_half // 2]
        wild = [p for p in persons if p.category == "in-the-wild"][: per_half - len(studio)]
        garments = {c: [g for g in entries if g.kind == "garment" and g.category == c] for c in ("upper", "lower", "dress")}
        order = [c for c in ("upper", "lower", "dress") if garments[c]]
        for i, person in enumerate(studio + wild):
            category = order[i % len(order)]
            garment = garments[category][(i // len(order)) % len(garments[category])]
            pid, gid = f"p{len(rows):03d}", f"g{len(rows):03d}"
            _link(person.path, root / "gt" / f"{pid}{person.path.suffix}")
            _link(garment.path, root / "garments" / f"{gid}{garment.path.suffix}")
            try:
                result = engine.run(person.path, garment.path, category)
            except Exception as exc:  # an engine refusal is a result too: counted as missing, said why
                print(f"  {person.file} + {garment.file}: {type(exc).__name__}: {exc}")
                result = None
            if result is not None:
                save_image(result.image, root / "results" / f"{pid}_{gid}.png")
            rows.append({"id": pid, "source": person.category, "half": half, "category": category})
            pairs.append(f"{pid}.jpg {gid}.jpg")
    (root / "pairs.txt").write_text("\n".join(pairs) + "\n")
    with open(root / "strata.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "source", "half", "category"])
        writer.writeheader()
        writer.writerows(rows)
    return root / "results", root / "gt", root / "garments", root / "pairs.txt", root / "strata.csv"


def show(title: str, result: dict) -> None:
    s = result["summary"]
    print(f"{title}: {s['count']} images  " + "  ".join(
        f"{label} {s[key]:.{d}f}" for key, label, d in SHOWN if s.get(key) is not None))
    for kind, groups in result["strata"].items():
        for value, g in groups.items():
            print(f"  {kind}={value} ({g['count']}): " + "  ".join(
                f"{label} {g[key]:.{d}f}" for key, label, d in SHOWN if g.get(key) is not None))
    for w in s["warnings"]:
        print(f"  warning: {w}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="warp")
    parser.add_argument("--persons", type=int, default=12, help="unpaired persons per evalset half")
    parser.add_argument("--out", type=Path, default=Path("out/eval"))
    args = parser.parse_args()
    root = find_evalset()
    if root is None:
        raise SystemExit("evalset not found: set TRYON_EVALSET")
    ev = Evalset(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}")
    for name in args.engines.split(","):
        engine = get_engine(name)
        base = args.out / name
        t0 = time.perf_counter()
        pred, gt, garments = paired(ev, engine, base / "paired")
        result = evaluate_folders(pred, gt, EvalSettings(garments=garments, fid=True, engine=name)).result()
        show(f"{name} paired", result)
        write_report(result, base / "paired" / "report", pred, gt, garments)
        pred, gt, garments, pairs, strata = unpaired(ev, engine, base / "unpaired", args.persons)
        result = evaluate_folders(pred, gt, EvalSettings(setting="unpaired", pairs=pairs, garments=garments,
                                                         strata=strata, fid=True, engine=name)).result()
        show(f"{name} unpaired", result)
        write_report(result, base / "unpaired" / "report", pred, None, garments)
        print(f"  {time.perf_counter() - t0:.0f} s; reports in {base}/*/report/index.html")


if __name__ == "__main__":
    main()
