"""Person and garment analysis against the evalset's reference files, and speed.

Prints keypoint PCK@0.1, parsing IoU per merged region, garment-mask IoU, and per-stage timings,
with the machine it ran on. Usage: python benchmarks/analysis.py [--only pose|parse|garment|speed]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data.evalset import Evalset, find_evalset
from tryon.imageio import load_image, load_mask
from tryon.person.keypoints import BODY_JOINTS, Keypoints

LIP_REGIONS = {"upper": (5, 6, 7), "lower": (9, 12), "arms": (14, 15), "face+hair": (2, 13), "background": (0,)}
DRESSCODE_REGIONS = {"upper": (4, 7), "lower": (5, 6), "arms": (14, 15), "face+hair": (2, 11), "background": (0,)}
TARGETS = {"upper": 0.80, "lower": 0.75, "arms": 0.65, "face+hair": 0.75, "background": 0.97}


def reference_keypoints(ref_path: Path, width: int, height: int) -> Keypoints:
    data = json.loads(ref_path.read_text())
    if "keypoints" in data:  # DressCode: [x, y, score, id] at 384 px width, -1 where unseen
        k = np.asarray(data["keypoints"], np.float32)
        s = width / 384.0
        conf = np.where((k[:, 0] >= 0) & (k[:, 1] > 0), k[:, 2], 0)
        flat = np.c_[k[:, :2] * s, conf].ravel().tolist()
        data = {"people": [{"pose_keypoints_2d": flat}]}
    return Keypoints.from_openpose(data, width, height)


def bench_pose(ev: Evalset, analyzer) -> float:
    hits = total = 0
    for ref, person in ev.references("pose_json"):
        img = load_image(person.path)
        h, w = img.shape[:2]
        gt = reference_keypoints(ref.path, w, h)
        pred = analyzer.pose(img).keypoints
        scale = gt.torso_length()
        for j in BODY_JOINTS:
            if gt.seen(j) and pred.seen(j):
                total += 1
                hits += np.linalg.norm(gt.xy[j] - pred.xy[j]) / scale < 0.1
    pck = hits / max(total, 1)
    print(f"keypoints PCK@0.1 over body joints: {pck:.3f} ({hits}/{total} joints, target >= 0.95)")
    return pck


def region_iou(pred: np.ndarray, ref: np.ndarray, pred_labels, ref_labels) -> float | None:
    a, b = np.isin(pred, pred_labels), np.isin(ref, ref_labels)
    if not b.any():
        return None
    return float((a & b).sum() / max((a | b).sum(), 1))


def bench_parse(ev: Evalset, analyzer, verbose: bool = False) -> dict[str, float]:
    scores: dict[str, list[float]] = {k: [] for k in LIP_REGIONS}
    for ref, person in ev.references("parse"):
        if "garment parsing" in ref.notes:
            continue
        gt = np.asarray(Image.open(ref.path))
        if gt.ndim != 2:
            continue
        regions = DRESSCODE_REGIONS if "DressCode" in ref.notes else LIP_REGIONS
        res = analyzer.analyze(person.path)
        pred = np.asarray(Image.fromarray(res.parse).resize(gt.shape[::-1], Image.NEAREST))
        row = []
        for name, labels in regions.items():
            iou = region_iou(pred, gt, LIP_REGIONS[name], labels)
            if iou is not None:
                scores[name].append(iou)
            row.append(f"{name}={'-' if iou is None else f'{iou:.2f}'}")
        if verbose:
            print(f"  {person.file[8:60]:52s} " + " ".join(row))
    means = {k: float(np.mean(v)) for k, v in scores.items() if v}
    print("parsing IoU (mean over reference maps that have the region):")
    for k, v in means.items():
        print(f"  {k:11s} {v:.3f}  target >= {TARGETS[k]:.2f}  {'ok' if v >= TARGETS[k] else 'MISSED'}  (n={len(scores[k])})")
    return means


def bench_garment(ev: Evalset, garment_analyzer, verbose: bool = False) -> float:
    ious = []
    for ref, garment in ev.references("mask"):
        if "cloth-mask" not in ref.notes:
            continue
        gt = load_mask(ref.path)
        pred = garment_analyzer.mask(load_image(garment.path))
        pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.NEAREST)) > 127
        iou = float((pred & (gt > 127)).sum() / max((pred | (gt > 127)).sum(), 1))
        ious.append(iou)
        if verbose:
            print(f"  {garment.file:52s} IoU={iou:.3f}")
    mean = float(np.mean(ious)) if ious else float("nan")
    print(f"garment mask IoU: mean {mean:.3f}, min {min(ious):.3f} over {len(ious)} references (target >= 0.95)")
    return mean


def bench_speed(ev: Evalset, analyzer, garment_analyzer) -> None:
    persons = [e for e in ev.of_kind("person", "studio")][:12]
    images = []
    for e in persons:
        img = Image.fromarray(load_image(e.path)).resize((768, 1024), Image.LANCZOS)
        images.append(np.asarray(img))
    analyzer.analyze(images[0])
    stages: dict[str, list[float]] = {}
    for img in images:
        res = analyzer.analyze(img)
        t = time.perf_counter()
        res.agnostic_mask("upper")
        res.timings["agnostic"] = time.perf_counter() - t
        res.timings["total"] += res.timings["agnostic"]
        for k, v in res.timings.items():
            stages.setdefault(k, []).append(v)
    print(f"person analysis at 768x1024, {len(images)} photos, models loaded (median ms):")
    for k, v in stages.items():
        print(f"  {k:13s} {1000 * np.median(v):7.1f}")
    total = float(np.median(stages["total"]))
    print(f"  => {total:.3f} s per photo (target <= 0.3 s)")
    garments = [load_image(e.path) for e in ev.of_kind("garment")[:12]]
    garment_analyzer.analyze(garments[0])
    t = time.perf_counter()
    for g in garments:
        garment_analyzer.analyze(g)
    print(f"garment analysis: {1000 * (time.perf_counter() - t) / len(garments):.1f} ms per product photo")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["pose", "parse", "garment", "speed"])
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("evalset not found: set TRYON_EVALSET to the folder holding manifest.csv")
    ev = Evalset(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, evalset {root}")
    from tryon.garment.analyzer import GarmentAnalyzer
    from tryon.person.analyzer import PersonAnalyzer

    analyzer = PersonAnalyzer()
    garments = GarmentAnalyzer()
    if args.only in (None, "pose"):
        bench_pose(ev, analyzer)
    if args.only in (None, "parse"):
        bench_parse(ev, analyzer, args.verbose)
    if args.only in (None, "garment"):
        bench_garment(ev, garments, args.verbose)
    if args.only in (None, "speed"):
        bench_speed(ev, analyzer, garments)


if __name__ == "__main__":
    main()
