"""Catalog search on the evalset's garments, and the index at 100,000 garments.

1. Index every evalset garment (upper, lower, dress) with its detected category, then again with the
   evalset's own categories given as the shop's metadata (catalog.csv); per evalset half (tuning /
   checking, split by source repository; the embedding's weights were tuned on the first):
   the share of queries whose same-category garments all rank above the others (strict), and whose
   first five (or as many as there are) are of its category.
2. A re-encoded (JPEG 70), resized (0.7x) copy of every garment: its original is its nearest neighbour?
3. 100,000 synthetic unit vectors of the embedding's size, clustered like a catalog and uniform (the
   worst case): build time and top-10 query time, exact (FAISS flat) and graph (HNSW), and the
   graph's recall of the exact top 10.

Usage: python benchmarks/catalog_search.py [--out out/catalog] [--no-synthetic]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.catalog import index as index_module
from tryon.catalog.folder import read_catalog
from tryon.catalog.index import CatalogIndex
from tryon.data.evalset import Evalset, find_evalset


def ranking(index: CatalogIndex, queries: list[str], truth: dict[str, str]) -> tuple[float, float]:
    """Shares of queries whose same-category garments (by the evalset's labels) all come first, and
    whose first five do."""
    strict = top5 = 0
    for gid in queries:
        category = truth[gid]
        ranked = [truth[g] for g, _ in index.search(index.vector(gid), len(index) - 1, exclude={gid})]
        same = ranked.count(category)
        strict += ranked[:same] == [category] * same
        top5 += ranked[:min(5, same)] == [category] * min(5, same)
    return strict / len(queries), top5 / len(queries)


def _cpu_seconds() -> float:
    """CPU time of this process (all its threads), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/catalog"))
    parser.add_argument("--no-synthetic", action="store_true", help="skip part 3 (the 100,000-vector index)")
    args = parser.parse_args()
    ev = Evalset(find_evalset())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}")
    garments = [g for g in ev.of_kind("garment") if g.category in ("upper", "lower", "dress")]
    half = {g.path.stem: h for h in ("tuning", "checking") for g in ev.half(h) if g.kind == "garment"}
    for given in (False, True):
        folder = args.out / ("given" if given else "detected")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for g in garments:
            (folder / g.path.name).symlink_to(g.path.resolve())
        if given:
            (folder / "catalog.csv").write_text("id,category\n" + "".join(f"{g.path.stem},{g.category}\n" for g in garments))
        load = os.getloadavg()[0]
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        index = CatalogIndex.load(folder)
        report = index.update()
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
        label = "shop's categories" if given else "detected categories"
        print(f"{label}: {len(index)} garments indexed in {seconds:.1f} s ({seconds / len(index):.2f} s each, "
              f"models loaded once; {cpu:.1f} s of CPU; load average {load:.1f} before, {os.getloadavg()[0]:.1f} "
              f"after: other jobs on the machine slow it); {report.summary()}")
        stems = {gid: g.path.stem for gid, g in read_catalog(folder).items()}
        truth = {gid: next(g.category for g in garments if g.path.stem == stems[gid]) for gid in index.ids}
        agree = np.mean([index.items[gid]["category"] == truth[gid] for gid in index.ids])
        print(f"  categories agreeing with the evalset's: {agree:.1%}")
        for h in ("tuning", "checking"):
            ids = [gid for gid in index.ids if half[stems[gid]] == h]
            strict, top5 = ranking(index, ids, truth)
            print(f"  {h} half ({len(ids)} queries): same category first {strict:.1%} (strict), top 5 {top5:.1%}")
    folder = args.out / "copies"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for g in garments:
        (folder / g.path.name).symlink_to(g.path.resolve())
        image = Image.open(g.path).convert("RGB")
        image = image.resize((round(image.width * 0.7), round(image.height * 0.7)), Image.LANCZOS)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=70)
        (folder / f"copy-of-{g.path.stem}.jpg").write_bytes(buf.getvalue())
    index = CatalogIndex.load(folder)
    report = index.update()
    hits = sum(f"copy-of-{g.path.stem}" in index.items and g.path.stem in index.items
               and index.search(index.vector(f"copy-of-{g.path.stem}"), 1, exclude={f"copy-of-{g.path.stem}"})[0][0]
               == g.path.stem for g in garments)
    print(f"re-encoded copies: the original is the nearest for {hits} of {len(garments)} (a skipped photo or copy "
          f"counts as a miss){''.join(f'{chr(10)}  skipped {name}: {why}' for name, why in report.skipped)}")

    if args.no_synthetic:
        return
    dims = index.params.dims
    for kind in ("clustered", "uniform"):
        synthetic(args.out, dims, kind)


def synthetic(out: Path, dims: int, kind: str, count: int = 100_000) -> None:
    """Build and query an index of ``count`` unit vectors: ``clustered`` like a real catalog (product
    families: 2,000 centres, each garment within about 0.8 cosine of its own), or ``uniform`` on the
    sphere (no structure at all: the worst case for a graph index)."""
    rng = np.random.default_rng(0)
    if kind == "clustered":
        centres = rng.normal(size=(2000, dims))
        vectors = centres[rng.integers(0, len(centres), count)] + rng.normal(scale=0.75, size=(count, dims))
    else:
        vectors = rng.normal(size=(count, dims))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    big = CatalogIndex(out / "synthetic")
    big.vectors = vectors
    big.items = {f"g{i}": {"id": f"g{i}", "category": "upper"} for i in range(len(vectors))}
    queries = vectors[:200] + rng.normal(scale=0.02, size=(200, dims)).astype(np.float32)
    results = {}
    for name, limit in (("exact", len(vectors)), ("graph (HNSW)", 0)):
        index_module.EXACT_LIMIT = limit
        big._faiss = None
        t0 = time.perf_counter()
        big.search(queries[0], 10)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        results[name] = [[g for g, _ in big.search(q, 10)] for q in queries]
        per_query = (time.perf_counter() - t0) / len(queries) * 1000
        print(f"{count:,} {kind} x {dims}-d, {name}: built in {build:.1f} s, top-10 query {per_query:.2f} ms")
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(results["graph (HNSW)"], results["exact"])])
    print(f"  graph recall of the exact top 10: {recall:.3f}")

if __name__ == "__main__":
    main()
