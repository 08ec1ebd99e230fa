"""The catalog's search index: garment vectors in FAISS, stored beside the photos, updated incrementally.

``DIR/.tryon-index/`` holds ``vectors.npy`` (one row per garment), ``items.json`` (each garment's id,
photo, size and modification time, category, palette, and the embedding model) and nothing else:
the FAISS index itself is rebuilt from the vectors when loaded (exact search up to
:data:`EXACT_LIMIT` garments, a graph index (HNSW) past it), which keeps the stored files
independent of the FAISS version. ``update`` embeds only photos that are new or changed, drops
removed ones, and starts over when the stored vectors come from another embedding model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tryon.catalog.embedding import EmbeddingParams, GarmentEmbedder
from tryon.catalog.folder import Garment, read_catalog
from tryon.category import Category
from tryon.errors import InputError, TryOnError
from tryon.imageio import load_image

INDEX_DIR = ".tryon-index"
#: Exact search answers a top-10 query on 20,000 garments in about 3 ms on 2 CPU cores; past that
#: a graph index (HNSW) keeps queries under a millisecond (benchmarks/catalog_search.py).
EXACT_LIMIT = 20_000
HNSW_NEIGHBOURS = 32
HNSW_SEARCH_DEPTH = 128
#: Photos analysed, then embedded together (the Inception network's batch).
EMBED_BATCH = 16


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (photo, why)
    rebuilt: str | None = None  # why every vector was recomputed

    def summary(self) -> str:
        text = (f"{len(self.added)} embedded, {self.unchanged} unchanged, {len(self.removed)} removed, "
                f"{len(self.skipped)} skipped")
        if self.rebuilt:
            text += f" (rebuilt: {self.rebuilt})"
        return text + "".join(f"\n  skipped {name}: {why}" for name, why in self.skipped)


def _stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


class CatalogIndex:
    """Vectors of a catalog's garments, searchable by inner product."""

    def __init__(self, folder: str | Path, params: EmbeddingParams = EmbeddingParams()):
        self.folder = Path(folder)
        self.params = params
        self.items: dict[str, dict] = {}
        self.vectors = np.zeros((0, params.dims), np.float32)
        self.stored_model: str | None = None  # the embedding model of the stored vectors
        self.clip: dict[str, np.ndarray] = {}  # optional CLIP image embeddings, by garment id
        self.clip_model: str | None = None
        self._faiss = None
        self._rows: dict[str, int] | None = None  # garment id -> row of ``vectors``

    @property
    def path(self) -> Path:
        return self.folder / INDEX_DIR

    @property
    def ids(self) -> list[str]:
        return list(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def load(cls, folder: str | Path, params: EmbeddingParams = EmbeddingParams()) -> "CatalogIndex":
        """The stored index (empty when there is none, or when it was made by another embedding model)."""
        index = cls(folder, params)
        meta = index.path / "items.json"
        if meta.is_file():
            try:
                stored = json.loads(meta.read_text())
                vectors = np.load(index.path / "vectors.npy")
            except (OSError, ValueError) as exc:
                raise InputError(f"{index.path}: the stored index is damaged ({type(exc).__name__}); delete it "
                                 "and run tryon catalog index again") from None
            index.stored_model = stored.get("model")
            if index.stored_model == params.model_id and len(stored["items"]) == len(vectors):
                index.items = {item["id"]: item for item in stored["items"]}
                index.vectors = vectors.astype(np.float32)
            if stored.get("clip_model") and (index.path / "clip.npy").is_file():
                clip = np.load(index.path / "clip.npy")
                index.clip_model = stored["clip_model"]
                index.clip = {gid: clip[i] for i, gid in enumerate(stored.get("clip_ids", [])) if gid in index.items}
        return index

    def save(self) -> None:
        self.path.mkdir(exist_ok=True)
        tmp = self.path / "vectors.tmp.npy"
        np.save(tmp, self.vectors)
        os.replace(tmp, self.path / "vectors.npy")
        if self.clip:
            np.save(tmp, np.stack(list(self.clip.values())))
            os.replace(tmp, self.path / "clip.npy")
        (self.path / "items.json.tmp").write_text(json.dumps({
            "model": self.params.model_id, "items": list(self.items.values()),
            "clip_model": self.clip_model if self.clip else None, "clip_ids": list(self.clip)}, indent=1))
        os.replace(self.path / "items.json.tmp", self.path / "items.json")

    def update(self, embedder: GarmentEmbedder | None = None, garments: dict[str, Garment] | None = None,
               progress: Callable[[int, int], None] | None = None, clip=None) -> IndexReport:
        """Embed new and changed photos, drop removed ones, save. With ``clip``
        (:class:`tryon.catalog.clip.ClipEncoder`), also the CLIP image embeddings text search needs."""
        garments = read_catalog(self.folder) if garments is None else garments
        report = IndexReport()
        if self.stored_model not in (None, self.params.model_id):
            report.rebuilt = "it was built with another embedding model"
        keep = {gid: item for gid, item in self.items.items()
                if gid in garments and item["file"] == self._rel(garments[gid].path)
                and item["stamp"] == _stamp(garments[gid].path)}
        report.removed = sorted(set(self.items) - set(garments))
        todo = [g for gid, g in garments.items() if gid not in keep]
        report.unchanged = len(keep)
        rows = {gid: self.vectors[i] for i, gid in enumerate(self.items) if gid in keep}
        if todo and embedder is None:
            embedder = GarmentEmbedder(self.params)
        done = 0
        for chunk in (todo[i:i + EMBED_BATCH] for i in range(0, len(todo), EMBED_BATCH)):
            analysed, ready = [], []
            for garment in chunk:
                try:
                    g = embedder.analyzer.analyze(load_image(garment.path), garment.category)
                except TryOnError as exc:
                    report.skipped.append((self._rel(garment.path), str(exc)))
                    continue
                analysed.append((g.image, g.mask, g.category))
                ready.append(garment)
            for garment, e in zip(ready, embedder.embed_analysed(analysed) if analysed else []):
                keep[garment.id] = {"id": garment.id, "file": self._rel(garment.path), "stamp": _stamp(garment.path),
                                    "category": e.category.value, "palette": e.palette}
                rows[garment.id] = e.vector
                report.added.append(garment.id)
            done += len(chunk)
            if progress:
                progress(done, len(todo))
        order = [gid for gid in garments if gid in keep]
        self.items = {gid: keep[gid] for gid in order}
        self.vectors = (np.stack([rows[gid] for gid in order]).astype(np.float32) if order
                        else np.zeros((0, self.params.dims), np.float32))
        self._faiss = self._rows = None
        self.stored_model = self.params.model_id
        self._update_clip(clip, set(report.added), garments)
        self.save()
        return report

    def _update_clip(self, clip, changed: set[str], garments: dict[str, Garment]) -> None:
        """CLIP embeddings of the whole product photos: kept for unchanged garments, made for the others
        (all of them when the CLIP model changed); without ``clip``, changed garments lose theirs."""
        if clip is not None and clip.model_id != self.clip_model:
            self.clip, self.clip_model = {}, clip.model_id
        self.clip = {gid: v for gid, v in self.clip.items() if gid in self.items and gid not in changed}
        if clip is None:
            return
        todo = [gid for gid in self.items if gid not in self.clip]
        for start in range(0, len(todo), EMBED_BATCH):
            chunk = todo[start:start + EMBED_BATCH]
            for gid, vector in zip(chunk, clip.images([load_image(garments[gid].path) for gid in chunk])):
                self.clip[gid] = vector
        self.clip = {gid: self.clip[gid] for gid in self.items if gid in self.clip}

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def _search_index(self):
        if self._faiss is None:
            import faiss

            dims = self.vectors.shape[1]
            if len(self.vectors) <= EXACT_LIMIT:
                index = faiss.IndexFlatIP(dims)
            else:
                index = faiss.IndexHNSWFlat(dims, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efSearch = HNSW_SEARCH_DEPTH
            index.add(np.ascontiguousarray(self.vectors))
            self._faiss = index
        return self._faiss

    def vector(self, garment_id: str) -> np.ndarray:
        if self._rows is None:
            self._rows = {gid: i for i, gid in enumerate(self.items)}
        try:
            return self.vectors[self._rows[garment_id]]
        except KeyError:
            raise InputError(f"no garment {garment_id!r} in the index of {self.folder} (run tryon catalog index)") from None

    def search(self, query: np.ndarray, k: int, exclude: set[str] = frozenset(),
               categories: set[Category] | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest garments to ``query`` (id, inner product), best first."""
        if not len(self.items):
            return []
        ids = self.ids
        wanted, found = k, []
        while True:  # ask for more when filters drop some, up to the whole catalog
            asked = min(len(ids), wanted + len(exclude))
            scores, rows = self._search_index().search(query.reshape(1, -1).astype(np.float32), asked)
            found = [(ids[r], float(s)) for s, r in zip(scores[0], rows[0]) if r >= 0 and ids[r] not in exclude
                     and (categories is None or Category(self.items[ids[r]]["category"]) in categories)]
            if len(found) >= k or asked >= len(ids):
                return found[:k]
            wanted *= 4
