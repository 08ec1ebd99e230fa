"""Write a garment analysis: mask, cut-out, category and landmarks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2

from tryon.garment.analyzer import GarmentAnalysis, cutout
from tryon.imageio import save_image


def save_garment_analysis(analysis: GarmentAnalysis, out_dir: str | os.PathLike) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    preview = cutout(analysis)
    for name, (x, y) in analysis.landmarks.points.items():
        cv2.circle(preview, (int(x), int(y)), max(3, preview.shape[1] // 120), (230, 30, 30), -1)
    files = {
        "mask": save_image(analysis.mask, out / "garment-mask.png"),
        **({"cutout": save_image(analysis.image, out / "garment-cutout.png")} if analysis.worn_photo is not None else {}),
        "landmarks_preview": save_image(preview, out / "garment-landmarks.png"),
        "summary": out / "garment.json",
    }
    files["summary"].write_text(json.dumps(garment_summary(analysis), indent=1))
    return files


def garment_summary(analysis: GarmentAnalysis) -> dict:
    """Category, landmarks and timings as JSON-ready data (garment.json, the server's /v1/analyze)."""
    return {
        "category": analysis.category.value,
        "category_confidence": round(analysis.category_confidence, 3),
        # True: the photo showed someone wearing it; the mask and landmarks are those of our cut-out.
        "worn_by_a_person": analysis.worn_photo is not None,
        "landmarks": {k: [round(v[0], 1), round(v[1], 1)] for k, v in analysis.landmarks.points.items()},
        "timings_s": {k: round(v, 4) for k, v in analysis.timings.items()},
    }
