"""Write a person analysis as the files ``tryon analyze`` promises (VITON-HD compatible)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tryon.category import Category
from tryon.imageio import save_image
from tryon.person.analyzer import PersonAnalysis
from tryon.person.render import overlay, render_pose


def save_person_analysis(analysis: PersonAnalysis, out_dir: str | os.PathLike,
                         focus: Category | str = Category.UPPER) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "keypoints": analysis.keypoints.save_openpose(out / "keypoints.json"),
        "pose": save_image(render_pose(analysis.keypoints), out / "pose.png"),
        "parse": save_image(analysis.parse, out / "parse.png"),
        "person_mask": save_image(analysis.person_mask, out / "person-mask.png"),
    }
    masks = {}
    for category in Category:
        masks[category] = analysis.agnostic_mask(category)
        files[f"agnostic_{category.value}"] = save_image(masks[category], out / f"agnostic-mask-{category.value}.png")
    focus = Category.parse(focus)
    files["overlay"] = save_image(overlay(analysis.image, analysis.parse, analysis.keypoints, masks[focus]),
                                  out / "overlay.png")
    files["summary"] = out / "analysis.json"
    files["summary"].write_text(json.dumps(person_summary(analysis), indent=1))
    return files


def person_summary(analysis: PersonAnalysis) -> dict:
    """Size, face box, labels, timings and COCO-18 keypoints as JSON-ready data (analysis.json,
    the server's /v1/analyze)."""
    coco_xy, coco_conf = analysis.keypoints.coco18()
    return {
        "width": analysis.keypoints.width,
        "height": analysis.keypoints.height,
        "face_box": None if analysis.face_box is None else [int(v) for v in analysis.face_box],
        "labels_present": sorted(int(v) for v in np.unique(analysis.parse)),
        "timings_s": {k: round(v, 4) for k, v in analysis.timings.items()},
        "keypoints_coco18": np.c_[coco_xy, coco_conf].round(3).tolist(),
    }
