"""`tryon eval`: paired metrics of a folder of try-on results against ground-truth photos.

Files are matched by id, as the VITON-HD tools do: a result named ``00055_00.png`` (or
``00055_00_<cloth>.png``) is compared with ``00055_00.jpg`` in the ground-truth folder; with a
pairs file only the listed person ids count. Results are resized to the ground truth's size.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data.vitonhd import read_pairs
from tryon.errors import InputError
from tryon.imageio import load_image
from tryon.metrics.image import ms_ssim, psnr, ssim

_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass
class EvalReport:
    rows: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        out = {"count": len(self.rows), "missing": self.missing}
        for key in ("ssim", "psnr", "ms_ssim"):
            values = [r[key] for r in self.rows if r.get(key) is not None and np.isfinite(r[key])]
            out[key] = float(np.mean(values)) if values else None
        return out

    def write(self, json_path: str | os.PathLike) -> tuple[Path, Path]:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"summary": self.summary(), "per_image": self.rows}, indent=1))
        csv_path = json_path.with_suffix(".csv")
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "pred", "gt", "ssim", "psnr", "ms_ssim"])
            writer.writeheader()
            writer.writerows(self.rows)
        return json_path, csv_path


def _images(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in _EXT}


def score(pred: np.ndarray, gt: np.ndarray) -> dict[str, float | None]:
    """All metrics of one result against its ground truth (the result is resized to the truth)."""
    if pred.shape != gt.shape:
        pred = np.asarray(Image.fromarray(pred).resize((gt.shape[1], gt.shape[0]), Image.BICUBIC))
    try:
        ms = ms_ssim(pred, gt)
    except ValueError:
        ms = None
    return {"ssim": ssim(pred, gt), "psnr": psnr(pred, gt), "ms_ssim": ms}


def evaluate_folders(pred_dir: str | os.PathLike, gt_dir: str | os.PathLike,
                     pairs_file: str | os.PathLike | None = None) -> EvalReport:
    preds, gts = _images(Path(pred_dir)), _images(Path(gt_dir))
    ids = [p for p, _ in read_pairs(pairs_file)] if pairs_file else sorted(gts)
    report = EvalReport()
    for item in ids:
        gt = gts.get(item)
        pred = preds.get(item) or next((p for stem, p in preds.items() if stem.startswith(item + "_")), None)
        if gt is None or pred is None:
            report.missing.append(item)
            continue
        row = {"id": item, "pred": pred.name, "gt": gt.name}
        row.update({k: (round(v, 6) if v is not None else None) for k, v in score(load_image(pred), load_image(gt)).items()})
        report.rows.append(row)
    if not report.rows:
        raise InputError(f"no result in {pred_dir} matches a ground-truth id in {gt_dir}")
    return report
