"""`tryon prepare`: analyse a folder of photos into a VITON-HD dataset, in parallel, resumably.

Each photo is one job run by :func:`tryon.parallel.run_jobs`; failures are collected with their reason instead of stopping the batch, and a photo
whose output files all exist is skipped, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data import vitonhd
from tryon.errors import InputError
from tryon.imageio import load_image
from tryon.engines import options
from tryon.parallel import JobReport, run_jobs

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def parse_size(text: str) -> tuple[int, int]:
    """The dataset's size, WIDTHxHEIGHT, 64..4096 per side."""
    try:
        w, h = options.parse_size(text)
    except ValueError as exc:
        raise InputError(f"size: {exc}") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise InputError(f"size {text!r} out of range (64..4096 per side)")
    return w, h


def cover_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to cover ``size`` (W, H) and cut the centre: the person photo convention."""
    w, h = size
    ih, iw = image.shape[:2]
    s = max(w / iw, h / ih)
    nw, nh = max(w, round(iw * s)), max(h, round(ih * s))
    img = Image.fromarray(image).resize((nw, nh), Image.LANCZOS)
    x0, y0 = (nw - w) // 2, (nh - h) // 2
    return np.asarray(img.crop((x0, y0, x0 + w, y0 + h)))


def fit_pad(image: np.ndarray, size: tuple[int, int], fill: int = 255) -> np.ndarray:
    """Resize to fit inside ``size`` and centre on white: garments are never cut."""
    w, h = size
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    canvas = Image.new("RGB", (w, h), (fill, fill, fill))
    canvas.paste(Image.fromarray(image).resize((nw, nh), Image.LANCZOS), ((w - nw) // 2, (h - nh) // 2))
    return np.asarray(canvas)


@dataclass
class Job:
    kind: str  # "person" or "cloth"
    source: Path
    item_id: str

    @property
    def name(self) -> str:
        return self.source.name


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_EXT and p.is_file())


def plan(src: Path, dst: Path) -> tuple[list[Job], list[tuple[str, str]]]:
    persons, cloths = _images(src / "image"), _images(src / "cloth")
    if not persons and not cloths:
        raise InputError(f"{src}: expected image/ (person photos) and cloth/ (garment photos) folders")
    jobs = [Job("person", p, p.stem) for p in persons] + [Job("cloth", c, c.stem) for c in cloths]
    pairs_file = src / "pairs.txt"
    cloth_ids = {c.stem for c in cloths}
    if pairs_file.is_file():
        pairs = vitonhd.read_pairs(pairs_file)
    elif persons and all(p.stem in cloth_ids for p in persons):  # VITON-HD's naming: each wears its id's garment
        pairs = [(p.stem, p.stem) for p in persons]
    else:  # unpaired, as VITON-HD's test_pairs: person i with garment i (cycling)
        pairs = [(p.stem, cloths[i % len(cloths)].stem) for i, p in enumerate(persons)] if cloths else []
    return jobs, pairs


def _run(job: Job, state: dict) -> None:
    size, dst = state["size"], state["dst"]
    image = load_image(job.source)
    if job.kind == "person":
        if "person" not in state:
            from tryon.person.analyzer import PersonAnalyzer

            state["person"] = PersonAnalyzer()
        vitonhd.write_person(dst, job.item_id, state["person"].analyze(cover_crop(image, size)))
    else:
        if "cloth" not in state:
            from tryon.garment.analyzer import GarmentAnalyzer

            state["cloth"] = GarmentAnalyzer()
        vitonhd.write_cloth(dst, job.item_id, state["cloth"].analyze(fit_pad(image, size)))


def prepare_dataset(src: str | os.PathLike, dst: str | os.PathLike, size: tuple[int, int] = (768, 1024),
                    workers: int = 1, progress: bool = False, split: str | None = None) -> JobReport:
    """``split`` (``train`` or ``test``): the published dataset's layout, ``DST/<split>/image/...`` and
    ``DST/<split>_pairs.txt``; without it the folders sit in ``DST`` beside ``test_pairs.txt``."""
    src, root = Path(src), Path(dst)
    dst = root / split if split else root
    jobs, pairs = plan(src, dst)
    report = JobReport(verb="written")
    todo = []
    for job in jobs:
        files = vitonhd.PERSON_FILES if job.kind == "person" else vitonhd.CLOTH_FILES
        if vitonhd.complete(dst, job.item_id, files):
            report.skipped += 1
        else:
            todo.append(job)
    dst.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    report.add(run_jobs(_run, todo, {"size": size, "dst": str(dst)}, workers, progress, "prepare"))
    report.seconds = time.perf_counter() - t0
    ok_persons = {j.item_id for j in jobs if j.kind == "person" and vitonhd.complete(dst, j.item_id, vitonhd.PERSON_FILES)}
    ok_cloths = {j.item_id for j in jobs if j.kind == "cloth" and vitonhd.complete(dst, j.item_id, vitonhd.CLOTH_FILES)}
    lines = [f"{p}.jpg {c}.jpg" for p, c in pairs if p in ok_persons and c in ok_cloths]
    (root / f"{split or 'test'}_pairs.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return report
