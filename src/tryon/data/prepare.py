"""`tryon prepare`: analyse a folder of photos into a VITON-HD dataset, in parallel, resumably.

Each photo is one job. A worker process holds its own analysers (MediaPipe sessions are not
shareable), failures are collected with their reason instead of stopping the batch, and a photo
whose output files all exist is skipped, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data import vitonhd
from tryon.errors import InputError, TryOnError
from tryon.imageio import load_image

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"size {text!r} must look like 768x1024 (width x height)") from None
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


@dataclass
class Report:
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        lines = [f"{self.done} written, {self.skipped} already done, {len(self.failed)} failed"
                 f" in {self.seconds:.1f} s ({rate:.1f} images/s)"]
        lines += [f"  failed: {name}: {why}" for name, why in self.failed]
        return "\n".join(lines)


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
    if pairs_file.is_file():
        pairs = []
        for n, line in enumerate(pairs_file.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise InputError(f"{pairs_file}:{n}: expected 'person cloth', got {line!r}")
            pairs.append((Path(parts[0]).stem, Path(parts[1]).stem))
    else:  # unpaired, as VITON-HD's test_pairs: person i with garment i (cycling)
        pairs = [(p.stem, cloths[i % len(cloths)].stem) for i, p in enumerate(persons)] if cloths else []
    return jobs, pairs


_STATE: dict[str, object] = {}


def _worker_init(size: tuple[int, int]) -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    _STATE["size"] = size


def _run(job: Job, dst: str) -> tuple[str, str | None]:
    size = _STATE["size"]
    try:
        image = load_image(job.source)
        if job.kind == "person":
            if "person" not in _STATE:
                from tryon.person.analyzer import PersonAnalyzer

                _STATE["person"] = PersonAnalyzer()
            analysis = _STATE["person"].analyze(cover_crop(image, size))
            vitonhd.write_person(dst, job.item_id, analysis)
        else:
            if "cloth" not in _STATE:
                from tryon.garment.analyzer import GarmentAnalyzer

                _STATE["cloth"] = GarmentAnalyzer()
            analysis = _STATE["cloth"].analyze(fit_pad(image, size))
            vitonhd.write_cloth(dst, job.item_id, analysis)
        return job.source.name, None
    except TryOnError as exc:
        return job.source.name, str(exc).replace(str(job.source) + ": ", "")
    except Exception as exc:  # one broken photo must not stop the batch; report it instead
        return job.source.name, f"internal error: {type(exc).__name__}: {exc}"


def prepare_dataset(src: str | os.PathLike, dst: str | os.PathLike, size: tuple[int, int] = (768, 1024),
                    workers: int = 1, progress: bool = False) -> Report:
    import time

    from tqdm import tqdm

    src, dst = Path(src), Path(dst)
    jobs, pairs = plan(src, dst)
    report = Report()
    todo = []
    for job in jobs:
        files = vitonhd.PERSON_FILES if job.kind == "person" else vitonhd.CLOTH_FILES
        if vitonhd.complete(dst, job.item_id, files):
            report.skipped += 1
        else:
            todo.append(job)
    dst.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="img", disable=not progress, desc="prepare")
    results = []
    if workers <= 1 or len(todo) <= 1:
        _worker_init(size)
        results = [_run(j, str(dst)) for j in todo if not bar.update(1)]
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_worker_init, initargs=(size,)) as pool:
            for res in pool.imap_unordered(_star, [(j, str(dst)) for j in todo]):
                results.append(res)
                bar.update(1)
    bar.close()
    report.seconds = time.perf_counter() - t0
    for name, error in results:
        if error is None:
            report.done += 1
        else:
            report.failed.append((name, error))
    ok_persons = {j.item_id for j in jobs if j.kind == "person" and vitonhd.complete(dst, j.item_id, vitonhd.PERSON_FILES)}
    ok_cloths = {j.item_id for j in jobs if j.kind == "cloth" and vitonhd.complete(dst, j.item_id, vitonhd.CLOTH_FILES)}
    lines = [f"{p}.jpg {c}.jpg" for p, c in pairs if p in ok_persons and c in ok_cloths]
    (dst / "test_pairs.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return report


def _star(args: tuple[Job, str]) -> tuple[str, str | None]:
    return _run(*args)
