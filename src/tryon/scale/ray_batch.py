"""``tryon batch --ray``: persons x garments rendered by Ray actors, one engine each, models loaded once.

The driver (the machine running ``tryon batch``) reads every input photo and writes every result:
actors receive photo bytes and return encoded results, so no node needs the driver's files and the
outputs land where the local batch puts them, byte for byte the same (both encode through
:func:`tryon.batch.render`). Learned engines (those that batch on a GPU) get one GPU per actor,
the warp engine one CPU. A pair that fails is reported with its reason; the others go on, and an
interrupted run resumes from the results already written (the caller skips them).
"""

from __future__ import annotations

import os
from typing import Any

from tryon.errors import InputError

#: ``--ray local`` starts a Ray instance on this machine; anything else is a cluster address
#: (``auto``, ``ray://head:10001``), as ``ray.init`` takes it.
LOCAL = "local"


class Renderer:
    """One engine with its models loaded, rendering one pair at a time (a Ray actor)."""

    def __init__(self, engine: str, options: Any):
        from tryon.engines import get_engine

        self.engine = get_engine(engine, options)

    def render(self, name: str, person: bytes, garment: bytes, category: str, ext: str) -> tuple[str, bytes | None, str | None]:
        from tryon.batch import render
        from tryon.errors import TryOnError

        try:
            return name, render(self.engine, person, garment, category, ext), None
        except TryOnError as exc:
            return name, None, str(exc)
        except Exception as exc:  # one bad pair must not stop the batch; report it instead
            return name, None, f"internal error: {type(exc).__name__}: {exc}"


def _connect(address: str, actors: int | None) -> bool:
    """Join (or start) Ray; True when this call started it (and should stop it)."""
    try:
        import ray
    except ImportError as exc:
        raise InputError(f"--ray needs the 'ray' extra: pip install 'tryon[ray]' ({exc.name} missing)") from None
    if ray.is_initialized():
        return False
    if address == LOCAL:
        ray.init(num_cpus=actors or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise InputError(f"--ray {address}: cannot join the cluster ({exc})") from None
    return True


def render_on_ray(jobs: list, engine: str, options: Any, address: str, actors: int | None = None,
                  progress: bool = False) -> list[tuple[str, str | None]]:
    """Render ``jobs`` (:class:`tryon.batch.BatchJob`) on Ray; write each result; (name, error or None)."""
    import ray
    from ray.util import ActorPool
    from tqdm import tqdm

    from tryon.engines.registry import engine_max_batch

    started = _connect(address, actors)
    try:
        gpu = engine_max_batch(engine) > 1
        available = int(ray.cluster_resources().get("GPU" if gpu else "CPU", 1))
        count = max(1, min(actors or available, available, len(jobs)))
        actor = ray.remote(**({"num_gpus": 1} if gpu else {"num_cpus": 1}))(Renderer)
        pool = ActorPool([actor.remote(engine, options) for _ in range(count)])
        by_name = {job.out.name: job for job in jobs}
        for job in jobs:
            pool.submit(lambda a, j: a.render.remote(j.out.name, j.person.read_bytes(), j.garment.read_bytes(),
                                                     j.category, j.out.suffix), job)
        results: list[tuple[str, str | None]] = []
        with tqdm(total=len(jobs), unit="img", disable=not progress, desc="try-on (ray)") as bar:
            while pool.has_next():
                try:
                    name, data, error = pool.get_next_unordered()
                except ray.exceptions.RayError as exc:  # an actor died: its pair is reported, the rest go on
                    results.append(("?", f"worker lost: {type(exc).__name__}"))
                    bar.update(1)
                    continue
                if data is not None:
                    out = by_name[name].out
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(data)
                results.append((name, error))
                bar.update(1)
        return results
    finally:
        if started:
            ray.shutdown()
