"""The DressCode layout (Morelli et al., 2022): folder names, file names and the writers for each file.

What the published loaders (aimagelab/dress-code, LaDI-VTON, CatVTON) open, per category folder
``upper_body/``, ``lower_body/``, ``dresses/``, for a pair id ``N`` (six digits, shared by the
person and the garment):

- ``images/N_0.jpg`` the person, ``images/N_1.jpg`` the garment (768x1024 in the published set);
- ``keypoints/N_2.json``: ``{"keypoints": [[x, y, score, id] x 18]}``, OpenPose's COCO-18 joints
  with x on a 384 px wide and y on a 512 px high canvas, whatever the image size;
- ``label_maps/N_4.png``: one channel of the 18 ATR labels in :data:`LABELS`;
- ``skeletons/N_5.jpg``: the keypoints drawn in colour (ours in OpenPose's BODY_25 colours);
- ``masks/N_1.png``: the garment's mask (LaDI-VTON's addition), ``agnostic_masks/N_0.png``: the
  region to regenerate (what CatVTON's preprocessing adds);
- ``train_pairs.txt`` or ``test_pairs_paired.txt`` / ``test_pairs_unpaired.txt``: lines
  ``N_0.jpg N_1.jpg`` (one space: CatVTON splits on it); the root holds the same lines, tab
  separated, with the folder as a third column (0 upper, 1 lower, 2 dresses).

A pair goes to the folder of its garment's category. Without a split the pairs files are the test
set's, as the VITON-HD layout's ``test_pairs.txt``; a train and a test run may share a folder.

DensePose (``dense/``) is left out: no package we ship computes it; loaders that read it fail on
this layout, and the root ``README.txt`` says so. ``ids.csv`` maps every id to its category folder
and its source photos.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tryon.category import Category
from tryon.data.vitonhd import complete, paths
from tryon.errors import InputError
from tryon.garment.analyzer import GarmentAnalysis
from tryon.imageio import save_image
from tryon.person.analyzer import PersonAnalysis
from tryon.person.keypoints import Joint, Keypoints
from tryon.person.parsing import Label
from tryon.person.render import render_pose

FOLDERS = {Category.UPPER: "upper_body", Category.LOWER: "lower_body", Category.DRESS: "dresses"}
#: The category column of the root pairs files.
ROOT_CODES = {"upper_body": 0, "lower_body": 1, "dresses": 2}
#: A pair's files in its category folder; the person photo is written last and marks the pair complete.
PAIR_FILES = {
    "garment_mask": "masks/{id}_1.png",
    "keypoints": "keypoints/{id}_2.json",
    "label_map": "label_maps/{id}_4.png",
    "skeleton": "skeletons/{id}_5.jpg",
    "agnostic_mask": "agnostic_masks/{id}_0.png",
    "garment": "images/{id}_1.jpg",
    "person": "images/{id}_0.jpg",
}
#: The canvas the keypoint coordinates refer to (the loaders scale by width / 384 and height / 512),
#: hence the 3:4 aspect every DressCode image has.
KEYPOINT_CANVAS = (384, 512)
#: A joint not seen: outside the image in every loader's reading, with no score and no id.
UNSEEN = [-1.0, -1.0, 0.0, -1]
ID_DIGITS = 6
ID_FILE = "ids.csv"
ID_COLUMNS = ("id", "folder", "person", "garment")

#: DressCode's label maps (SCHP trained on ATR): the label id is the index.
LABELS = ("background", "hat", "hair", "sunglasses", "upper_clothes", "skirt", "pants", "dress", "belt",
          "left_shoe", "right_shoe", "head", "left_leg", "right_leg", "left_arm", "right_arm", "bag", "scarf")
#: Our LIP labels as DressCode's. ATR has no neck or skin class: the neck belongs to the head (LaDI-VTON
#: cuts the head's part below the shoulders off as the neck); a coat is upper clothes.
LIP_TO_DRESSCODE = {
    Label.BACKGROUND: "background", Label.HAT: "hat", Label.HAIR: "hair", Label.SUNGLASSES: "sunglasses",
    Label.UPPER_CLOTHES: "upper_clothes", Label.COAT: "upper_clothes", Label.DRESS: "dress",
    Label.PANTS: "pants", Label.SKIRT: "skirt", Label.NECK: "head", Label.FACE: "head", Label.SCARF: "scarf",
    Label.LEFT_ARM: "left_arm", Label.RIGHT_ARM: "right_arm", Label.LEFT_LEG: "left_leg",
    Label.RIGHT_LEG: "right_leg", Label.LEFT_SHOE: "left_shoe", Label.RIGHT_SHOE: "right_shoe",
}
#: LIP labels without a side, which ATR counts as part of the limb: (the person's left, right).
SIDED = {Label.GLOVE: ("left_arm", "right_arm"), Label.SOCKS: ("left_leg", "right_leg")}

README = """\
DressCode layout written by `tryon prepare --layout dresscode`.

upper_body/, lower_body/, dresses/: one folder per garment category, each with
  images/N_0.jpg (person), images/N_1.jpg (garment), keypoints/N_2.json (18 COCO joints
  [x, y, score, id], x on a 384 px, y on a 512 px canvas; unseen joints [-1, -1, 0, -1]),
  label_maps/N_4.png (one channel, the 18 labels listed below), skeletons/N_5.jpg,
  masks/N_1.png (garment mask), agnostic_masks/N_0.png (the region to regenerate)
  and the pairs files of the split.
dense/ (DensePose) is left out: this toolkit does not compute DensePose, so loaders that
  read dense/ need it from elsewhere.
ids.csv: each id's category folder and source photos.

Label map values:
{labels}
"""


@dataclass(frozen=True)
class PairJob:
    """One (person, garment) pair to write under ``pair_id``."""

    pair_id: str
    person: Path
    garment: Path

    @property
    def name(self) -> str:
        return f"{self.person.name} + {self.garment.name}"


@dataclass(frozen=True)
class IdRow:
    """One line of ``ids.csv``: which photos a pair id was made from, and where it was written."""

    id: str
    folder: str
    person: str
    garment: str


def check_size(size: tuple[int, int]) -> None:
    """The loaders scale keypoints by ``width / 384`` and ``height / 512``, and our reader by the
    width alone: only a 3:4 image keeps a joint where it is drawn."""
    w, h = size
    if w * KEYPOINT_CANVAS[1] != h * KEYPOINT_CANVAS[0]:
        raise InputError(f"the DressCode layout is 3:4 (e.g. 768x1024 or 384x512), not {w}x{h}")


def keypoints_json(kp: Keypoints) -> dict:
    """A keypoint file's content; ``Keypoints.from_dresscode`` reads it back. A joint clipped to the
    top edge (y = 0) is written as :data:`UNSEEN`: the loaders (which draw a joint past 1 px) and our
    reader (past 0) would read it so anyway."""
    xy, conf = kp.coco18()
    scale = np.array(KEYPOINT_CANVAS, np.float32) / np.array([kp.width, kp.height], np.float32)
    rows = [[round(x, 3), round(y, 3), round(c, 6), j] if c > 0 and y > 0 else UNSEEN
            for j, ((x, y), c) in enumerate(zip((xy * scale).tolist(), conf.tolist()))]
    return {"keypoints": rows}


def label_map(parse: np.ndarray, kp: Keypoints) -> np.ndarray:
    """A LIP parse as DressCode labels; gloves and socks go to the limb on their side of the neck."""
    table = np.zeros(256, np.uint8)
    for lip, name in LIP_TO_DRESSCODE.items():
        table[lip] = LABELS.index(name)
    out = table[parse]
    # Facing the camera the person's left is on the image's right: the shoulders say which way.
    right_half = np.broadcast_to(np.arange(parse.shape[1]) >= kp.xy[Joint.NECK, 0], parse.shape)
    persons_left = right_half == (kp.xy[Joint.L_SHOULDER, 0] >= kp.xy[Joint.R_SHOULDER, 0])
    for lip, (left, right) in SIDED.items():
        where = parse == lip
        out[where & persons_left] = LABELS.index(left)
        out[where & ~persons_left] = LABELS.index(right)
    return out


def write_pair(root: str | os.PathLike, pair_id: str, person: PersonAnalysis, garment: GarmentAnalysis) -> None:
    """Every file of one pair, in the folder of the garment's category."""
    p = paths(Path(root) / FOLDERS[garment.category], pair_id, PAIR_FILES)
    save_image(garment.mask, p["garment_mask"])
    p["keypoints"].parent.mkdir(parents=True, exist_ok=True)
    p["keypoints"].write_text(json.dumps(keypoints_json(person.keypoints)))
    save_image(label_map(person.parse, person.keypoints), p["label_map"])
    save_image(render_pose(person.keypoints), p["skeleton"])
    save_image(person.agnostic_mask(garment.category), p["agnostic_mask"])
    save_image(garment.image, p["garment"])
    save_image(person.image, p["person"])  # last: its presence marks the pair as complete


def written_folder(root: str | os.PathLike, pair_id: str) -> str | None:
    """The category folder that holds all of the pair's files; None if none does (not written yet)."""
    return next((f for f in FOLDERS.values() if complete(Path(root) / f, pair_id, PAIR_FILES)), None)


def read_ids(root: str | os.PathLike) -> list[IdRow]:
    path = Path(root) / ID_FILE
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [IdRow(**{k: r[k] for k in ID_COLUMNS}) for r in csv.DictReader(f)]


def write_ids(root: str | os.PathLike, rows: list[IdRow]) -> None:
    with (Path(root) / ID_FILE).open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(ID_COLUMNS)
        out.writerows((r.id, r.folder, r.person, r.garment) for r in sorted(rows, key=lambda r: r.id))


def assign_ids(pairs: list[tuple[str, str]], known: list[IdRow]) -> list[str]:
    """An id for each (person, garment) source pair: the one ``ids.csv`` gave it, else the next free
    number in the order given, so that a rerun on the same photos finds the same ids."""
    given = {(r.person, r.garment): r.id for r in known}
    free = max((int(r.id) for r in known), default=-1) + 1
    ids = []
    for pair in pairs:
        if pair not in given:
            given[pair], free = f"{free:0{ID_DIGITS}d}", free + 1
        ids.append(given[pair])
    if free >= 10 ** ID_DIGITS:
        raise InputError(f"DressCode ids have {ID_DIGITS} digits: at most {10 ** ID_DIGITS} pairs")
    return ids


def pairs_files(split: str | None) -> dict[str, bool]:
    """The pairs files of a split and whether each pairs a person with another pair's garment.
    Without a split the set is a test set, as in the VITON-HD layout."""
    if split == "train":
        return {"train_pairs.txt": False}
    if split in (None, "test"):
        return {"test_pairs_paired.txt": False, "test_pairs_unpaired.txt": True}
    raise InputError(f"DressCode has a train and a test split, not {split!r}")


def write_pairs(root: str | os.PathLike, split: str | None, written: list[tuple[str, str]]) -> None:
    """The split's pairs files for the (id, folder) pairs written, in every category folder (the
    loaders open all three) and at the root."""
    root = Path(root)
    by_folder = {f: [i for i, folder in written if folder == f] for f in FOLDERS.values()}
    for name, unpaired in pairs_files(split).items():
        root_lines = []
        for folder, ids in by_folder.items():
            lines = [(f"{p}_0.jpg", f"{g}_1.jpg") for p, g in _partners(ids, unpaired)]
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / name).write_text("".join(f"{p} {g}\n" for p, g in lines))
            root_lines += [f"{p}\t{g}\t{ROOT_CODES[folder]}\n" for p, g in lines]
        (root / name).write_text("".join(root_lines))


def _partners(ids: list[str], unpaired: bool) -> list[tuple[str, str]]:
    """(person id, garment id): its own garment, or unpaired the next id's (none for a lone pair)."""
    if not unpaired:
        return [(i, i) for i in ids]
    return list(zip(ids, ids[1:] + ids[:1])) if len(ids) > 1 else []


def write_readme(root: str | os.PathLike) -> None:
    labels = "\n".join(f"  {i:2d} {name}" for i, name in enumerate(LABELS))
    (Path(root) / "README.txt").write_text(README.format(labels=labels))
