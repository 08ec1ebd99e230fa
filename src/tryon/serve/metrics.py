"""Prometheus metrics of one service instance (its own registry, so several apps can coexist)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tryon_requests_total", "HTTP requests by route and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("tryon_request_seconds", "HTTP request latency by route.", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.stage = Histogram("tryon_stage_seconds", "Time per engine and pipeline stage.", ["engine", "stage"],
                               buckets=_LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("tryon_queue_depth", "Requests queued or running, per lane.", ["lane"], registry=r)
        self.rejections = Counter("tryon_rejections_total", "Requests refused before any work, by reason.",
                                  ["reason"], registry=r)
        self.batch_size = Histogram("tryon_batch_size", "Requests run together per engine call, per lane.", ["lane"],
                                    buckets=(1, 2, 4, 8, 16), registry=r)
        self.cache = Counter("tryon_analysis_cache_total", "Analysis cache look-ups.", ["kind", "result"], registry=r)
        self.live_frames = Counter("tryon_live_frames_total", "Live-mode frames answered.", registry=r)

    def observe_stages(self, engine: str, timings: dict[str, float]) -> None:
        for stage, seconds in timings.items():
            self.stage.labels(engine, stage).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
