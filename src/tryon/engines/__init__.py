"""Try-on engines behind one interface; see :mod:`tryon.engines.base` and :mod:`tryon.engines.registry`."""

from tryon.engines.base import Engine, TryOnResult
from tryon.engines.registry import available_engines, get_engine, register_engine

__all__ = ["Engine", "TryOnResult", "available_engines", "get_engine", "register_engine"]
