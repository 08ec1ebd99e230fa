"""The service's work, free of HTTP: validate a request, queue it, analyse (cached), run an engine.

The FastAPI app and the live WebSocket are thin shells over :class:`TryOnService`.
"""

from __future__ import annotations

import base64
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tryon.category import Category
from tryon.engines.base import Engine, TryOnRequest, TryOnResult
from tryon.engines.options import request_options
from tryon.engines.registry import engine_max_batch, engine_options, get_engine
from tryon.errors import InputError
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.garment.export import garment_summary
from tryon.imageio import FORMATS, encode_image, load_image
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.anonymize import blur_face
from tryon.person.export import person_summary
from tryon.serve.cache import AnalysisCache, content_key
from tryon.serve.catalog import Catalog
from tryon.serve.metrics import Metrics
from tryon.serve.pool import Lane
from tryon.serve.settings import ServeSettings

MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class FieldError(InputError):
    """A form field has a value the service cannot use (unknown category, engine, format...)."""


@dataclass
class GarmentInput:
    """An uploaded garment photo or a catalog id: exactly one of the two."""

    data: bytes | None = None
    catalog_id: str | None = None


@dataclass
class TryOnJob:
    person: bytes
    garment: GarmentInput
    category: str  # auto, upper, lower or dress
    engine: str
    fmt: str
    anonymize: bool
    options: dict = field(default_factory=dict)  # the request's own values of per-request engine options
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class TryOnOutput:
    image: bytes
    media_type: str
    category: Category
    engine: str
    timings: dict[str, float]
    person_cached: bool


@dataclass
class AnalyzeJob:
    person: bytes | None
    garment: GarmentInput | None
    category: str


class Workbench:
    """What one worker thread owns: analysers and engines, whose models are not thread-safe."""

    def __init__(self, service: "TryOnService", engines: tuple[str, ...]):
        self.service = service
        self.persons = PersonAnalyzer()
        self.garments = GarmentAnalyzer(persons=lambda: self.persons)
        if self.garments.wearers is not None:
            self.garments.wearers.load()  # at start-up, not in a request (native set-up opens files)
        self.engines: dict[str, Engine] = {name: get_engine(name) for name in engines}

    # -- analyses, through the shared caches ------------------------------------------------
    def person(self, data: bytes) -> tuple[PersonAnalysis, bool]:
        analysis, hit = self.service.person_cache.get_or_compute(
            content_key(data), lambda: self.persons.analyze(self._decode(data)))
        self.service.metrics.cache.labels("person", "hit" if hit else "miss").inc()
        return analysis, hit

    def garment(self, garment: GarmentInput, category: str) -> GarmentAnalysis:
        if garment.catalog_id is not None:
            item = self.service.catalog.get(garment.catalog_id)
            if category == "auto" and item.category is not None:
                category = item.category.value
            key = ("catalog", item.id, category)
            compute = lambda: self.garments.analyze(item.path, category)  # noqa: E731
        else:
            key = content_key(garment.data, category)
            compute = lambda: self.garments.analyze(self._decode(garment.data), category)  # noqa: E731
        analysis, hit = self.service.garment_cache.get_or_compute(key, compute)
        self.service.metrics.cache.labels("garment", "hit" if hit else "miss").inc()
        return analysis

    def _decode(self, data: bytes) -> np.ndarray:
        return load_image(data, max_pixels=self.service.settings.max_pixels)

    # -- the lane handler -------------------------------------------------------------------
    def handle(self, jobs: list) -> list:
        """One result or exception per job; try-ons for one engine run as one batch."""
        results: list = [None] * len(jobs)
        prepared: dict[str, list[tuple[int, TryOnJob, TryOnRequest, dict, bool]]] = {}
        for i, job in enumerate(jobs):
            try:
                if isinstance(job, AnalyzeJob):
                    results[i] = self._analyze(job)
                    continue
                t0 = time.perf_counter()
                timings = {"queue": t0 - job.queued_at}
                g = self.garment(job.garment, job.category)
                t1 = time.perf_counter()
                p, hit = self.person(job.person)
                timings.update(garment=t1 - t0, person=time.perf_counter() - t1)
                request = TryOnRequest(p.image, None, g.category, person_analysis=p, garment_analysis=g,
                                       options=job.options)
                prepared.setdefault(job.engine, []).append((i, job, request, timings, hit))
            except Exception as exc:
                results[i] = exc
        for name, items in prepared.items():
            for (i, job, request, timings, hit), out in zip(items, self._run_engine(name, [it[2] for it in items])):
                try:
                    results[i] = out if isinstance(out, Exception) else self._finish(job, request, out, timings, hit)
                except Exception as exc:
                    results[i] = exc
        return results

    def _run_engine(self, name: str, requests: list[TryOnRequest]) -> list:
        engine = self.engines[name]
        try:
            return engine.run_batch(requests)
        except Exception:
            if len(requests) == 1:
                raise
        outs: list = []  # the batch failed: run one by one so each request gets its own answer
        for r in requests:
            try:
                outs.extend(engine.run_batch([r]))
            except Exception as exc:
                outs.append(exc)
        return outs

    def _finish(self, job: TryOnJob, request: TryOnRequest, result: TryOnResult, timings: dict[str, float],
                person_cached: bool) -> TryOnOutput:
        t = time.perf_counter()
        # The engine's own stages; queueing and the (cached) analyses were timed here.
        timings.update({k: v for k, v in result.timings.items() if k not in timings and k != "total"})
        image = result.image
        face = request.person_analysis.face_box if request.person_analysis else None
        if job.anonymize and face is not None:
            image = blur_face(image, face)
        data = encode_image(image, job.fmt, quality=90)
        timings["encode"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - job.queued_at
        self.service.metrics.observe_stages(job.engine, timings)
        self.service.keep(job, data)
        return TryOnOutput(data, MEDIA_TYPES[FORMATS[job.fmt]], result.category, job.engine, timings, person_cached)

    def _analyze(self, job: AnalyzeJob) -> dict:
        out: dict = {}
        if job.person is not None:
            p, hit = self.person(job.person)
            out["person"] = describe_person(p)
            out["person"]["cached"] = hit
        if job.garment is not None:
            out["garment"] = describe_garment(self.garment(job.garment, job.category))
        return out

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.persons.close()
        self.garments.close()


def _non_empty(part: str, data: bytes | None) -> bytes:
    """The uploaded file ``part``; missing and empty files are the same field error, whichever part."""
    if data is None:
        raise FieldError(f"'{part}' (an image file) is required")
    if not data:
        raise FieldError(f"'{part}' is an empty file")
    return data


def _png_data_url(mask: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_image(mask, "png")).decode()


def describe_person(p: PersonAnalysis) -> dict:
    """The person's summary, BODY_25 keypoints, and its masks as PNG data URLs."""
    return {
        **person_summary(p),
        "keypoints_body25": np.c_[p.keypoints.xy, p.keypoints.confidence].round(2).tolist(),
        "person_mask": _png_data_url(p.person_mask),
        "parse": _png_data_url(p.parse),  # LIP labels 0-19 as grey levels
        "agnostic_masks": {c.value: _png_data_url(p.agnostic_mask(c)) for c in Category},
    }


def describe_garment(g: GarmentAnalysis) -> dict:
    return {**garment_summary(g), "mask": _png_data_url(g.mask)}


class TryOnService:
    """Validates, queues and runs try-ons and analyses; one instance per server."""

    def __init__(self, settings: ServeSettings, metrics: Metrics | None = None):
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.catalog = Catalog(settings.catalog, clip=settings.clip)
        budget = settings.cache_mb * 1024 * 1024
        self.person_cache = AnalysisCache(budget // 2)
        self.garment_cache = AnalysisCache(budget // 2)
        #: Each served engine's options as this server runs them (requests may change the per-request ones).
        self.engine_options = {name: engine_options(name) for name in settings.engines}
        capacity = settings.workers + settings.queue_size
        cpu_engines = tuple(e for e in settings.engines if engine_max_batch(e) == 1)
        self.lanes: dict[str, Lane] = {}
        self._lane_of: dict[str, str] = {}
        self.lanes["cpu"] = self._lane("cpu", cpu_engines, settings.workers, capacity, 1)
        for name in settings.engines:
            if name in cpu_engines:
                self._lane_of[name] = "cpu"
            else:  # one worker owns the accelerator and batches what arrives together
                batch = engine_max_batch(name)
                self.lanes[name] = self._lane(name, (name,), 1, batch + settings.queue_size, batch)
                self._lane_of[name] = name

    def _lane(self, name: str, engines: tuple[str, ...], workers: int, capacity: int, batch: int) -> Lane:
        return Lane(name, lambda: Workbench(self, engines), Workbench.handle, workers, capacity,
                    max_batch=batch, window_s=self.settings.batch_window_s,
                    on_batch=self.metrics.batch_size.labels(name).observe)

    # -- validation (cheap, before queueing) -------------------------------------------------
    def _category(self, value: str | None) -> str:
        value = (value or "auto").strip().lower()
        if value == "auto":
            return value
        try:
            return Category.parse(value).value
        except InputError as exc:
            raise FieldError(f"category: {exc}") from None

    def _garment(self, data: bytes | None, garment_id: str | None) -> GarmentInput:
        if (data is None) == (not garment_id):
            raise FieldError("give exactly one of 'garment' (an image) and 'garment_id' (from the catalog)")
        if garment_id:
            self.catalog.get(garment_id)  # an unknown id is a 404 before any work
            return GarmentInput(catalog_id=garment_id)
        return GarmentInput(data=_non_empty("garment", data))

    def submit_tryon(self, person: bytes | None, garment: bytes | None = None, garment_id: str | None = None,
                     category: str | None = "auto", engine: str | None = None, fmt: str | None = "webp",
                     anonymize: bool = False, options: dict[str, str] | None = None) -> Future:
        """Queue a try-on; the future resolves to a :class:`TryOnOutput`. ``options``: values of the
        engine's per-request options (``seed``, ``steps``...), checked before queueing."""
        person = _non_empty("person", person)
        engine = engine or self.settings.default_engine
        if engine not in self.settings.engines:
            raise FieldError(f"engine {engine!r} is not served here; served: {', '.join(self.settings.engines)}")
        fmt = (fmt or "webp").lower()
        if fmt not in FORMATS:
            raise FieldError(f"format {fmt!r}: use webp, png or jpeg")
        own = request_options(engine, self.engine_options[engine], options or {})
        job = TryOnJob(person, self._garment(garment, garment_id), self._category(category), engine, fmt,
                       bool(anonymize), own)
        return self._submit(self._lane_of[engine], job)

    def submit_analyze(self, person: bytes | None = None, garment: bytes | None = None,
                       garment_id: str | None = None, category: str | None = "auto") -> Future:
        """Queue an analysis; the future resolves to a JSON-ready dict."""
        if person is None and garment is None and not garment_id:
            raise FieldError("give 'person', 'garment' or 'garment_id' to analyse")
        if person is not None:
            _non_empty("person", person)
        g = self._garment(garment, garment_id) if (garment is not None or garment_id) else None
        return self._submit("cpu", AnalyzeJob(person, g, self._category(category)))

    def _submit(self, lane_name: str, job) -> Future:
        lane = self.lanes[lane_name]
        try:
            future = lane.submit(job, self.settings.deadline_s)
        finally:
            self.metrics.queue_depth.labels(lane_name).set(lane.depth)
        future.add_done_callback(lambda _: self.metrics.queue_depth.labels(lane_name).set(lane.depth))
        return future

    def keep(self, job: TryOnJob, result: bytes) -> None:
        """Write the request's photos and result, only when the operator asked for it (--save-dir)."""
        if self.settings.save_dir is None:
            return
        folder = Path(self.settings.save_dir) / time.strftime("%Y%m%d") / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "person.bin").write_bytes(job.person)
        if job.garment.data is not None:
            (folder / "garment.bin").write_bytes(job.garment.data)
        (folder / f"result.{job.fmt}").write_bytes(result)

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
