"""Weights by hub id or by folder, as ``from_pretrained`` takes them elsewhere in the ecosystem.

An option naming weights takes a local folder, or a hub id ``ORG/NAME`` optionally followed by a
folder inside the repository (``zhengchong/CatVTON/mix-48k-1024``). A hub id is fetched with
``huggingface_hub`` into its cache on first use (with its progress bars), only the files the engine
declares, and read from the cache afterwards. With ``TRYON_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``
nothing touches the network: a file that is not in the cache is a :class:`WeightsError` naming the
file, the hub id, and where to put it instead.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tryon.errors import WeightsError

#: Files that an option's value must hold; a tuple lists alternatives (the first found is used).
Files = tuple[str | tuple[str, ...], ...]


@dataclass(frozen=True)
class WeightsSource:
    """Where weights come from: a local folder, or a hub repository and a folder inside it."""

    folder: Path | None = None
    repo_id: str | None = None
    subfolder: str = ""

    def __str__(self) -> str:
        if self.folder is not None:
            return str(self.folder)
        return self.repo_id + (f"/{self.subfolder}" if self.subfolder else "")


def parse_source(value: str | os.PathLike) -> WeightsSource:
    """A folder if the value names one that exists or looks like a path (``/``, ``.``, ``~``, a drive);
    otherwise a hub id."""
    text = str(value).strip()
    path = Path(text).expanduser()
    looks_local = text.startswith(("/", ".", "~", "\\")) or (len(text) > 1 and text[1] == ":")
    if path.exists() or looks_local:
        return WeightsSource(folder=path)
    parts = [p for p in text.split("/") if p]
    if len(parts) < 2:
        raise WeightsError(f"{text!r}: neither an existing folder nor a hub id (ORG/NAME)")
    return WeightsSource(repo_id="/".join(parts[:2]), subfolder="/".join(parts[2:]))


def offline(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(k, "").strip().lower() not in ("", "0", "false", "no") for k in ("TRYON_OFFLINE",
                                                                                          "HF_HUB_OFFLINE"))


def hub_cache(environ: dict[str, str] | None = None) -> Path:
    """The hub cache folder, read at call time (huggingface_hub reads it once, at import)."""
    env = os.environ if environ is None else environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    home = Path(env.get("HF_HOME") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface")
    return home.expanduser() / "hub"


def _alternatives(entry: str | tuple[str, ...]) -> tuple[str, ...]:
    return (entry,) if isinstance(entry, str) else tuple(entry)


def _local(source: WeightsSource, files: Files, what: str) -> Path:
    folder = source.folder
    if not folder.is_dir():
        raise WeightsError(f"{what}: folder {folder} does not exist")
    for entry in files:
        if not any((folder / f).is_file() for f in _alternatives(entry)):
            raise WeightsError(f"{what}: {folder} has no {' or '.join(_alternatives(entry))}")
    return folder


def _hub_file(source: WeightsSource, name: str, cache: Path, local_only: bool, what: str) -> Path | None:
    """The cached (or, online, downloaded) file; None if the repository has no such file (online) or
    the cache does not hold it (offline)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    filename = f"{source.subfolder}/{name}" if source.subfolder else name
    try:
        return Path(hf_hub_download(source.repo_id, filename, cache_dir=str(cache), local_files_only=local_only))
    except LocalEntryNotFoundError:  # not cached; online, that means the hub could not be reached
        if local_only:
            return None
        raise WeightsError(f"{what}: {name} of hub id {source} is not in the hub cache {cache} and the hub could "
                           "not be reached; connect once, or give a folder holding it") from None
    except EntryNotFoundError:
        return None
    except HfHubHTTPError as exc:  # unknown or gated repository, refused download
        raise WeightsError(f"{what}: {source}: the hub refused {name} ({str(exc).splitlines()[0]})") from None
    except OSError as exc:  # disk full, unwritable cache
        raise WeightsError(f"{what}: {source}: {name} could not be fetched ({exc})") from None


def _hub(source: WeightsSource, files: Files, what: str, environ: dict[str, str] | None) -> Path:
    if importlib.util.find_spec("huggingface_hub") is None:
        raise WeightsError(f"{what}: loading {source} by hub id needs huggingface_hub (pip install huggingface_hub), "
                           "or give a local folder")
    cache, local_only = hub_cache(environ), offline(environ)
    root = None
    for entry in files:
        names = _alternatives(entry)
        found = None
        for name in names:
            found = _hub_file(source, name, cache, local_only, what)
            if found is not None:
                break
        if found is None:
            wanted = " or ".join(names)
            if local_only:
                raise WeightsError(
                    f"{what}: {wanted} of hub id {source} is not in the hub cache {cache} and TRYON_OFFLINE / "
                    f"HF_HUB_OFFLINE forbid fetching it; fetch it once online, or put it in a folder (keeping the "
                    f"repository's layout) and give that folder instead of {source}")
            raise WeightsError(f"{what}: hub repository {source} has no {wanted}")
        filename = Path(source.subfolder) / name
        root = found.parents[len(filename.parts) - 1] / source.subfolder  # the snapshot's folder
    return root


def resolve_weights(value: str | os.PathLike, files: Files, what: str,
                    environ: dict[str, str] | None = None) -> Path:
    """The local folder holding ``files`` for an option's value (a folder, or a hub id fetched or
    read from the cache), or :class:`WeightsError` naming what is missing and where it was looked for."""
    source = parse_source(value)
    return _local(source, files, what) if source.folder is not None else _hub(source, files, what, environ)


def option_weights(options: Any, name: str, engine: str) -> Path:
    """The local folder for an engine's weights option ``name``, with the files its declaration lists."""
    from tryon.engines.options import describe

    files = next(i.files for i in describe(type(options)) if i.name == name)
    return resolve_weights(getattr(options, name), files, f"{engine} {name}")


def weights_status(value: str | os.PathLike | None, files: Files, environ: dict[str, str] | None = None) -> str:
    """``present``, ``cached`` or ``missing``, without touching the network (for ``tryon engines``)."""
    if value is None:
        return "not set"
    try:
        source = parse_source(value)
    except WeightsError:
        return "missing"
    if source.folder is not None:
        try:
            _local(source, files, "")
        except WeightsError:
            return "missing"
        return "present"
    try:
        _hub(source, files, "", {**(os.environ if environ is None else environ), "TRYON_OFFLINE": "1"})
    except WeightsError:
        return "missing"
    return "cached"
