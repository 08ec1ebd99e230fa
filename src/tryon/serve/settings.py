"""Service settings as data: defaults, then ``TRYON_SERVE_*`` environment variables, then flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from tryon.errors import TryOnError


@dataclass
class ServeSettings:
    host: str = "127.0.0.1"  # loopback unless the operator opens it up
    port: int = 8000
    catalog: Path | None = None  # folder of garment photos offered by id
    clip: str | None = None  # a CLIP model (hub id or folder): text search over the catalog (GET /v1/search)
    api_keys: tuple[str, ...] = ()  # empty: no key needed
    cors_origins: tuple[str, ...] = ()  # empty: no cross-origin access
    engines: tuple[str, ...] = ("warp",)
    default_engine: str = "warp"
    live_engine: str = "warp"  # the camera mode's engine: it must keep up with a video (warp: about 0.1 s a frame)
    workers: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    queue_size: int = 8  # waiting requests per engine beyond those being worked on
    deadline_s: float = 30.0  # a request not finished by then gets 504; SIGTERM drains for at most this long
    upload_timeout_s: float = 60.0  # a body not received by then gets 408 (15 MB over a 2 Mbit/s phone line)
    batch_window_s: float = 0.02  # GPU engines: requests arriving within this window run as one batch
    cache_mb: int = 256  # person and garment analyses kept by content hash
    max_upload_mb: float = 15.0  # a whole request body
    max_pixels: int = 25_000_000  # per uploaded image
    live_size: tuple[int, int] = (384, 512)  # live frames are processed at this size (W, H)
    save_dir: Path | None = None  # only if set are uploads and results written to disk

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "ServeSettings":
        """Defaults, overridden by ``TRYON_SERVE_<FIELD>`` variables, overridden by ``overrides``
        (flags given on the command line; None means not given)."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"TRYON_SERVE_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        from tryon.engines.registry import available_engines, engine_options

        unknown = [e for e in (*self.engines, self.live_engine) if e not in available_engines()]
        if unknown:
            raise TryOnError(f"unknown engine(s) {', '.join(unknown)}; available: {', '.join(available_engines())}")
        for name in self.engines:  # options from TRYON_<ENGINE>_* and the config file, refused before loading
            engine_options(name)
        if self.default_engine not in self.engines:
            raise TryOnError(f"default engine {self.default_engine!r} is not among the served engines {self.engines}")
        if self.catalog is not None and not Path(self.catalog).is_dir():
            raise TryOnError(f"catalog folder {self.catalog} does not exist")
        for name in ("workers", "queue_size", "cache_mb", "max_pixels"):
            if getattr(self, name) < (0 if name == "queue_size" else 1):
                raise TryOnError(f"{name} must be positive")
        if self.deadline_s <= 0 or self.max_upload_mb <= 0 or self.upload_timeout_s <= 0:
            raise TryOnError("deadline, upload timeout and upload limit must be positive")


def _parse(name: str, raw: str):
    kind = {f.name: f.type for f in fields(ServeSettings)}[name]
    try:
        if name in ("api_keys", "cors_origins", "engines"):
            return tuple(v.strip() for v in raw.split(",") if v.strip())
        if name == "live_size":
            w, h = raw.lower().split("x")
            return int(w), int(h)
        if "Path" in kind:
            return Path(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        return raw
    except ValueError:
        raise TryOnError(f"TRYON_SERVE_{name.upper()}={raw!r} is not a valid value") from None
