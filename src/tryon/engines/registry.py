"""Engines by name, so the CLI, the server and users pick one with a string."""

from __future__ import annotations

from typing import Callable

from tryon.engines.base import Engine
from tryon.errors import TryOnError

_FACTORIES: dict[str, Callable[..., Engine]] = {}


def register_engine(name: str, factory: Callable[..., Engine]) -> None:
    _FACTORIES[name] = factory


def available_engines() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


def engine_max_batch(name: str) -> int:
    """How many requests the named engine runs at once to advantage (1 unless it batches on a GPU)."""
    _load_builtins()
    if name not in _FACTORIES:
        raise TryOnError(f"unknown engine {name!r}; available: {', '.join(sorted(_FACTORIES))}")
    return int(getattr(_FACTORIES[name], "max_batch", 1))


def get_engine(name: str = "warp", **options) -> Engine:
    """A new engine instance by name (``warp`` is the default and needs no downloads)."""
    _load_builtins()
    if name not in _FACTORIES:
        raise TryOnError(f"unknown engine {name!r}; available: {', '.join(sorted(_FACTORIES))}")
    return _FACTORIES[name](**options)


def _load_builtins() -> None:
    if "warp" not in _FACTORIES:
        from tryon.engines.catvton.engine import CatVTONEngine  # imports PyTorch only when built
        from tryon.engines.warp.engine import WarpEngine

        register_engine("warp", WarpEngine)
        register_engine("catvton", CatVTONEngine)
