"""Engines by name: each is registered once, as an :class:`EngineSpec`, through the ``tryon.engines``
entry point group (the built-in ones too), so a third-party package adds an engine by declaring

    [project.entry-points."tryon.engines"]
    myengine = "my_package.tryon_engine:SPEC"

Listing engines and reading their options never imports an engine's code (nor PyTorch): the spec
names its class as ``module:attribute``, imported when the first engine is built.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Mapping

from tryon.engines.base import Engine
from tryon.engines.options import OptionInfo, describe, resolve
from tryon.engines.weights import weights_status
from tryon.errors import TryOnError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tryon.engines"

#: Names the commands use themselves: an engine option cannot take them.
RESERVED = frozenset({"person", "garment", "out", "category", "engine", "mask", "keypoints", "debug", "persons",
                      "garments", "pairs", "workers", "help", "format", "anonymize", "garment_id"})


class UnknownEngineError(TryOnError):
    """No engine of that name is registered."""


@dataclass(frozen=True)
class EngineSpec:
    """What the registry knows of an engine without importing it.

    ``factory`` builds the engine as ``factory(options, person_analyzer=None, garment_analyzer=None)``.
    """

    name: str
    summary: str
    options: type  # a dataclass of options declared with tryon.engines.options.option
    factory: str  # "module:attribute"
    weights_licence: str  # the licence of the weights it runs (the code's is ours: Apache-2.0)
    max_batch: int = 1  # requests it runs at once to advantage (GPU engines: more than 1)
    extra: str | None = None  # the pip extra it needs, named when an import fails

    def describe_options(self) -> list[OptionInfo]:
        return describe(self.options)

    def load_factory(self):
        module, _, attribute = self.factory.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            hint = f"pip install 'tryon[{self.extra}]'" if self.extra else f"install {exc.name}"
            raise TryOnError(f"the {self.name} engine needs {exc.name}, which is not installed: {hint}") from None

    def weights(self, options: Any, environ: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
        """(option, value, present / cached / missing / not set) for each option that names weights."""
        return [(i.name, str(getattr(options, i.name)), weights_status(getattr(options, i.name), i.files, environ))
                for i in self.describe_options() if i.files]


_SPECS: dict[str, EngineSpec] = {}
_discovered = False


def register_engine(spec: EngineSpec) -> None:
    """Register an engine (entry points do this; call it for an engine defined in a script)."""
    if not isinstance(spec, EngineSpec):
        raise TypeError(f"register_engine takes an EngineSpec, not {type(spec).__name__}")
    clash = sorted(RESERVED & {i.name for i in spec.describe_options()})
    if clash:
        raise ValueError(f"engine {spec.name!r}: option name(s) {', '.join(clash)} are taken by the commands")
    _SPECS[spec.name] = spec


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = ep.load()
            if not isinstance(spec, EngineSpec) or spec.name != ep.name:
                raise TypeError(f"{ep.value} is not the EngineSpec of an engine named {ep.name!r}")
            register_engine(spec)
        except Exception as exc:  # a broken plug-in must not take the built-in engines down with it
            log.warning("engine plug-in %s (%s) skipped: %s", ep.name, ep.value, exc)


def available_engines() -> list[str]:
    _discover()
    return sorted(_SPECS)


def engine_spec(name: str) -> EngineSpec:
    _discover()
    if name not in _SPECS:
        raise UnknownEngineError(f"unknown engine {name!r}; available: {', '.join(sorted(_SPECS)) or 'none'}")
    return _SPECS[name]


def engine_max_batch(name: str) -> int:
    """How many requests the named engine runs at once to advantage (1 unless it batches on a GPU)."""
    return engine_spec(name).max_batch


def engine_options(name: str, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None):
    """The named engine's options from its declaration, the config file, the environment and ``flags``."""
    spec = engine_spec(name)
    return resolve(name, spec.options, flags, environ)


def get_engine(name: str = "warp", options: Any = None, *, person_analyzer=None, garment_analyzer=None,
               **flags) -> Engine:
    """A new engine by name (``warp``, the default, needs no downloads). ``flags`` set options by name
    on top of the config file and environment; ``options`` gives them all at once instead."""
    spec = engine_spec(name)
    if options is None:
        options = engine_options(name, flags)
    elif flags:
        raise TypeError("give options or flags, not both")
    return spec.load_factory()(options, person_analyzer=person_analyzer, garment_analyzer=garment_analyzer)
