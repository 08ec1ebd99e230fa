"""The VITON-HD test-set layout: folder names, file names and the writers for each file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.category import Category
from tryon.errors import InputError
from tryon.garment.analyzer import GarmentAnalysis
from tryon.imageio import save_image
from tryon.person.analyzer import PersonAnalysis
from tryon.person.parsing import PALETTE
from tryon.person.render import render_pose

PERSON_FILES = {
    "image": "image/{id}.jpg",
    "openpose_json": "openpose_json/{id}_keypoints.json",
    "openpose_img": "openpose_img/{id}_rendered.png",
    "parse": "image-parse-v3/{id}.png",
    "agnostic": "agnostic-v3.2/{id}.jpg",
    "agnostic_mask": "agnostic-mask/{id}_mask.png",
}
CLOTH_FILES = {
    "cloth": "cloth/{id}.jpg",
    "cloth_mask": "cloth-mask/{id}.jpg",
}


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str]]:
    """A VITON-HD pairs file (``person.jpg cloth.jpg`` per line) as (person id, cloth id) pairs."""
    pairs = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise InputError(f"{path}:{n}: expected 'person cloth', got {line!r}")
        pairs.append((Path(parts[0]).stem, Path(parts[1]).stem))
    return pairs


def paths(root: str | os.PathLike, item_id: str, files: dict[str, str]) -> dict[str, Path]:
    return {k: Path(root) / v.format(id=item_id) for k, v in files.items()}


def save_parse(parse: np.ndarray, path: Path) -> None:
    """A palette PNG: ``np.array(Image.open(path))`` gives the label indices, as VITON-HD's loader expects."""
    img = Image.fromarray(parse.astype(np.uint8), "P")
    pal = np.zeros((256, 3), np.uint8)
    pal[: len(PALETTE)] = PALETTE
    img.putpalette(pal.ravel().tolist())
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def agnostic_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person with the regenerated region painted VITON-HD's grey (128)."""
    out = image.copy()
    out[mask > 127] = 128
    return out


def write_person(root: str | os.PathLike, item_id: str, analysis: PersonAnalysis,
                 category: Category = Category.UPPER) -> None:
    p = paths(root, item_id, PERSON_FILES)
    mask = analysis.agnostic_mask(category)
    analysis.keypoints.save_openpose(p["openpose_json"])
    save_image(render_pose(analysis.keypoints), p["openpose_img"])
    save_parse(analysis.parse, p["parse"])
    save_image(agnostic_image(analysis.image, mask), p["agnostic"])
    save_image(mask, p["agnostic_mask"])
    save_image(analysis.image, p["image"])  # last: its presence marks the item as complete


def write_cloth(root: str | os.PathLike, item_id: str, analysis: GarmentAnalysis) -> None:
    p = paths(root, item_id, CLOTH_FILES)
    save_image(analysis.mask, p["cloth_mask"])
    save_image(analysis.image, p["cloth"])


def complete(root: str | os.PathLike, item_id: str, files: dict[str, str]) -> bool:
    return all(p.is_file() and p.stat().st_size > 0 for p in paths(root, item_id, files).values())
