"""`tryon batch`: every person with every garment (or the listed pairs), in parallel, resumable."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tryon.data.vitonhd import read_pairs
from tryon.errors import InputError, TryOnError
from tryon.imageio import encode_image, load_image, save_image
from tryon.parallel import JobReport, run_jobs

_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass
class BatchJob:
    person: Path
    garment: Path
    out: Path
    category: str

    @property
    def name(self) -> str:
        return self.out.name


def _list(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _EXT)


def plan(persons: Path, garments: Path, out: Path, pairs: Path | None, category: str, ext: str) -> list[BatchJob]:
    people, clothes = _list(persons), _list(garments)
    if pairs is not None:
        by_stem_p = {p.stem: p for p in people}
        by_stem_g = {g.stem: g for g in clothes}
        combos = []
        for p, g in read_pairs(pairs):
            if p not in by_stem_p or g not in by_stem_g:
                raise InputError(f"{pairs}: {p} or {g} not found in the person / garment folders")
            combos.append((by_stem_p[p], by_stem_g[g]))
    else:
        combos = [(p, g) for p in people for g in clothes]
    if not combos:
        raise InputError("no person / garment pair to render")
    return [BatchJob(p, g, out / f"{p.stem}_{g.stem}{ext}", category) for p, g in combos]


def render(engine, person, garment, category: str, ext: str) -> bytes:
    """One try-on encoded as the output file's format: what the local and the Ray batch both write."""
    return encode_image(engine.run(person, garment, category).image, ext)


def _render(job: BatchJob, state: dict) -> None:
    if "engine" not in state:
        from tryon.engines import get_engine

        state["engine"] = get_engine(state["engine_name"], state["options"])
    job.out.parent.mkdir(parents=True, exist_ok=True)
    job.out.write_bytes(render(state["engine"], job.person, job.garment, job.category, job.out.suffix))


def run_batch(persons: str | os.PathLike, garments: str | os.PathLike, out: str | os.PathLike,
              pairs: str | os.PathLike | None = None, category: str = "auto", engine: str = "warp",
              workers: int | None = 1, progress: bool = False, ext: str = ".jpg", options: Any = None,
              ray: str | None = None) -> JobReport:
    """Render every pair (resumable); ``options`` are the engine's (None: its defaults, config file and
    environment). ``ray``: render on Ray actors instead (``local``, or a cluster address; ``workers``
    then caps the actors), see :mod:`tryon.scale.ray_batch`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = plan(Path(persons), Path(garments), out, Path(pairs) if pairs else None, category, ext)
    todo = [j for j in jobs if not (j.out.is_file() and j.out.stat().st_size > 0)]
    report = JobReport(verb="rendered", skipped=len(jobs) - len(todo))
    from tryon.engines.registry import engine_max_batch

    t0 = time.perf_counter()
    if ray is not None:  # workers caps the actors (None: one per CPU, or per GPU for a learned engine)
        from tryon.scale.ray_batch import render_on_ray

        report.add(render_on_ray(todo, engine, options, ray, workers, progress) if todo else [])
    else:
        if engine_max_batch(engine) > 1:
            workers = 1  # a GPU engine: one process owns the accelerator (several would each load the model)
        report.add(run_jobs(_render, todo, {"engine_name": engine, "options": options}, workers or 1, progress,
                            "try-on"))
    report.seconds = time.perf_counter() - t0
    write_sheet(jobs, report, out / "sheet.png")
    write_run_info(out / "run.json", engine, category, options)
    return report


def write_run_info(path: Path, engine: str, category: str, options: Any) -> None:
    """What made the results (``tryon eval`` writes it into its protocol)."""
    from tryon import __version__

    settings = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else None
    path.write_text(json.dumps({"engine": engine, "category": category, "options": settings, "tryon": __version__},
                               indent=1, default=str))


def write_sheet(jobs: list[BatchJob], report: JobReport, path: Path) -> None:
    from tryon.sheet import contact_sheet

    failed = dict(report.failed)
    rows = []
    for job in jobs:
        caption = f"{job.person.name} + {job.garment.name}" + (f"  FAILED: {failed[job.out.name]}" if job.out.name in failed else "")
        rows.append((_maybe(job.person), _maybe(job.garment), _maybe(job.out), caption))
    save_image(contact_sheet(rows), path)


def _maybe(path: Path):
    """The picture, or None (a crossed tile on the sheet) when it is missing or unreadable."""
    try:
        return load_image(path) if path.is_file() else None
    except TryOnError:
        return None
