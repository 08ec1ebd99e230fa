"""`tryon prepare`: analyse a folder of photos into a VITON-HD or DressCode dataset, in parallel, resumably.

Each photo (VITON-HD) or each (person, garment) pair (DressCode, whose files are per pair) is one job
run by :func:`tryon.parallel.run_jobs`; failures are collected with their reason instead of stopping
the batch, and an item whose output files all exist is skipped, so an interrupted run resumes where
it stopped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from tryon.data import dresscode, vitonhd
from tryon.errors import InputError
from tryon.imageio import load_image
from tryon.engines import options
from tryon.parallel import JobReport, run_jobs

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
LAYOUTS = ("vitonhd", "dresscode")


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


def _analyzer(state: dict, kind: str):
    """The worker's person or garment analyser, loaded on its first job."""
    if kind not in state:
        if kind == "person":
            from tryon.person.analyzer import PersonAnalyzer

            state[kind] = PersonAnalyzer()
        else:
            from tryon.garment.analyzer import GarmentAnalyzer

            state[kind] = GarmentAnalyzer()
    return state[kind]


def _run(job: Job, state: dict) -> None:
    size, dst = state["size"], state["dst"]
    image = load_image(job.source)
    if job.kind == "person":
        vitonhd.write_person(dst, job.item_id, _analyzer(state, "person").analyze(cover_crop(image, size)))
    else:
        vitonhd.write_cloth(dst, job.item_id, _analyzer(state, "cloth").analyze(fit_pad(image, size)))


def _run_pair(job: dresscode.PairJob, state: dict) -> None:
    size = state["size"]
    garment = _analyzer(state, "cloth").analyze(fit_pad(load_image(job.garment), size))
    person = _analyzer(state, "person").analyze(cover_crop(load_image(job.person), size))
    dresscode.write_pair(state["dst"], job.pair_id, person, garment)


def _batch(fn: Callable[[Any, dict], None], jobs: list, done: Callable[[Any], bool], size: tuple[int, int],
           dst: Path, workers: int, progress: bool) -> JobReport:
    """Run ``fn`` over the jobs not ``done`` yet; those done are counted as skipped."""
    report = JobReport(verb="written")
    todo = [job for job in jobs if not done(job)]
    report.skipped = len(jobs) - len(todo)
    dst.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    report.add(run_jobs(fn, todo, {"size": size, "dst": str(dst)}, workers, progress, "prepare"))
    report.seconds = time.perf_counter() - t0
    return report


def prepare_dataset(src: str | os.PathLike, dst: str | os.PathLike, size: tuple[int, int] = (768, 1024),
                    workers: int = 1, progress: bool = False, split: str | None = None,
                    layout: str = "vitonhd") -> JobReport:
    """Analyse ``SRC/image/`` (persons) and ``SRC/cloth/`` (garments), paired as :func:`plan` says,
    into ``dst`` in the published ``layout`` (one of :data:`LAYOUTS`).

    VITON-HD: ``split`` (``train`` or ``test``) gives the published dataset's folders,
    ``DST/<split>/image/...`` and ``DST/<split>_pairs.txt``; without it the folders sit in ``DST``
    beside ``test_pairs.txt``. DressCode (:mod:`tryon.data.dresscode`) has no split folders: ``train``
    writes ``train_pairs.txt``; ``test``, or no split, the test set's ``test_pairs_paired.txt`` and
    ``test_pairs_unpaired.txt``."""
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}: use {' or '.join(LAYOUTS)}")
    prepare = _prepare_dresscode if layout == "dresscode" else _prepare_vitonhd
    return prepare(Path(src), Path(dst), size, workers, progress, split)


def _prepare_vitonhd(src: Path, root: Path, size: tuple[int, int], workers: int, progress: bool,
                     split: str | None) -> JobReport:
    dst = root / split if split else root
    jobs, pairs = plan(src, dst)
    files = {"person": vitonhd.PERSON_FILES, "cloth": vitonhd.CLOTH_FILES}

    def done(job: Job) -> bool:
        return vitonhd.complete(dst, job.item_id, files[job.kind])

    report = _batch(_run, jobs, done, size, dst, workers, progress)
    ok = {(j.kind, j.item_id) for j in jobs if done(j)}
    lines = [f"{p}.jpg {c}.jpg" for p, c in pairs if ("person", p) in ok and ("cloth", c) in ok]
    (root / f"{split or 'test'}_pairs.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return report


def _prepare_dresscode(src: Path, dst: Path, size: tuple[int, int], workers: int, progress: bool,
                       split: str | None) -> JobReport:
    """One job per pair (a photo in several pairs is analysed for each), under the id that ``ids.csv``
    keeps across runs: a rerun finds its pairs written, and a train and a test run may share ``dst``."""
    dresscode.check_size(size)
    dresscode.pairs_files(split)  # an unknown split fails before any work
    jobs, pairs = plan(src, dst)
    sources = {(j.kind, j.item_id): str(j.source.resolve()) for j in jobs}
    named = list(dict.fromkeys((sources[("person", p)], sources[("cloth", c)]) for p, c in pairs
                               if ("person", p) in sources and ("cloth", c) in sources))
    known = dresscode.read_ids(dst)
    ids = dresscode.assign_ids(named, known)
    pair_jobs = [dresscode.PairJob(i, Path(p), Path(g)) for i, (p, g) in zip(ids, named)]
    report = _batch(_run_pair, pair_jobs, lambda j: dresscode.written_folder(dst, j.pair_id) is not None, size,
                    dst, workers, progress)
    written = [(j, folder) for j in pair_jobs if (folder := dresscode.written_folder(dst, j.pair_id))]
    rows = {r.id: r for r in known}
    rows.update((j.pair_id, dresscode.IdRow(j.pair_id, f, str(j.person), str(j.garment))) for j, f in written)
    dresscode.write_ids(dst, list(rows.values()))
    dresscode.write_pairs(dst, split, [(j.pair_id, f) for j, f in written])
    dresscode.write_readme(dst)
    return report
