"""The published test sets' layouts as (person, garment, category) pairs, for ``tryon eval``.

Given the dataset folder itself, evaluation takes the ground truth, the product photos, the pairs
and the categories from the layout, so the reference set holds exactly the test persons (one
published DressCode FID of about 57 came from product photos mixed into the reference folder):

- **VITON-HD** (``image/``, ``cloth/``, directly or under ``test/``, or its ``image/`` folder
  itself): paired, each person with the garment of its own id; unpaired, as ``test_pairs.txt`` says.
- **DressCode** (the root with ``upper_body/``, ``lower_body/``, ``dresses/``, or one of them):
  or its ``images/``): ``images/N_0.jpg`` persons and ``images/N_1.jpg`` garments, as
  ``test_pairs_paired.txt`` or ``test_pairs_unpaired.txt`` of each category folder say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tryon.data.dresscode import FOLDERS
from tryon.data.vitonhd import read_pairs

_EXT = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


@dataclass(frozen=True)
class TestPair:
    person_id: str
    person: Path  # the ground-truth photo
    garment_id: str
    garment: Path | None  # the product photo, when the layout has it
    category: str | None


@dataclass(frozen=True)
class TestSet:
    layout: str  # "vitonhd" or "dresscode"
    pairs: list[TestPair]


def _photo(folder: Path, stem: str) -> Path | None:
    return next((folder / f"{stem}{ext}" for ext in _EXT if (folder / f"{stem}{ext}").is_file()), None)


def _vitonhd(root: Path, setting: str) -> TestSet | None:
    candidates = (root, root / "test", root.parent if root.name == "image" else root)
    base = next((b for b in candidates if (b / "image").is_dir() and (b / "cloth").is_dir()), None)
    if base is None:
        return None
    persons = sorted(p.stem for p in (base / "image").iterdir() if p.suffix.lower() in _EXT)
    if setting == "paired":
        listed = [(p, p) for p in persons]
    else:
        pairs_file = next((f for f in (base / "test_pairs.txt", base.parent / "test_pairs.txt") if f.is_file()), None)
        listed = read_pairs(pairs_file) if pairs_file else []
    pairs = []
    for pid, gid in listed:
        person = _photo(base / "image", pid)
        if person is not None:
            pairs.append(TestPair(pid, person, gid, _photo(base / "cloth", gid), "upper"))
    return TestSet("vitonhd", pairs)


def _dresscode(root: Path, setting: str) -> TestSet | None:
    if root.name == "images" and root.parent.name in FOLDERS.values():
        root = root.parent  # the images/ folder itself was given
    folders = [root / name for name in FOLDERS.values() if (root / name / "images").is_dir()]
    if not folders and (root / "images").is_dir() and root.name in FOLDERS.values():
        folders = [root]
    if not folders:
        return None
    categories = {name: category.value for category, name in FOLDERS.items()}
    pairs = []
    for folder in folders:
        pairs_file = folder / f"test_pairs_{setting}.txt"
        for pid, gid in (read_pairs(pairs_file) if pairs_file.is_file() else []):
            person = _photo(folder / "images", pid)
            if person is not None:
                pairs.append(TestPair(pid, person, gid, _photo(folder / "images", gid), categories[folder.name]))
    return TestSet("dresscode", pairs)


def find_test_set(root: str | Path, setting: str) -> TestSet | None:
    """The test set in ``root`` if it is laid out as VITON-HD or DressCode, else None (a plain folder)."""
    root = Path(root)
    return _dresscode(root, setting) or _vitonhd(root, setting)
