"""The catalog's search index: garment vectors in FAISS, stored beside the photos, updated incrementally.

``DIR/.tryon-index/`` holds ``vectors.npy`` (one row per garment), ``items.json`` (each garment's id,
photo, size and modification time, category, palette, and the embedding model) and nothing else:
the FAISS index itself is rebuilt from the vectors when loaded (exact search up to
:data:`EXACT_LIMIT` garments, a graph index (HNSW) past it), which keeps the stored files
independent of the FAISS version. ``update`` embeds only photos that are new or changed, drops
removed ones, and starts over when the stored vectors come from another embedding model.

With ``--clip``, ``clip.npy`` holds CLIP image embeddings of the photos (for text search), and
similar search takes its image part from them (the better image embedding) instead of the
Inception features, the other parts and weights unchanged: :meth:`CatalogIndex.vector` and
:meth:`CatalogIndex.search` work in that space (:attr:`CatalogIndex.parts`). That needs every
garment to have one: an index updated without ``--clip`` after photos changed has some without,
and similar search falls back to the Inception image part until it is indexed with ``--clip``
again. "Complete the look" keeps the Inception image part (:meth:`CatalogIndex.embedding`): the
garment a person wears in a photo is embedded without CLIP.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tryon.catalog.embedding import EmbeddingParams, GarmentEmbedder, GarmentEmbedding, Prepared
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
#: Photos analysed, then embedded together. Eight: the image network, once loaded, waits less for
#: the first chunk (indexing the evalset's garments: 2.6 s with 16, under 1 s with 8).
EMBED_BATCH = 8
#: Chunks the analysis may be ahead of the image network (each holds the network's input, 1 MB a
#: photo, and with CLIP the decoded photos): the analysis of the evalset's garments is done before
#: the network's, which then runs on both cores.
PIPELINE_AHEAD = 4
#: The image network's threads while a second thread analyses the next photos (None keeps
#: PyTorch's own number, which it has again once the analysis is done). One: on 2 cores, two network
#: threads beside the analysis contend with it, and indexing the evalset's 82 garments took 70 to
#: 74 s of CPU against 52 to 59 s with one.
PIPELINE_TORCH_THREADS: int | None = 1


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (photo, why)
    rebuilt: str | None = None  # why every vector was recomputed
    without_clip: int = 0  # garments without a CLIP embedding in an index that has some

    def summary(self) -> str:
        text = (f"{len(self.added)} embedded, {self.unchanged} unchanged, {len(self.removed)} removed, "
                f"{len(self.skipped)} skipped")
        if self.rebuilt:
            text += f" (rebuilt: {self.rebuilt})"
        if self.without_clip:
            text += (f"; {self.without_clip} garments have no CLIP embedding: text search misses them and similar "
                     "search uses the Inception image part (index again with --clip)")
        return text + "".join(f"\n  skipped {name}: {why}" for name, why in self.skipped)


class _InferenceThreads:
    """Sets PyTorch's intra-op threads; ``set(None)`` gives back the number it had."""

    def __init__(self):
        import torch

        self._torch, self._own = torch, torch.get_num_threads()

    def set(self, threads: int | None) -> None:
        wanted = self._own if threads is None else threads
        if self._torch.get_num_threads() != wanted:
            self._torch.set_num_threads(wanted)


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
        self._search_vectors: np.ndarray | None = None  # the vectors similar search compares

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
        if clip is not None and clip.model_id != self.clip_model:
            self.clip, self.clip_model = {}, clip.model_id
        if self.stored_model not in (None, self.params.model_id):
            report.rebuilt = "it was built with another embedding model"
        keep = {gid: item for gid, item in self.items.items()
                if gid in garments and item["file"] == self._rel(garments[gid].path)
                and item["stamp"] == _stamp(garments[gid].path)}
        report.removed = sorted(set(self.items) - set(garments))
        todo = [g for gid, g in garments.items() if gid not in keep]
        report.unchanged = len(keep)
        rows = {gid: self.vectors[i] for i, gid in enumerate(self.items) if gid in keep}
        own = todo and embedder is None
        if own:
            embedder = GarmentEmbedder(self.params)
        fresh_clip: dict[str, np.ndarray] = {}
        try:
            embedded_all = list(self._embedded(todo, embedder, clip, progress))
        finally:
            if own:
                embedder.close()
        for garment, embedded, clip_vector in embedded_all:
            if isinstance(embedded, str):
                report.skipped.append((self._rel(garment.path), embedded))
                continue
            keep[garment.id] = {"id": garment.id, "file": self._rel(garment.path), "stamp": _stamp(garment.path),
                                "category": embedded.category.value, "palette": embedded.palette}
            rows[garment.id] = embedded.vector
            report.added.append(garment.id)
            if clip_vector is not None:
                fresh_clip[garment.id] = clip_vector
        order = [gid for gid in garments if gid in keep]
        self.items = {gid: keep[gid] for gid in order}
        self.vectors = (np.stack([rows[gid] for gid in order]).astype(np.float32) if order
                        else np.zeros((0, self.params.dims), np.float32))
        self._faiss = self._rows = self._search_vectors = None
        self.stored_model = self.params.model_id
        self._update_clip(clip, set(report.added), fresh_clip, garments)
        if self.clip and len(self.clip) < len(self.items):
            report.without_clip = len(self.items) - len(self.clip)
        self.save()
        return report

    def _embedded(self, todo: list[Garment], embedder: GarmentEmbedder, clip,
                  progress: Callable[[int, int], None] | None
                  ) -> Iterator[tuple[Garment, GarmentEmbedding | str, np.ndarray | None]]:
        """(garment, its embedding or why it was skipped, its CLIP embedding or None) for each photo.

        Chunks of :data:`EMBED_BATCH` photos: other threads (the embedder's
        :attr:`~GarmentEmbedder.analysis_workers`) decode and analyse the next chunks (up to
        :data:`PIPELINE_AHEAD`) while the image network runs on this one (and loads, for the first),
        the network on :data:`PIPELINE_TORCH_THREADS`. CLIP embeds the photos while they are
        decoded."""

        def prepare(chunk: list[Garment]) -> list[tuple[Garment, Prepared | str, np.ndarray | None]]:
            out = []
            for garment in chunk:
                try:
                    photo = load_image(garment.path)
                    out.append((garment, embedder.prepare(embedder.analyse(photo, garment.category)),
                                photo if clip is not None else None))
                except TryOnError as exc:
                    out.append((garment, str(exc), None))
            return out

        chunks = [todo[i:i + EMBED_BATCH] for i in range(0, len(todo), EMBED_BATCH)]
        if not chunks:
            return
        done = 0
        with ThreadPoolExecutor(embedder.analysis_workers) as pool:
            pending = deque(pool.submit(prepare, chunk) for chunk in chunks[:PIPELINE_AHEAD])
            threads = _InferenceThreads()  # imports PyTorch, while the first photos are analysed
            try:
                for i, chunk in enumerate(chunks):
                    results = pending.popleft().result()
                    if i + PIPELINE_AHEAD < len(chunks):
                        pending.append(pool.submit(prepare, chunks[i + PIPELINE_AHEAD]))
                    # One thread while the analysis runs beside it, all once it is done.
                    threads.set(PIPELINE_TORCH_THREADS if any(not f.done() for f in pending) else None)
                    ready = [(garment, prepared, photo) for garment, prepared, photo in results
                             if not isinstance(prepared, str)]
                    vectors = embedder.finish([prepared for _, prepared, _ in ready])
                    clips = clip.images([photo for _, _, photo in ready]) if clip is not None and ready else []
                    embedded = {garment.id: (vector, clips[j] if len(clips) else None)
                                for j, ((garment, _, _), vector) in enumerate(zip(ready, vectors))}
                    for garment, prepared, _ in results:
                        yield (garment, prepared, None) if isinstance(prepared, str) else (garment, *embedded[garment.id])
                    done += len(chunk)
                    if progress:
                        progress(done, len(todo))
            finally:
                threads.set(None)
                for future in pending:  # stopped early: no more analysis
                    future.cancel()

    def _update_clip(self, clip, changed: set[str], fresh: dict[str, np.ndarray], garments: dict[str, Garment]) -> None:
        """CLIP embeddings of the whole product photos: kept for unchanged garments, ``fresh`` ones for
        the changed (made while their photos were decoded), made for any other still without (all of
        them when the CLIP model changed); without ``clip``, changed garments lose theirs."""
        self.clip = {gid: v for gid, v in self.clip.items() if gid in self.items and gid not in changed}
        if clip is None:
            return
        self.clip.update((gid, v) for gid, v in fresh.items() if gid in self.items)
        todo = [gid for gid in self.items if gid not in self.clip]
        for start in range(0, len(todo), EMBED_BATCH):
            chunk = todo[start:start + EMBED_BATCH]
            for gid, vector in zip(chunk, clip.images([load_image(garments[gid].path) for gid in chunk])):
                self.clip[gid] = vector
        self.clip = {gid: self.clip[gid] for gid in self.items if gid in self.clip}

    @property
    def uses_clip(self) -> bool:
        """Whether similar search takes its image part from CLIP: every garment has a CLIP embedding."""
        return bool(self.items) and len(self.clip) == len(self.items)

    @property
    def parts(self) -> dict[str, tuple[int, int, float]]:
        """Each part's (start, end, weight) in the vectors similar search compares (:meth:`vector`)."""
        return self.params.layout(len(next(iter(self.clip.values()))) if self.uses_clip else None)

    def _searched(self) -> np.ndarray:
        """The vectors similar search compares: the stored ones, their image part replaced by the
        CLIP image embedding (weighted as the image part is) when :attr:`uses_clip`."""
        if self._search_vectors is None:
            if not self.uses_clip:
                self._search_vectors = self.vectors
            else:
                clip = np.stack([self.clip[gid] for gid in self.items]).astype(np.float32)
                columns = [np.sqrt(w) * clip if name == "image" else self.vectors[:, start:end]
                           for name, (start, end, w) in self.params.parts.items()]
                self._search_vectors = np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.float32)
        return self._search_vectors

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def _search_index(self):
        if self._faiss is None:
            import faiss

            vectors = self._searched()
            dims = vectors.shape[1]
            if len(vectors) <= EXACT_LIMIT:
                index = faiss.IndexFlatIP(dims)
            else:
                index = faiss.IndexHNSWFlat(dims, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efSearch = HNSW_SEARCH_DEPTH
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self._faiss = index
        return self._faiss

    def _row(self, garment_id: str) -> int:
        if self._rows is None:
            self._rows = {gid: i for i, gid in enumerate(self.items)}
        try:
            return self._rows[garment_id]
        except KeyError:
            raise InputError(f"no garment {garment_id!r} in the index of {self.folder} (run tryon catalog index)") from None

    def vector(self, garment_id: str) -> np.ndarray:
        """The garment's vector as similar search compares it (:meth:`search`, :attr:`parts`)."""
        return self._searched()[self._row(garment_id)]

    def embedding(self, garment_id: str) -> np.ndarray:
        """The garment's stored vector (Inception image part, :attr:`EmbeddingParams.parts`)."""
        return self.vectors[self._row(garment_id)]

    def search(self, query: np.ndarray, k: int, exclude: set[str] = frozenset(),
               categories: set[Category] | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest garments to ``query`` (id, inner product), best first; ``query`` is a
        vector of the searched space (:meth:`vector`)."""
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
