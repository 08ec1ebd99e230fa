"""Training data: VITON-HD and DressCode folders, or person photos alone, as try-on samples.

A sample is a person photo, the product photo of the garment that person wears, the region to
regenerate (the agnostic mask), keypoints and a prompt. What a dataset lacks (masks, keypoints; the
parse for person photos alone) is computed once by our analysis and cached beside the data in
``tryon-cache/``. Files that are missing or unreadable, and pairs that point nowhere, are skipped
and counted in a :class:`DataReport` (listed at the end of training), never a crash.

Layouts:

- **VITON-HD** (what ``tryon prepare`` writes, or the published dataset with its ``train/`` and
  ``test/`` folders): ``image/``, ``cloth/``, ``cloth-mask/``, ``agnostic-mask/``,
  ``openpose_json/``. Each person is paired with the garment of its own id, or as a
  ``<split>_pairs.txt`` / ``pairs.txt`` says (each person with the garment it wears).
- **DressCode** (the published dataset, or what ``tryon prepare --layout dresscode`` writes):
  ``upper_body/``, ``lower_body/``, ``dresses/``, each with ``images/`` (``*_0.jpg`` persons,
  ``*_1.jpg`` garments), ``keypoints/``, ``agnostic_masks/`` where present (CatVTON's preprocessing
  and ``tryon prepare`` write them) and ``train_pairs.txt`` or ``<split>_pairs_paired.txt`` (the
  test split's ``test_pairs_paired.txt``).
- **Person photos alone** (self-supervised): a folder of photos (or its ``image/``); the garment
  each person wears, cut out and laid flat on white (:mod:`tryon.garment.flatlay`), stands in
  for the product photo; the category comes from the parse.

Every sample is drawn with its own random generator seeded by (seed, epoch, index), so an epoch's
augmentations are the same whichever worker loads them and whenever training resumes.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from tryon.category import Category
from tryon.data.vitonhd import read_pairs
from tryon.engines.catvton.geometry import centre_crop_box, fit_on_white
from tryon.errors import InputError, TryOnError
from tryon.imageio import load_image, load_mask, save_image
from tryon.person.keypoints import Keypoints
from tryon.person.render import render_pose
from tryon.training import captions as caps
from tryon.training.config import TrainConfig

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
CACHE = "tryon-cache"
DRESSCODE = {"upper_body": Category.UPPER, "lower_body": Category.LOWER, "dresses": Category.DRESS}
#: BODY_25 joints that swap under a horizontal flip (left <-> right).
_MIRROR = dict([(2, 5), (3, 6), (4, 7), (9, 12), (10, 13), (11, 14), (15, 16), (17, 18), (19, 22), (20, 23),
                (21, 24)])
_MIRROR.update({b: a for a, b in list(_MIRROR.items())})


@dataclass
class Sample:
    """One training example's files. ``garment`` None: laid flat from the person's own garment."""

    id: str
    person: Path
    garment: Path | None
    category: Category | None  # None: from the parse
    mask: Path | None = None  # agnostic mask, 255 = regenerate
    keypoints: Path | None = None  # OpenPose (or DressCode) JSON
    parse: Path | None = None  # LIP labels (person photos alone)


@dataclass
class DataReport:
    """What the data gave: samples used, and those skipped by reason."""

    layout: str
    used: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, item: str) -> None:
        self.skipped.setdefault(reason, []).append(item)

    @property
    def skipped_count(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def summary(self, limit: int = 8) -> str:
        lines = [f"data ({self.layout}): {self.used} samples used, {self.skipped_count} skipped"]
        for reason, items in sorted(self.skipped.items()):
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            lines.append(f"  skipped {len(items)}: {reason}: {', '.join(items[:limit])}{more}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"layout": self.layout, "used": self.used, "skipped": self.skipped}


def _images(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in _IMAGE_EXT and p.is_file()}


def detect_layout(root: Path, split: str) -> str:
    if any((root / d).is_dir() for d in DRESSCODE):
        return "dresscode"
    for base in (root / split, root):
        if (base / "image").is_dir() and (base / "cloth").is_dir():
            return "vitonhd"
    if _images(root / "image") or _images(root):
        return "persons"
    raise InputError(f"{root}: no training data here (expected a VITON-HD folder with image/ and cloth/, a "
                     "DressCode folder with upper_body/, lower_body/ or dresses/, or person photos)")


def _pairs_file(candidates: list[Path]) -> list[tuple[str, str]] | None:
    for path in candidates:
        if path.is_file():
            try:
                return read_pairs(path)
            except InputError as exc:
                raise InputError(f"{exc} (a pairs file lists 'person.jpg garment.jpg' per line)") from None
    return None


def _vitonhd(root: Path, split: str, report: DataReport) -> list[Sample]:
    base = root / split if (root / split / "image").is_dir() else root
    persons, cloths = _images(base / "image"), _images(base / "cloth")
    pairs = _pairs_file([root / f"{split}_pairs.txt", base / f"{split}_pairs.txt", base / "pairs.txt"])
    if pairs is None:  # VITON-HD's convention: a person wears the garment of its own id
        pairs = [(p, p) for p in persons]
    samples = []
    for pid, cid in pairs:
        if pid not in persons or cid not in cloths:
            report.skip("pair names a missing photo", f"{pid} {cid}")
            continue
        mask = base / "agnostic-mask" / f"{pid}_mask.png"
        kp = base / "openpose_json" / f"{pid}_keypoints.json"
        samples.append(Sample(pid, persons[pid], cloths[cid], Category.UPPER, mask if mask.is_file() else None,
                              kp if kp.is_file() else None))
    return samples


def _dresscode(root: Path, split: str, report: DataReport) -> list[Sample]:
    samples = []
    for folder, category in DRESSCODE.items():
        base = root / folder
        if not base.is_dir():
            continue
        images = _images(base / "images")
        pairs = _pairs_file([base / f"{split}_pairs.txt", base / f"{split}_pairs_paired.txt"])
        if pairs is None:
            pairs = [(p, p[:-2] + "_1") for p in images if p.endswith("_0")]
        for pid, gid in pairs:
            if pid not in images or gid not in images:
                report.skip("pair names a missing photo", f"{folder}/{pid} {gid}")
                continue
            mask = base / "agnostic_masks" / f"{pid}.png"
            kp = base / "keypoints" / f"{pid[:-2]}_2.json"
            samples.append(Sample(pid, images[pid], images[gid], category, mask if mask.is_file() else None,
                                  kp if kp.is_file() else None))
    return samples


def _persons(root: Path) -> list[Sample]:
    folder = root / "image" if _images(root / "image") else root
    return [Sample(pid, path, None, None) for pid, path in _images(folder).items()]


def _readable(path: Path) -> str | None:
    """None if the photo decodes, else why not (decoded at reduced size: JPEG's draft mode)."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
        return None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"unreadable photo ({type(exc).__name__})"


def find_samples(root: str | os.PathLike, config: TrainConfig) -> tuple[list[Sample], DataReport]:
    """The dataset's samples whose photos exist and decode (the analysis still to be completed)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such data folder")
    layout = "persons" if config.self_supervised else config.layout
    if layout == "auto":
        layout = detect_layout(root, config.split)
    report = DataReport(layout)
    if layout == "vitonhd":
        samples = _vitonhd(root, config.split, report)
    elif layout == "dresscode":
        samples = _dresscode(root, config.split, report)
    else:
        samples = _persons(root)
    seen, usable = set(), []
    for s in samples:
        if s.id in seen:
            report.skip("duplicate id", s.id)
            continue
        seen.add(s.id)
        why = _readable(s.person) or (_readable(s.garment) if s.garment is not None else None)
        if why:
            report.skip(why, s.id)
            continue
        usable.append(s)
    return usable, report


# -- analysis cached beside the data ------------------------------------------------------------
@dataclass
class _Job:
    sample: Sample
    cache: str

    @property
    def name(self) -> str:
        return self.sample.id


def _cache_paths(cache: Path, sample_id: str) -> dict[str, Path]:
    return {"keypoints": cache / f"{sample_id}.keypoints.json", "parse": cache / f"{sample_id}.parse.png"}


def _mask_path(cache: Path, sample_id: str, category: Category) -> Path:
    return cache / f"{sample_id}.mask-{category.value}.png"


def _refusal(cache: Path, sample_id: str) -> Path:
    """Why a person photo gives no training sample, kept so that it is not analysed again."""
    return cache / f"{sample_id}.refused.txt"


def _analyse(job: _Job, state: dict) -> None:
    """Analyse one person photo and write what the sample lacks into the cache (module level:
    worker processes run it). A photo the analysis refuses gets its reason written instead, so
    that later runs skip it without analysing it again."""
    from tryon.person.analyzer import PersonAnalyzer

    if "person" not in state:
        state["person"] = PersonAnalyzer()
    cache = Path(job.cache)
    try:
        _analyse_into(job.sample, cache, state["person"])
    except TryOnError as exc:
        _refusal(cache, job.sample.id).write_text(str(exc))
        raise


def _analyse_into(s: Sample, cache: Path, analyzer) -> None:
    from tryon.data.vitonhd import save_parse
    from tryon.garment.flatlay import garment_cutout, worn_category

    image = load_image(s.person)
    h, w = image.shape[:2]
    given = Keypoints.load_openpose(s.keypoints, w, h) if s.keypoints is not None else None
    analysis = analyzer.analyze(image, keypoints=given)
    category = s.category or worn_category(analysis.parse)
    if s.garment is None:  # laid flat each epoch: a photo that cannot be must not reach the loader
        category, _ = garment_cutout(analysis.image, analysis.parse, category)
    elif category is None:
        raise InputError("the parse finds no worn garment")
    paths = _cache_paths(cache, s.id)
    save_image(analysis.agnostic_mask(category), _mask_path(cache, s.id, category))
    save_parse(analysis.parse, paths["parse"])
    analysis.keypoints.save_openpose(paths["keypoints"])  # last: its presence marks the item complete


def _from_cache(s: Sample, cache: Path) -> Sample | None:
    """The sample with what the cache holds filled in; None if something is still missing."""
    paths = _cache_paths(cache, s.id)
    if not paths["keypoints"].is_file():
        return None
    if s.category is None:
        from tryon.garment.flatlay import worn_category

        parse = np.asarray(Image.open(paths["parse"]))
        category = worn_category(parse)
        if category is None:
            return None
        s = replace(s, category=category, parse=paths["parse"])
    mask = s.mask or _mask_path(cache, s.id, s.category)
    if not mask.is_file():
        return None
    return replace(s, mask=mask, keypoints=s.keypoints or paths["keypoints"])


def complete_analysis(samples: list[Sample], root: str | os.PathLike, report: DataReport, workers: int = 1,
                      progress: bool = False) -> list[Sample]:
    """Masks, keypoints and (person photos alone) parses that the data lacks, computed once and
    cached in ``ROOT/tryon-cache/``; a photo the analysis refuses is skipped with its reason."""
    from tryon.parallel import run_jobs

    cache = Path(root) / CACHE
    needed = []
    for s in samples:
        if s.mask is None or s.keypoints is None or s.garment is None:
            refused = _refusal(cache, s.id)
            if refused.is_file():  # refused by an earlier run's analysis
                report.skip(refused.read_text().strip() or "refused", s.id)
            else:
                needed.append(s)
    todo = [s for s in needed if _from_cache(s, cache) is None]
    if todo:
        cache.mkdir(parents=True, exist_ok=True)
        for name, error in run_jobs(_analyse, [_Job(s, str(cache)) for s in todo], {}, workers, progress,
                                    "analysing"):
            if error is not None:
                report.skip(error, name)
    failed = {i for items in report.skipped.values() for i in items}
    out = []
    for s in samples:
        if s.id in failed:
            continue
        if s in needed:
            done = _from_cache(s, cache)
            if done is None:
                report.skip("analysis incomplete", s.id)
                continue
            s = done
        out.append(s)
    report.used = len(out)
    return out


def load_samples(root: str | os.PathLike, config: TrainConfig, workers: int = 1,
                 progress: bool = False) -> tuple[list[Sample], DataReport]:
    """Every usable sample with its analysis complete; an empty dataset is an :class:`InputError`
    saying why."""
    samples, report = find_samples(root, config)
    samples = complete_analysis(samples, root, report, workers, progress)
    if not samples:
        raise no_samples(root, report)
    return samples, report


def no_samples(root: str | os.PathLike, report: DataReport) -> InputError:
    """The error for a dataset with nothing to train on, saying what was skipped and why."""
    why = "; ".join(f"{len(v)} {k}" for k, v in sorted(report.skipped.items())) or "no photos found"
    return InputError(f"{root}: no usable training sample ({report.layout} layout; {why})")


# -- one sample as tensors ------------------------------------------------------------------------
def _box(width: int, height: int, size: tuple[int, int], rng: np.random.Generator | None, crop: float
         ) -> tuple[float, float, float, float]:
    """The centre box of the working aspect, as the engine crops at inference, shrunk by a random
    scale down to ``1 - 2 * crop`` and moved at random within it when augmenting."""
    x0, y0, x1, y1 = centre_crop_box(width, height, size).box
    if rng is not None and crop > 0:
        bw, bh = x1 - x0, y1 - y0
        s = rng.uniform(1 - 2 * crop, 1)
        x0, y0 = x0 + rng.uniform(0, bw * (1 - s)), y0 + rng.uniform(0, bh * (1 - s))
        x1, y1 = x0 + bw * s, y0 + bh * s
    return x0, y0, x1, y1


def _crop(image: np.ndarray, box, size: tuple[int, int], resample=Image.LANCZOS) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize(size, resample, box=box))


def transform_keypoints(kp: Keypoints, box, size: tuple[int, int], flip: bool) -> Keypoints:
    """Keypoints carried through the crop box, the resize to ``size`` and the flip (left and right
    joints swap places, so a mirrored left arm is drawn as a right arm)."""
    x0, y0, x1, y1 = box
    w, h = size
    xy = (kp.xy - np.array([x0, y0], np.float32)) * np.array([w / (x1 - x0), h / (y1 - y0)], np.float32)
    conf = kp.confidence.copy()
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    conf[~inside] = 0
    if flip:
        xy[:, 0] = w - 1 - xy[:, 0]
        order = [_MIRROR.get(j, j) for j in range(len(xy))]
        xy, conf = xy[order], conf[order]
    xy[conf <= 0] = 0
    return Keypoints(xy.astype(np.float32), conf, w, h)


class TryOnDataset:
    """Samples as tensors at the training size; a torch ``Dataset`` (``__getitem__``/``__len__``).

    Keys are ``epoch * len(self) + index`` (what :class:`EpochSampler` yields): the epoch seeds
    the sample's augmentation together with the run's seed."""

    def __init__(self, samples: list[Sample], config: TrainConfig, captions: dict[str, str] | None = None):
        self.samples, self.config = samples, config
        self.captions = captions or {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int) -> dict:
        epoch, index = divmod(int(key), len(self.samples))
        return self.item(index, epoch)

    def item(self, index: int, epoch: int | None = None) -> dict:
        """Sample ``index`` as tensors; ``epoch`` None: without augmentation (validation)."""
        import torch

        c, s = self.config, self.samples[index]
        size = c.size
        augment = epoch is not None
        rng = np.random.default_rng([c.seed, epoch if augment else 1 << 30, index])
        person = load_image(s.person)
        h, w = person.shape[:2]
        box = _box(w, h, size, rng if augment else None, c.crop)
        flip = augment and rng.random() < c.flip
        mask = np.where(_crop(load_mask(s.mask, (w, h)), box, size) > 127, 255, 0).astype(np.uint8)
        kp = transform_keypoints(Keypoints.load_openpose(s.keypoints, w, h), box, size, flip)
        if s.garment is not None:
            garment, garment_mask = fit_on_white(load_image(s.garment), size), None
        else:
            from tryon.garment.flatlay import flat_lay

            laid = flat_lay(person, np.asarray(Image.open(s.parse)), size, rng, s.category)
            garment, garment_mask = laid.image, laid.mask
        person = _crop(person, box, size)
        if flip:
            person, mask, garment = person[:, ::-1], mask[:, ::-1], garment[:, ::-1]
        prompt = self.captions.get(s.id) or caps.made_prompt(garment, s.category, _flipped(garment_mask, flip))
        pixels = lambda a: torch.from_numpy(np.array(a)).permute(2, 0, 1).float() / 127.5 - 1  # noqa: E731
        return {"person": pixels(person), "garment": pixels(garment),
                "mask": torch.from_numpy(np.array(mask))[None].float() / 255,
                "pose": torch.from_numpy(render_pose(kp)).permute(2, 0, 1).float() / 255,
                "prompt": prompt, "index": index}


def _flipped(mask: np.ndarray | None, flip: bool) -> np.ndarray | None:
    if mask is None:
        return None
    return mask[:, ::-1] if flip else mask


class EpochSampler:
    """An endless stream of dataset keys for one process: each epoch a permutation drawn from
    (seed, epoch), of which process ``rank`` of ``world`` takes every ``world``-th item. Starting
    at ``start`` items into its stream resumes exactly where a stopped run was."""

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1, start: int = 0):
        self.n, self.seed, self.rank, self.world, self.start = n, seed, rank, world, start

    def __iter__(self) -> Iterator[int]:
        stream = (epoch * self.n + int(i) for epoch in itertools.count()
                  for i in np.random.default_rng([self.seed, epoch]).permutation(self.n)[self.rank::self.world])
        return itertools.islice(stream, self.start, None)


def read_captions_for(root: str | os.PathLike, config: TrainConfig) -> dict[str, str]:
    """The captions file given, or ``ROOT/captions.txt`` if there is one; else none (made prompts)."""
    if config.captions:
        return caps.read_captions(config.captions)
    default = Path(root) / "captions.txt"
    return caps.read_captions(default) if default.is_file() else {}

