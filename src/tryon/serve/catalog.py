"""A garment catalog served from a folder: the shop's product photos, offered by id.

Photos may sit in sub-folders named after a category (``upper/``, ``lower/``, ``dress/`` or
DressCode's ``upper_body/``, ``lower_body/``, ``dresses/``); elsewhere the category is detected
at try-on time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2

from tryon.category import Category
from tryon.errors import InputError, TryOnError
from tryon.imageio import encode_image, load_image

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
THUMBNAIL_SIDE = 256


class UnknownGarmentError(InputError):
    """No garment with that id in the catalog."""


@dataclass(frozen=True)
class CatalogGarment:
    id: str
    path: Path
    category: Category | None  # None: detected from the photo when used

    def describe(self) -> dict:
        return {"id": self.id, "name": self.path.stem, "category": self.category.value if self.category else None,
                "image": f"/v1/garments/{self.id}/image", "thumbnail": f"/v1/garments/{self.id}/image?size=thumb"}


class Catalog:
    def __init__(self, folder: str | Path | None):
        self.folder = None if folder is None else Path(folder)
        self._items: dict[str, CatalogGarment] = {}
        self._thumbs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        if self.folder is not None:
            self._scan()

    def _scan(self) -> None:
        for path in sorted(self.folder.rglob("*")):
            if path.suffix.lower() not in _IMAGE_SUFFIXES or not path.is_file() or path.name.startswith("."):
                continue
            rel = path.relative_to(self.folder)
            category = None
            if len(rel.parts) > 1:
                try:
                    category = Category.parse(rel.parts[0])
                except InputError:
                    category = None
            base = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.") or "garment"
            gid, n = base, 2
            while gid in self._items:
                gid, n = f"{base}-{n}", n + 1
            self._items[gid] = CatalogGarment(gid, path, category)
        if not self._items:
            raise TryOnError(f"catalog folder {self.folder} holds no .jpg, .png or .webp garment photos")

    def __len__(self) -> int:
        return len(self._items)

    def list(self) -> list[CatalogGarment]:
        return list(self._items.values())

    def get(self, garment_id: str) -> CatalogGarment:
        try:
            return self._items[garment_id]
        except KeyError:
            raise UnknownGarmentError(f"no garment {garment_id!r} in the catalog") from None

    def thumbnail(self, garment_id: str) -> bytes:
        """A WebP of at most 256 px a side, made once per garment."""
        item = self.get(garment_id)
        with self._lock:
            if garment_id in self._thumbs:
                return self._thumbs[garment_id]
        image = load_image(item.path)
        h, w = image.shape[:2]
        scale = THUMBNAIL_SIDE / max(h, w)
        if scale < 1:
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        data = encode_image(image, "webp", quality=85)
        with self._lock:
            self._thumbs[garment_id] = data
        return data
