"""Analyses kept by content hash, bounded in bytes: several garments on one photo analyse it once."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import fields, is_dataclass
from typing import Any, Callable, Hashable

import numpy as np
from cachetools import LRUCache


def content_key(data: bytes, *extra: Hashable) -> tuple:
    """The cache key of an upload: its SHA-256 and whatever else the result depends on."""
    return (hashlib.sha256(data).hexdigest(), *extra)


def nbytes(value: Any) -> int:
    """Memory held by an analysis: the arrays it owns (what dominates), plus a small overhead."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if is_dataclass(value):
        return 256 + sum(nbytes(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, (list, tuple)):
        return 64 + sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(nbytes(v) for v in value.values())
    return 64


class AnalysisCache:
    """A thread-safe LRU cache of analyses, bounded by the bytes their arrays take."""

    def __init__(self, max_bytes: int):
        self._cache: LRUCache = LRUCache(maxsize=max_bytes, getsizeof=nbytes)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """The cached value and True, or the computed (and now cached) value and False.

        Errors are not cached. Two threads missing the same key both compute; the cost is one
        wasted analysis, never a wrong result or a lock held through a model call.
        """
        with self._lock:
            value = self._cache.get(key)
            if value is not None:
                self.hits += 1
                return value, True
            self.misses += 1
        value = compute()
        with self._lock:
            try:
                self._cache[key] = value
            except ValueError:  # larger than the whole cache: serve it, keep nothing
                pass
        return value, False

    @property
    def bytes(self) -> int:
        with self._lock:
            return int(self._cache.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)
