"""Person and garment analysis against the evalset's reference files, and speed.

Prints keypoint PCK@0.1, parsing IoU per merged region, garment-mask IoU, and per-stage timings,
with the machine it ran on. Usage: python benchmarks/analysis.py [--only pose|parse|garment|speed]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data.evalset import Evalset, find_evalset
from tryon.imageio import load_image, load_mask
from tryon.metrics.analysis import mask_iou, parsing_scores, pck_hits
from tryon.person.keypoints import Keypoints

TARGETS = {"upper": 0.80, "lower": 0.75, "arms": 0.65, "face+hair": 0.75, "background": 0.97}
#: Issue 20's targets on photos the heuristics were not tuned on (the checking half stands in).
UNSEEN_TARGETS = {"upper": 0.75, "lower": 0.72, "arms": 0.70, "face+hair": 0.80, "background": 0.97, "pck": 0.95}
#: Skin-tone groups by the individual typology angle (ITA, degrees) of the face's lit skin: the
#: dermatological light (> 41), intermediate and tan (10 to 41), brown and dark (< 10) classes, merged
#: into three for the evalset's few persons.
ITA_GROUPS = (("light (ITA > 41)", 41.0), ("intermediate (10-41)", 10.0), ("brown/dark (ITA < 10)", -90.0))


def _halves(ev: Evalset) -> dict[str, str]:
    """The evalset half of every person photo (split by source repository; tuned on ``tuning``)."""
    return {e.file: name for name in ("tuning", "checking") for e in ev.half(name) if e.kind == "person"}


def skin_tone(analysis) -> str | None:
    """The skin-tone group of an analysed person, from the mean CIELAB of the face mesh's lit skin
    (or, without a face found, of the skin the parse labels: face, neck, arms)."""
    import cv2

    from tryon.person.parsing import ARMS, Label, of_labels

    px = analysis.face.skin_samples(analysis.image) if analysis.face is not None else np.empty((0, 3))
    if len(px) < 25:
        skin = cv2.erode(of_labels(analysis.parse, (Label.FACE, Label.NECK) + ARMS).astype(np.uint8), np.ones((7, 7), np.uint8))
        px = analysis.image[skin > 0]
    if len(px) < 25:
        return None
    lab = cv2.cvtColor(px.reshape(1, -1, 3).astype(np.uint8), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)
    lightness, b = lab[:, 0].mean() * 100 / 255, lab[:, 2].mean() - 128
    ita = np.degrees(np.arctan2(lightness - 50, b))
    return next(name for name, floor in ITA_GROUPS if ita > floor)


def bench_pose(ev: Evalset, analyzer) -> float:
    halves = _halves(ev)
    counts: dict[str, list[int]] = {"all": [0, 0], "tuning": [0, 0], "checking": [0, 0]}
    for ref, person in ev.references("pose_json"):
        img = load_image(person.path)
        h, w = img.shape[:2]
        gt = Keypoints.load_openpose(ref.path, w, h)
        hit, both = pck_hits(analyzer.pose(img).keypoints, gt)
        for key in ("all", halves.get(person.file)):
            if key in counts:
                counts[key][0] += hit
                counts[key][1] += both
    hits, total = counts["all"]
    pck = hits / max(total, 1)
    print(f"keypoints PCK@0.1 over body joints: {pck:.3f} ({hits}/{total} joints, target >= 0.95); "
          + ", ".join(f"{k} half {h / max(t, 1):.3f} ({h}/{t})" for k, (h, t) in counts.items() if k != "all"))
    return pck


def bench_parse(ev: Evalset, analyzer, verbose: bool = False) -> dict[str, float]:
    halves = _halves(ev)
    groups: dict[str, dict[str, list[float]]] = {}
    for ref, person in ev.references("parse"):
        if "garment parsing" in ref.notes or "PICTURE" in ref.file:
            # PICTURE's map is not in LIP labels despite its note (1 = top, 5 = trousers, 14 = head).
            continue
        gt = np.asarray(Image.open(ref.path))
        if gt.ndim != 2:
            continue
        res = analyzer.analyze(person.path)
        pred = np.asarray(Image.fromarray(res.parse).resize(gt.shape[::-1], Image.NEAREST))
        tone = skin_tone(res)
        row = []
        for name, iou in parsing_scores(pred, gt, dresscode="DressCode" in ref.notes).items():
            if iou is not None:
                for key in ("all", f"{halves.get(person.file, '?')} half", f"skin: {tone}"):
                    groups.setdefault(key, {}).setdefault(name, []).append(iou)
            row.append(f"{name}={'-' if iou is None else f'{iou:.2f}'}")
        if verbose:
            print(f"  {person.file[8:60]:52s} {tone or '-':22s} " + " ".join(row))
    means = {k: float(np.mean(v)) for k, v in groups["all"].items()}
    print("parsing IoU (mean over reference maps that have the region):")
    for k, v in means.items():
        print(f"  {k:11s} {v:.3f}  target >= {TARGETS[k]:.2f}  {'ok' if v >= TARGETS[k] else 'MISSED'}  "
              f"(n={len(groups['all'][k])})")
    print("  per evalset half and per skin-tone group (n maps); issue 20's targets on unseen photos: "
          + ", ".join(f"{k} >= {v:.2f}" for k, v in UNSEEN_TARGETS.items() if k != "pck"))
    for key in sorted(k for k in groups if k != "all"):
        print(f"  {key:30s} " + "  ".join(f"{name} {np.mean(v):.3f} ({len(v)})" for name, v in groups[key].items()))
    return means


def bench_garment(ev: Evalset, garment_analyzer, verbose: bool = False) -> float:
    ious = []
    for ref, garment in ev.references("mask"):
        if "cloth-mask" not in ref.notes:
            continue
        gt = load_mask(ref.path)
        pred = garment_analyzer.mask(load_image(garment.path))
        pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.NEAREST)) > 127
        iou = mask_iou(pred, gt > 127)
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


def bench_prepare(ev: Evalset, count: int = 24) -> None:
    """`tryon prepare` on evalset photos (persons and garments), 2 worker processes, 768x1024."""
    import shutil
    import tempfile

    from tryon.data.prepare import prepare_dataset

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for sub, entries in (("image", ev.of_kind("person", "studio")[:count]), ("cloth", ev.of_kind("garment")[:count])):
            (src / sub).mkdir(parents=True)
            for e in entries:
                shutil.copy(e.path, src / sub / e.path.name)
        workers = os.cpu_count() or 1
        report = prepare_dataset(src, Path(tmp) / "dst", (768, 1024), workers)
        n = report.done + len(report.failed)
        print(f"prepare: {n} photos ({count} persons + {count} garments) with {workers} workers in "
              f"{report.seconds:.1f} s = {n / report.seconds:.2f} images/s including worker start-up "
              f"(target >= 4); {len(report.failed)} failed")
        for name, why in report.failed:
            print(f"  failed: {name}: {why}")


def main() -> None:
    warnings.filterwarnings("ignore", category=UserWarning)
    os.environ.setdefault("GLOG_minloglevel", "2")
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["pose", "parse", "garment", "speed", "prepare"])
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
    if args.only in (None, "prepare"):
        bench_prepare(ev)


if __name__ == "__main__":
    main()
