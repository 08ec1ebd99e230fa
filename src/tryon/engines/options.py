"""Engine options declared as data.

Each engine declares its options as one frozen dataclass whose fields are made with :func:`option`:
a type, a default, a help text, and for some the allowed values or the weight files the value (a
folder or hub id) must hold. Everything that sets options reads that declaration and nothing else:
``tryon run``'s and ``tryon batch``'s flags, the config file's ``[ENGINE]`` section,
``TRYON_<ENGINE>_<OPTION>`` variables, the server and ``tryon engines``. Precedence: the declared
default < the config file < the environment < flags.

The config file is TOML, ``$TRYON_CONFIG`` or ``~/.config/tryon/config.toml``::

    [fashn]
    model = "/models/fashn-vton-1.5"
    steps = 20
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from tryon.errors import TryOnError

#: Option kinds by annotation; ``size`` is WIDTHxHEIGHT.
_KINDS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "tuple[int,int]": "size"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class OptionError(TryOnError):
    """An engine option is unknown, or has a value it cannot take."""


def option(default: Any, help: str, *, choices: tuple[str, ...] | None = None,
           files: tuple[str | tuple[str, ...], ...] = (), per_request: bool = False) -> Any:
    """Declare an option. ``files`` are the weight files that the option's value (a folder or a hub id)
    must hold, relative to it; a tuple among them lists alternatives, the first found is used.
    ``per_request``: a request may set it for itself (a seed, a step count), as opposed to what is
    fixed when the engine loads (weights, precision, device)."""
    return field(default=default, metadata={"help": help, "choices": choices, "files": files,
                                            "per_request": per_request})


@dataclass(frozen=True)
class OptionInfo:
    """One declared option, as the CLI, the server and ``tryon engines`` show it."""

    name: str
    kind: str  # str, int, float, bool or size
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    files: tuple[str | tuple[str, ...], ...] = ()
    per_request: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def shown_default(self) -> str:
        if self.default is None:
            return "none"
        if self.kind == "size":
            return "x".join(str(v) for v in self.default)
        if self.kind == "bool":
            return "on" if self.default else "off"
        return str(self.default)


def _kind(annotation: Any) -> str | None:
    """str, int, float, bool or size from a field's annotation (a string under postponed evaluation)."""
    text = annotation if isinstance(annotation, str) else (
        annotation.__name__ if isinstance(annotation, type) else str(annotation))
    text = text.replace("typing.", "").replace(" ", "").replace("|None", "").replace("None|", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional["):-1]
    return _KINDS.get(text)


def describe(options: type) -> list[OptionInfo]:
    """The options an options dataclass declares, in declaration order."""
    out = []
    for f in fields(options):
        kind = _kind(f.type)
        if kind is None:
            raise TypeError(f"{options.__name__}.{f.name}: options are str, int, float, bool or tuple[int, int]")
        out.append(OptionInfo(f.name, kind, f.default, f.metadata.get("help", ""), f.metadata.get("choices"),
                              f.metadata.get("files", ()), f.metadata.get("per_request", False)))
    return out


def parse_size(text: str) -> tuple[int, int]:
    """``768x1024`` as (768, 1024): width x height."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"{text!r} is not WIDTHxHEIGHT, e.g. 768x1024") from None
    if w < 1 or h < 1:
        raise ValueError(f"{text!r}: width and height must be positive")
    return w, h


def check_size(size: tuple[int, int], multiple: int = 8, least: int = 64) -> None:
    """A working size the latent models take: each side a multiple of ``multiple`` (the VAE's
    factor), at least ``least``."""
    w, h = size
    if w % multiple or h % multiple or w < least or h < least:
        raise OptionError(f"size {w}x{h}: width and height must be multiples of {multiple}, at least {least}")


def coerce(info: OptionInfo, value: Any, where: str) -> Any:
    """The value as the option's kind, or :class:`OptionError` saying where it came from."""
    try:
        if value is None:
            if info.default is None:
                return None
            raise ValueError("a value is required")
        if info.kind == "size":
            out = parse_size(value) if isinstance(value, str) else tuple(int(v) for v in value)
            if len(out) != 2:
                raise ValueError("give WIDTHxHEIGHT")
        elif info.kind == "bool":
            if isinstance(value, bool):
                out = value
            elif str(value).strip().lower() in _TRUE + _FALSE:
                out = str(value).strip().lower() in _TRUE
            else:
                raise ValueError("use true or false")
        elif info.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("an integer is required")
            out = int(value)
        elif info.kind == "float":
            out = float(value)
        else:
            out = str(value)
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{where}: {info.name}={value!r}: {exc}") from None
    if info.choices and out not in info.choices:
        raise OptionError(f"{where}: {info.name}={out!r}: use one of {', '.join(info.choices)}")
    return out


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("TRYON_CONFIG") or Path.home() / ".config" / "tryon" / "config.toml")


def env_name(engine: str, name: str) -> str:
    return f"TRYON_{engine.upper().replace('-', '_')}_{name.upper()}"


def _config_section(engine: str, env: Mapping[str, str]) -> tuple[dict, str]:
    path = config_file(env)
    if not path.is_file():
        return {}, str(path)
    import tomllib

    try:
        section = tomllib.loads(path.read_text()).get(engine, {})
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise OptionError(f"{path}: not a readable TOML file ({exc})") from None
    if not isinstance(section, dict):
        raise OptionError(f"{path}: [{engine}] must be a table of options")
    return section, str(path)


def unknown_option(engine: str, options: type, names: list[str], where: str) -> OptionError:
    valid = ", ".join(i.name for i in describe(options)) or "none"
    return OptionError(f"{where}: engine {engine!r} has no option {', '.join(sorted(names))} (its options: {valid})")


def resolve(engine: str, options: type, flags: Mapping[str, Any] | None = None,
            environ: Mapping[str, str] | None = None) -> Any:
    """The engine's options: declared defaults < config file ``[engine]`` < ``TRYON_<ENGINE>_*`` <
    ``flags`` (a flag that is None counts as not given). An options class may define ``check()``,
    called last, to refuse combinations."""
    env = os.environ if environ is None else environ
    infos = {i.name: i for i in describe(options)}
    values: dict[str, Any] = {}
    section, path = _config_section(engine, env)
    unknown = [k for k in section if k not in infos]
    if unknown:
        raise unknown_option(engine, options, unknown, f"{path} [{engine}]")
    values.update({k: coerce(infos[k], v, f"{path} [{engine}]") for k, v in section.items()})
    for name, info in infos.items():
        raw = env.get(env_name(engine, name))
        if raw:
            values[name] = coerce(info, raw, env_name(engine, name))
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = [k for k in given if k not in infos]
    if unknown:
        raise unknown_option(engine, options, unknown, "options")
    values.update({k: coerce(infos[k], v, "--" + k.replace("_", "-")) for k, v in given.items()})
    return _checked(replace(options(), **values))


def request_options(engine: str, options: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """A request's own option values, coerced and checked against the engine's current ``options``;
    only options declared ``per_request`` may be given (the others are fixed when the engine loads)."""
    infos = {i.name: i for i in describe(type(options))}
    unknown = [k for k in given if k not in infos]
    if unknown:
        raise unknown_option(engine, type(options), unknown, "request")
    fixed = sorted(k for k in given if not infos[k].per_request)
    if fixed:
        raise OptionError(f"{', '.join(fixed)}: set when the {engine} engine loads ({env_name(engine, fixed[0])} "
                          "or the config file), not per request")
    values = {k: coerce(infos[k], v, "request") for k, v in given.items()}
    _checked(replace(options, **values))
    return values


def _checked(options: Any) -> Any:
    """The options, after their class's own ``check()`` (if it has one) accepted the combination."""
    check = getattr(options, "check", None)
    if check is not None:
        check()
    return options
