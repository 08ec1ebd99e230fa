"""The ``warp`` engine (the default): the real garment pixels moved onto the body part by part and
composited in the photo's light, on the CPU, with nothing to download."""

from __future__ import annotations

from dataclasses import dataclass

from tryon.engines.options import option
from tryon.engines.registry import EngineSpec


@dataclass(frozen=True)
class WarpOptions:
    shading: float = option(0.6, "How much of the photo's light and folds the new garment takes (0 = flat "
                                 "studio light, 1 = all of the old garment's).", per_request=True)
    wrinkles: float = option(0.5, "Share of the old garment's folds added to the new one (0..1).", per_request=True)

    def check(self) -> None:
        from tryon.engines.options import OptionError

        for name in ("shading", "wrinkles"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise OptionError(f"{name} must be between 0 and 1, not {getattr(self, name)}")


SPEC = EngineSpec(
    name="warp",
    summary="Geometric warp of the product photo onto the body, on the CPU (default; nothing to download).",
    options=WarpOptions,
    factory="tryon.engines.warp.engine:WarpEngine",
    weights_licence="none needed (uses the analysis models of `tryon models list`, Apache-2.0)",
)
