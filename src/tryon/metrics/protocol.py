"""The evaluation protocol written beside every number, and the check that two results may be compared.

Try-on papers' numbers often cannot be compared: different FID code (resize filters, weights),
LPIPS backbones, resolutions, reference folders (garment photos mixed into them), repainting. Every
``tryon eval`` result carries a ``protocol`` block saying all of it, and :func:`differences`
names what makes two results incomparable.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

#: Protocol fields that change the numbers: two results that differ in any are not comparable.
DECISIVE = ("setting", "resolution", "reference.digest", "pairs.digest", "repaint", "fid.sha256",
            "fid.preprocessing", "lpips.net", "lpips.backbone_sha256", "garment_fidelity")
#: Packages whose versions every result records.
PACKAGES = ("tryon", "numpy", "scipy", "pillow", "opencv-contrib-python", "opencv-python", "mediapipe", "torch")

SSIM_CONVENTION = ("Gaussian window 11 taps, sigma 1.5, K1 0.01, K2 0.03, valid region, mean over RGB channels "
                   "(scikit-image / pytorch-msssim); MS-SSIM: 5 scales, Wang et al. 2003 weights")


def versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers (absent ones left out)."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def file_set_digest(paths: list[Path]) -> str:
    """A short digest of a set of files by name and size: the same reference folder gives the same digest."""
    digest = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.name):
        digest.update(f"{p.name}\t{p.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    """Nested entries as dotted keys (``fid.resize``), leaves only (an empty dict is a leaf)."""
    flat: dict[str, object] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def differences(a: dict, b: dict) -> list[str]:
    """What makes two results' protocols incomparable (empty: they may be compared)."""
    fa, fb = flatten(a), flatten(b)

    def part(flat: dict[str, object], key: str) -> object:
        found = {k: v for k, v in flat.items() if k == key or k.startswith(key + ".")}
        return found.get(key) if set(found) <= {key} else found

    return [f"{key}: {part(fa, key)!r} vs {part(fb, key)!r}" for key in DECISIVE if part(fa, key) != part(fb, key)]
