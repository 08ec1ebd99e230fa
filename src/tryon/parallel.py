"""Run independent jobs over worker processes with a progress bar, collecting failures.

Each worker process keeps its own models (MediaPipe and onnxruntime sessions are not shareable
across processes) in the ``state`` dict that the job function receives. A job that fails is
reported with its reason and the batch goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

_STATE: dict[str, Any] = {}


@dataclass
class JobReport:
    """What a batch did: items done, skipped (already there), failed with their reason."""

    verb: str = "done"
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, results: list[tuple[str, str | None]]) -> None:
        for name, error in results:
            if error is None:
                self.done += 1
            else:
                self.failed.append((name, error))

    def summary(self) -> str:
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        lines = [f"{self.done} {self.verb}, {self.skipped} already done, {len(self.failed)} failed"
                 f" in {self.seconds:.1f} s ({rate:.1f} images/s)"]
        lines += [f"  failed: {name}: {why}" for name, why in self.failed]
        return "\n".join(lines)


def _init(settings: dict) -> None:
    os.environ.setdefault("GLOG_minloglevel", "2")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    _STATE.clear()
    _STATE.update(settings)


def _call(args: tuple[Callable, Any]) -> tuple[str, str | None]:
    from tryon.errors import TryOnError

    fn, job = args
    try:
        fn(job, _STATE)
        return job.name, None
    except TryOnError as exc:
        return job.name, str(exc)
    except Exception as exc:  # one bad item must not stop the batch; report it instead
        return job.name, f"internal error: {type(exc).__name__}: {exc}"


def run_jobs(fn: Callable[[Any, dict], None], jobs: Iterable, settings: dict,
             workers: int = 1, progress: bool = False, desc: str = "") -> list[tuple[str, str | None]]:
    """``fn(job, state)`` for every job (each with a ``name``); returns (name, error or None).

    ``fn`` must be a module-level function so that worker processes can receive it."""
    from tqdm import tqdm

    jobs = list(jobs)
    results: list[tuple[str, str | None]] = []
    with tqdm(total=len(jobs), unit="img", disable=not progress, desc=desc) as bar:
        if workers <= 1 or len(jobs) <= 1:
            _init(settings)
            for job in jobs:
                results.append(_call((fn, job)))
                bar.update(1)
        else:
            ctx = mp.get_context("spawn")
            with ctx.Pool(min(workers, len(jobs)), initializer=_init, initargs=(settings,)) as pool:
                for res in pool.imap_unordered(_call, [(fn, j) for j in jobs]):
                    results.append(res)
                    bar.update(1)
    return results
