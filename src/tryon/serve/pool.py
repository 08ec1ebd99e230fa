"""A bounded worker pool: a fixed number of workers behind a bounded queue, per engine lane.

A full queue rejects at once (the caller answers 429) instead of letting requests pile up; a
request whose deadline passed while it waited is dropped unrun. A lane whose engine batches (GPU
engines) gathers the requests arriving within a short window and runs them as one batch.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from tryon.errors import TryOnError

W = TypeVar("W")  # what a worker owns (its models)


class BusyError(TryOnError):
    """Every worker is busy and the queue is full."""

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class DeadlineError(TryOnError):
    """The request waited or ran past its deadline."""


@dataclass
class _Job:
    payload: Any
    deadline: float
    future: Future = field(default_factory=Future)


class Lane(Generic[W]):
    """``workers`` threads, each with its own state from ``make_worker``, run
    ``handle(worker_state, payloads) -> results`` (one result or exception per payload)."""

    def __init__(self, name: str, make_worker: Callable[[], W], handle: Callable[[W, list], list],
                 workers: int, capacity: int, max_batch: int = 1, window_s: float = 0.0,
                 on_batch: Callable[[int], None] | None = None):
        self.name = name
        self.capacity = capacity
        self.max_batch = max(1, max_batch)
        self.window_s = window_s
        self._handle = handle
        self._make_worker = make_worker
        self._on_batch = on_batch
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0  # queued + running
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, name=f"tryon-{name}-{i}", daemon=True)
                         for i in range(workers)]
        self._ready = threading.Barrier(workers + 1)
        self._closed = False
        self._startup_errors: list[BaseException] = []
        for t in self._threads:
            t.start()
        self._ready.wait()  # every worker has loaded its models, or failed to
        if self._startup_errors:
            self.close()
            raise self._startup_errors[0]

    @property
    def depth(self) -> int:
        """Requests queued or running."""
        return self._pending

    def submit(self, payload: Any, timeout_s: float) -> Future:
        with self._lock:
            if self._closed:
                raise BusyError("the service is shutting down")
            if self._pending >= self.capacity:
                raise BusyError(f"all {len(self._threads)} {self.name} workers are busy and the queue is full; "
                                "try again shortly", retry_after=self._retry_after())
            self._pending += 1
        job = _Job(payload, time.monotonic() + timeout_s)
        self._queue.put(job)
        return job.future

    def _retry_after(self) -> int:
        return max(1, round(self._pending * 0.5 / max(1, len(self._threads))))

    def _loop(self) -> None:
        try:
            state = self._make_worker()
        except BaseException as exc:
            self._startup_errors.append(exc)
            self._ready.wait()
            return
        self._ready.wait()
        while True:
            job = self._queue.get()
            if job is None:
                close = getattr(state, "close", None)
                if close is not None:
                    close()
                return
            batch = [job]
            if self.max_batch > 1:
                until = time.monotonic() + self.window_s
                while len(batch) < self.max_batch:
                    try:
                        more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                    except queue.Empty:
                        break
                    if more is None:
                        self._queue.put(None)
                        break
                    batch.append(more)
            self._run(state, batch)

    def _run(self, state: W, batch: list[_Job]) -> None:
        now = time.monotonic()
        live = []
        for job in batch:
            if job.deadline < now:
                job.future.set_exception(DeadlineError("the request waited past its deadline"))
            elif job.future.set_running_or_notify_cancel():
                live.append(job)
        try:
            if live:
                if self._on_batch is not None:
                    self._on_batch(len(live))
                try:
                    results = self._handle(state, [j.payload for j in live])
                except BaseException as exc:  # the handler failed as a whole: every job gets the error
                    results = [exc] * len(live)
                for job, result in zip(live, results):
                    if isinstance(result, BaseException):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)
        finally:
            with self._lock:
                self._pending -= len(batch)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
