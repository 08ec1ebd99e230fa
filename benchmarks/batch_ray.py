"""Batch rendering on Ray against the local batch on one machine: throughput ratio, same pictures.

Renders persons x garments of the evalset with the warp engine twice, in the same process: the
local batch (one process per core) and the Ray batch (a local Ray instance, one actor per core),
after a warm-up of each (models loaded); prints try-ons per second of both, their ratio, and
whether every result is byte for byte the same.

Usage: python benchmarks/batch_ray.py [--persons 4] [--garments 4] [--out out/batch-ray]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

from tryon.batch import run_batch
from tryon.data.evalset import Evalset, find_evalset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=4)
    parser.add_argument("--garments", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("out/batch-ray"))
    args = parser.parse_args()
    import ray

    ev = Evalset(find_evalset())
    shutil.rmtree(args.out, ignore_errors=True)
    persons, garments = args.out / "persons", args.out / "garments"
    persons.mkdir(parents=True)
    garments.mkdir()
    for e in [p for p in ev.of_kind("person", "studio")][: args.persons]:
        (persons / e.path.name).symlink_to(e.path.resolve())
    for e in ev.of_kind("garment", "upper")[: args.garments]:
        (garments / e.path.name).symlink_to(e.path.resolve())
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores; {args.persons} persons x {args.garments} garments, warp")
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    rates = {}
    for name, kwargs in (("local", {"workers": cores}), ("ray", {"workers": cores, "ray": "local"})):
        run_batch(persons, garments, args.out / f"warm-{name}", category="upper", **kwargs)  # models loaded, caches warm
        t0 = time.perf_counter()
        report = run_batch(persons, garments, args.out / name, category="upper", **kwargs)
        seconds = time.perf_counter() - t0
        rates[name] = report.done / seconds
        print(f"{name}: {report.done} try-ons in {seconds:.1f} s = {rates[name]:.2f}/s "
              f"({rates[name] * 3600:.0f} per hour); {len(report.failed)} failed")
    ray.shutdown()
    same = all((args.out / "ray" / f.name).read_bytes() == f.read_bytes() for f in (args.out / "local").glob("*.jpg"))
    print(f"ray / local throughput: {rates['ray'] / rates['local']:.2f}; identical pictures: {same}")


if __name__ == "__main__":
    main()
