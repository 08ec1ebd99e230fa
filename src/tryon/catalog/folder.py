"""A shop's catalog as a folder: product photos, and what the shop says about each.

Photos may sit in sub-folders named after a category (``upper/``, ``lower/``, ``dress/`` or
DressCode's ``upper_body/``, ``lower_body/``, ``dresses/``). A ``catalog.csv`` or ``catalog.json``
beside them gives each garment's name, category, price, colour and URL (columns ``id``, ``name``,
``category``, ``price``, ``colour``, ``url``; ``file`` names the photo when the id is not its file
name; other columns are kept as they are). Photos without a row still work; a row naming a
missing photo, or two rows with one id, is an error that names the row.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tryon.category import Category
from tryon.errors import InputError, TryOnError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
METADATA_FILES = ("catalog.csv", "catalog.json")
#: Metadata columns with a meaning; any other column is kept in ``extra``.
COLUMNS = ("id", "file", "name", "category", "price", "colour", "url")


@dataclass(frozen=True)
class Garment:
    id: str
    path: Path
    category: Category | None  # None: detected from the photo when used
    name: str | None = None
    price: float | None = None
    colour: str | None = None
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """What a shopper reads: the shop's name for it, else its file name made readable."""
        return self.name or re.sub(r"[_-]+", " ", self.path.stem).strip().capitalize()

    def describe(self) -> dict:
        return {"id": self.id, "name": self.title, "category": self.category.value if self.category else None,
                "price": self.price, "colour": self.colour, "url": self.url, **({"extra": self.extra} if self.extra else {}),
                "image": f"/v1/garments/{self.id}/image", "thumbnail": f"/v1/garments/{self.id}/image?size=thumb"}


def garment_id(stem: str) -> str:
    """An id safe in URLs, from a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "garment"


def _folder_category(rel: Path) -> Category | None:
    if len(rel.parts) < 2:
        return None
    try:
        return Category.parse(rel.parts[0])
    except InputError:
        return None


def _photos(folder: Path) -> dict[str, tuple[Path, Category | None]]:
    found: dict[str, tuple[Path, Category | None]] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file() or any(
                part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        base = garment_id(path.stem)
        gid, n = base, 2
        while gid in found:
            gid, n = f"{base}-{n}", n + 1
        found[gid] = (path, _folder_category(path.relative_to(folder)))
    return found


def _rows(folder: Path) -> tuple[Path | None, list[dict[str, str]]]:
    for name in METADATA_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            if path.suffix == ".csv":
                with open(path, newline="", encoding="utf-8-sig") as fh:
                    return path, [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in
                                  csv.DictReader(fh)]
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot be read ({type(exc).__name__})") from None
        items = data.get("garments", data) if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
            raise InputError(f"{path}: expected a list of garments (objects), or {{\"garments\": [...]}}")
        return path, [{str(k).lower(): "" if v is None else str(v) for k, v in r.items()} for r in items]
    return None, []


def _price(text: str, where: str) -> float | None:
    if not text:
        return None
    try:
        return float(re.sub(r"[^0-9.\-]", "", text.replace(",", ".")) or "x")
    except ValueError:
        raise InputError(f"{where}: price {text!r} is not a number") from None


def read_catalog(folder: str | Path) -> dict[str, Garment]:
    """The catalog's garments by id, with their metadata."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such catalog folder")
    photos = _photos(folder)
    if not photos:
        raise TryOnError(f"catalog folder {folder} holds no .jpg, .png or .webp garment photos")
    by_file = {p.relative_to(folder).as_posix(): gid for gid, (p, _) in photos.items()}
    meta_path, rows = _rows(folder)
    described: dict[str, dict[str, str]] = {}  # photo's own id -> its row
    for n, row in enumerate(rows, 2 if meta_path and meta_path.suffix == ".csv" else 1):
        where = f"{meta_path.name} row {n}"
        if row.get("file") and row["file"] not in by_file:
            raise InputError(f"{where}: no photo {row['file']!r} in {folder}")
        photo = by_file[row["file"]] if row.get("file") else row.get("id", "")
        if photo not in photos:
            raise InputError(f"{where}: no photo for id {photo!r} in {folder} (name the photo in a 'file' column)")
        if photo in described:
            raise InputError(f"{where}: the photo of {photo!r} is described twice")
        described[photo] = row | {"_where": where}
    garments: dict[str, Garment] = {}
    for photo, (path, folder_category) in photos.items():
        row = described.get(photo, {})
        where = row.get("_where", "")
        gid = row.get("id") or photo  # the shop's id (its SKU) when it gives one
        if gid in garments:
            raise InputError(f"{where or path.name}: garment {gid!r} is described twice")
        try:
            category = Category.parse(row["category"]) if row.get("category") else folder_category
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        garments[gid] = Garment(gid, path, category, row.get("name") or None, _price(row.get("price", ""), where),
                                row.get("colour") or row.get("color") or None, row.get("url") or None,
                                {k: v for k, v in row.items() if k not in COLUMNS and k not in ("_where", "color")})
    return garments
