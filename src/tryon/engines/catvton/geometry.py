"""CatVTON's input geometry: what the model saw in training, so what it must see at inference.

The person photo and its mask are centre-cropped to the working aspect and resized (Lanczos); the
garment is resized to fit and centred on white. Results are mapped back onto the original photo by
the inverse of the person's crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Crop:
    """The centre crop taken from the original photo: box (x0, y0, x1, y1) in its pixels."""

    box: tuple[int, int, int, int]
    size: tuple[int, int]  # working (W, H)


def centre_crop_box(width: int, height: int, size: tuple[int, int]) -> Crop:
    """The largest centre box of the target's aspect, with CatVTON's integer arithmetic (floors)."""
    tw, th = size
    if width * th < tw * height:  # too tall: crop the top and bottom
        cw, ch = width, width * th // tw
    else:
        cw, ch = height * tw // th, height
    return Crop(((width - cw) // 2, (height - ch) // 2, (width + cw) // 2, (height + ch) // 2), size)


def crop_resize(image: np.ndarray, crop: Crop, resample=Image.LANCZOS) -> np.ndarray:
    return np.asarray(Image.fromarray(image).crop(crop.box).resize(crop.size, resample))


def fit_on_white(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The garment resized to fit ``size`` (W, H), keeping its aspect, centred on white; the scaled
    side is floored as CatVTON's own preprocessing does (rounding moved most pixels by a level)."""
    tw, th = size
    h, w = image.shape[:2]
    if w * th < tw * h:
        nw, nh = max(1, w * th // h), th
    else:
        nw, nh = tw, max(1, h * tw // w)
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(Image.fromarray(image).resize((nw, nh), Image.LANCZOS), ((tw - nw) // 2, (th - nh) // 2))
    return np.asarray(canvas)


def paste_back(original: np.ndarray, result: np.ndarray, crop: Crop) -> np.ndarray:
    """The result (working size) resized into the crop box of the original photo; what the crop
    left out is the original's."""
    x0, y0, x1, y1 = crop.box
    out = original.copy()
    out[y0:y1, x0:x1] = np.asarray(Image.fromarray(result).resize((x1 - x0, y1 - y0), Image.LANCZOS))
    return out
