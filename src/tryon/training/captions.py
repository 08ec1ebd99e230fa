"""Prompts for text-controlled training: a captions file, or words made from category and colour.

A made prompt names the garment's colour with the nearest of a small set of basic colour terms
(nearest in CIELAB, where distances follow what people see) and its kind from the category, e.g.
"a person wearing a navy top". Shops with real product copy should give a captions file.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from tryon.category import Category
from tryon.colour import colour_distance
from tryon.errors import InputError

#: Basic colour terms and an sRGB prototype each (Berlin and Kay's eleven, with navy and beige,
#: the two that garment copy uses most beyond them).
COLOUR_TERMS = {
    "black": (20, 20, 20), "white": (245, 245, 245), "grey": (128, 128, 128), "red": (200, 30, 40),
    "orange": (240, 130, 30), "yellow": (240, 220, 50), "green": (50, 140, 60), "blue": (40, 90, 200),
    "navy": (25, 35, 80), "purple": (120, 50, 150), "pink": (240, 150, 180), "brown": (110, 70, 40),
    "beige": (215, 195, 160),
}
NOUNS = {Category.UPPER: "top", Category.LOWER: "bottoms", Category.DRESS: "dress"}
#: A pixel farther than this (RGB distance) from white counts as garment on a white product photo.
NOT_WHITE = 40.0
#: Fewer garment pixels than this fraction of the photo: the garment is white on white.
MIN_GARMENT_FRACTION = 0.02


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(rgb, np.uint8).reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)


_TERMS_LAB = _lab(np.array(list(COLOUR_TERMS.values())))


def colour_name(pixels: np.ndarray) -> str:
    """The basic colour term nearest (CIELAB) to the median of ``pixels`` (N, 3) uint8 RGB."""
    if len(pixels) == 0:
        return "white"
    lab = _lab(np.median(pixels.reshape(-1, 3), axis=0).round())
    return list(COLOUR_TERMS)[int(np.argmin(((_TERMS_LAB - lab) ** 2).sum(axis=1)))]


def garment_pixels(product: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The garment's pixels of a product photo: under its mask when given, else those unlike the
    white background."""
    if mask is None:
        keep = colour_distance(product, (255, 255, 255)) > NOT_WHITE
        if keep.mean() < MIN_GARMENT_FRACTION:
            keep = np.ones(product.shape[:2], bool)
    else:
        keep = mask > 127
    return product[keep]


def made_prompt(product: np.ndarray, category: Category, mask: np.ndarray | None = None) -> str:
    return f"a person wearing a {colour_name(garment_pixels(product, mask))} {NOUNS[category]}"


def read_captions(path: str | os.PathLike) -> dict[str, str]:
    """A captions file: one ``ID<TAB>prompt`` per line (ID: the person photo's name without
    extension); blank lines and lines starting with ``#`` are ignored."""
    out: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: captions file not readable ({exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise InputError(f"{path}:{n}: expected 'ID<TAB>prompt'")
        out[Path(key.strip()).stem] = text.strip()
    return out
