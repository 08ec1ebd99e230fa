"""The service's parts without HTTP: the bounded lanes, micro-batching, the cache, the smoother."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from tryon.engines.base import Engine, TryOnResult
from tryon.person.keypoints import Keypoints
from tryon.person.smoothing import KeypointSmoother
from tryon.serve.cache import AnalysisCache
from tryon.serve.pool import BusyError, DeadlineError, Lane


def test_lane_rejects_when_full_and_recovers():
    gate = threading.Event()
    lane = Lane("t", lambda: None, lambda _, items: [gate.wait(5) and i for i in items], workers=1, capacity=2)
    try:
        first, second = lane.submit(1, 10), lane.submit(2, 10)
        with pytest.raises(BusyError) as err:
            lane.submit(3, 10)
        assert err.value.retry_after >= 1 and lane.depth == 2
        gate.set()
        assert first.result(5) == 1 and second.result(5) == 2
        assert lane.submit(4, 10).result(5) == 4  # room again
    finally:
        gate.set()
        lane.close()


def test_lane_drops_jobs_whose_deadline_passed_while_waiting():
    gate = threading.Event()
    ran = []
    lane = Lane("t", lambda: None, lambda _, items: [ran.append(i) or gate.wait(5) and i for i in items],
                workers=1, capacity=4)
    try:
        blocker = lane.submit("slow", 10)
        late = lane.submit("late", 0.05)
        time.sleep(0.1)
        gate.set()
        assert blocker.result(5) == "slow"
        with pytest.raises(DeadlineError):
            late.result(5)
        assert ran == ["slow"]  # the expired job never ran
    finally:
        gate.set()
        lane.close()


def test_lane_reports_errors_per_job_and_startup_failures():
    def handle(_, items):
        return [ValueError(f"bad {i}") if i % 2 else i for i in items]

    lane = Lane("t", lambda: None, handle, workers=2, capacity=4)
    try:
        assert lane.submit(2, 5).result(5) == 2
        with pytest.raises(ValueError, match="bad 3"):
            lane.submit(3, 5).result(5)
    finally:
        lane.close()

    def broken():
        raise RuntimeError("model file missing")

    with pytest.raises(RuntimeError, match="model file missing"):
        Lane("t", broken, handle, workers=2, capacity=4)


def test_lane_batches_requests_arriving_together():
    sizes = []
    lane = Lane("gpu", lambda: None, lambda _, items: sizes.append(len(items)) or [i * 10 for i in items],
                workers=1, capacity=16, max_batch=4, window_s=0.2)
    try:
        futures = [lane.submit(i, 10) for i in range(6)]
        assert [f.result(5) for f in futures] == [0, 10, 20, 30, 40, 50]
        assert sizes == [4, 2]
    finally:
        lane.close()


@dataclass(frozen=True)
class _ProbeOptions:
    pass


class _BatchProbe(Engine):
    """A test engine that batches: it records batch sizes and returns the person photo mirrored."""

    name = "batch-probe"
    batches: list[int] = []

    def __init__(self, options=None, person_analyzer=None, garment_analyzer=None):
        pass

    def run(self, person, garment, category="auto", **kw):
        raise AssertionError("the service must call run_batch")

    def run_batch(self, requests):
        type(self).batches.append(len(requests))
        out = []
        for r in requests:
            image = r.person_analysis.image[:, ::-1].copy()
            empty = np.zeros(image.shape[:2], np.uint8)
            out.append(TryOnResult(image, r.garment_analysis.category, empty, {"diffusion": 0.001}))
        return out


def test_service_micro_batches_an_engine_that_batches(evalset, vitonhd_person, monkeypatch):
    from tryon.engines import registry
    from tryon.serve.service import TryOnService
    from tryon.serve.settings import ServeSettings

    registry.available_engines()  # the built-ins first, so the patch below is undone cleanly
    monkeypatch.setitem(registry._SPECS, "batch-probe", registry.EngineSpec(
        "batch-probe", "records batch sizes", _ProbeOptions, f"{__name__}:_BatchProbe", "none", max_batch=4))
    garment = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00").path.read_bytes()
    person = vitonhd_person.path.read_bytes()
    service = TryOnService(ServeSettings(engines=("warp", "batch-probe"), workers=1, batch_window_s=0.5))
    try:
        assert set(service.lanes) == {"cpu", "batch-probe"}
        warm = service.submit_tryon(person, garment, engine="batch-probe", fmt="png").result(60)  # fills the caches
        assert warm.engine == "batch-probe"
        _BatchProbe.batches.clear()
        futures = [service.submit_tryon(person, garment, engine="batch-probe", fmt="png") for _ in range(3)]
        outs = [f.result(60) for f in futures]
        assert _BatchProbe.batches == [3]
        assert all(o.person_cached and "diffusion" in o.timings for o in outs)
    finally:
        service.close()


def test_cache_is_bounded_in_bytes_and_counts_hits():
    cache = AnalysisCache(max_bytes=3 * 1024 * 1024)
    computed = []

    def make(key):
        computed.append(key)
        return np.zeros(1024 * 1024, np.uint8)

    for key in ("a", "b", "a", "c", "d", "b"):
        cache.get_or_compute(key, lambda k=key: make(k))
    assert cache.bytes <= 3 * 1024 * 1024 + 1024
    # Three fit; "d" evicts the least recently used, "b" ("a" was used again since).
    assert computed == ["a", "b", "c", "d", "b"]
    assert cache.hits == 1 and cache.misses == 5


def _kp(xy: np.ndarray) -> Keypoints:
    conf = np.ones(25, np.float32)
    return Keypoints(xy.astype(np.float32), conf, 384, 512)


def test_smoother_removes_jitter_on_a_still_body_and_follows_motion():
    rng = np.random.default_rng(0)
    base = rng.uniform(50, 330, (25, 2))
    smoother = KeypointSmoother()
    raw, smoothed = [], []
    for i in range(60):
        noisy = base + rng.normal(0, 2.0, base.shape)
        raw.append(noisy)
        smoothed.append(smoother(_kp(noisy), i / 10).xy)
    jitter = lambda seq: np.abs(np.diff(np.array(seq[20:]), axis=0)).mean()  # noqa: E731
    assert jitter(smoothed) < 0.35 * jitter(raw)

    # The body then moves 60 px right within 0.3 s: the smoothed keypoints follow within 0.5 s.
    for i in range(60, 70):
        shift = min(60.0, (i - 59) * 20.0)
        out = smoother(_kp(base + [shift, 0]), i / 10).xy
    assert np.abs(out[:, 0] - (base[:, 0] + 60)).mean() < 6


def test_smoother_restarts_joints_that_reappear():
    base = np.full((25, 2), 100.0)
    smoother = KeypointSmoother()
    smoother(_kp(base), 0.0)
    hidden = _kp(base)
    hidden.confidence[4] = 0
    smoother(hidden, 0.1)
    moved = base.copy()
    moved[4] = [300, 300]
    out = smoother(_kp(moved), 0.2)
    np.testing.assert_allclose(out.xy[4], [300, 300])  # no slide from its old place
