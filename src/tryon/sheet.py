"""Contact sheets: person, garment and result side by side, one row per try-on, to review at a glance."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def _fit(image: np.ndarray | None, width: int, height: int) -> Image.Image:
    tile = Image.new("RGB", (width, height), (236, 236, 236))
    if image is None:
        ImageDraw.Draw(tile).line([(0, 0), (width, height)], fill=(200, 60, 60), width=3)
        return tile
    img = Image.fromarray(image)
    img.thumbnail((width, height), Image.LANCZOS)
    tile.paste(img, ((width - img.width) // 2, (height - img.height) // 2))
    return tile


def contact_sheet(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, str]], tile: int = 256) -> np.ndarray:
    """Rows of (person, garment, result or None, caption); a failed try-on shows a crossed tile."""
    w, h, caption_h = tile * 3 // 4, tile, 18
    sheet = Image.new("RGB", (3 * w + 4 * 6, max(1, len(rows)) * (h + caption_h + 6) + 6), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (person, garment, result, caption) in enumerate(rows):
        y = 6 + i * (h + caption_h + 6)
        for j, img in enumerate((person, garment, result)):
            sheet.paste(_fit(img, w, h), (6 + j * (w + 6), y))
        draw.text((6, y + h + 3), caption[:120], fill=(40, 40, 40))
    return np.asarray(sheet)
