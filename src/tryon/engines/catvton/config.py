"""The catvton engine's settings as data: defaults < config file < ``TRYON_CATVTON_*`` < flags.

The config file is TOML, ``$TRYON_CONFIG`` or ``~/.config/tryon/config.toml``, section
``[catvton]``, so ``tryon run ... --engine catvton`` and the server work without long flags::

    [catvton]
    base_model = "/models/stable-diffusion-inpainting"
    vae = "/models/sd-vae-ft-mse"
    attn_weights = "/models/CatVTON/mix-48k-1024"
    steps = 50
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from tryon.engines.catvton.geometry import parse_size
from tryon.errors import TryOnError

SCHEDULERS = ("ddim", "dpm++", "unipc")
DTYPES = ("fp32", "fp16", "bf16", "auto")


@dataclass(frozen=True)
class CatVTONConfig:
    base_model: Path | None = None  # diffusers folder of SD-1.5 inpainting (unet/ with 9 inputs, scheduler/)
    vae: Path | None = None  # diffusers AutoencoderKL folder; default: base_model/vae
    attn_weights: Path | None = None  # a CatVTON folder holding attention/model.safetensors
    steps: int = 50
    guidance: float = 2.5
    seed: int = 42
    size: tuple[int, int] = (768, 1024)  # working (W, H)
    scheduler: str = "ddim"  # as published; dpm++ or unipc for fewer steps
    dtype: str = "auto"  # bf16 on a GPU that has it, else fp16 on a GPU, fp32 on a CPU
    device: str = "auto"
    repaint: bool = False  # paste the person back outside the blurred mask (leaks pixels in paired eval)
    offload: bool = False  # model CPU offload, for small GPUs
    vae_tiling: bool = False
    compile: bool = False  # torch.compile the UNet (GPU; minutes of warm-up, then faster steps)

    def check(self) -> "CatVTONConfig":
        if self.base_model is None or self.attn_weights is None:
            raise TryOnError("the catvton engine needs the base model and CatVTON's attention weights: give "
                             "--base-model DIR and --attn-weights DIR (or TRYON_CATVTON_BASE_MODEL / "
                             "TRYON_CATVTON_ATTN_WEIGHTS, or a [catvton] section in the config file)")
        if self.scheduler not in SCHEDULERS:
            raise TryOnError(f"scheduler {self.scheduler!r}: use one of {', '.join(SCHEDULERS)}")
        if self.dtype not in DTYPES:
            raise TryOnError(f"dtype {self.dtype!r}: use one of {', '.join(DTYPES)}")
        if self.steps < 1 or self.guidance < 0:
            raise TryOnError("steps must be at least 1 and guidance at least 0")
        return self


def config_file(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("TRYON_CONFIG") or Path.home() / ".config" / "tryon" / "config.toml")


def _coerce(name: str, value):
    kind = {f.name: f.type for f in fields(CatVTONConfig)}[name]
    try:
        if name == "size":
            return parse_size(value) if isinstance(value, str) else tuple(int(v) for v in value)
        if "Path" in kind:
            return Path(value).expanduser()
        if kind == "bool":
            return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise TryOnError(f"catvton setting {name}={value!r}: {exc}") from None


def load_config(environ: dict[str, str] | None = None, **flags) -> CatVTONConfig:
    """Resolve the settings; ``flags`` that are None count as not given."""
    env = os.environ if environ is None else environ
    values: dict = {}
    path = config_file(env)
    if path.is_file():
        try:
            import tomllib
        except ImportError:  # Python 3.10
            raise TryOnError(f"{path}: reading the config file needs Python 3.11 or later") from None
        try:
            section = tomllib.loads(path.read_text()).get("catvton", {})
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise TryOnError(f"{path}: not a readable TOML file ({exc})") from None
        unknown = set(section) - {f.name for f in fields(CatVTONConfig)}
        if unknown:
            raise TryOnError(f"{path}: unknown [catvton] setting(s) {', '.join(sorted(unknown))}")
        values.update({k: _coerce(k, v) for k, v in section.items()})
    for f in fields(CatVTONConfig):
        raw = env.get(f"TRYON_CATVTON_{f.name.upper()}")
        if raw:
            values[f.name] = _coerce(f.name, raw)
    values.update({k: _coerce(k, v) for k, v in flags.items() if v is not None})
    return replace(CatVTONConfig(), **values)
