"""`tryon eval`: one reproducible protocol for try-on results, paired or unpaired.

Files are matched by id, as the VITON-HD tools do: a result named ``00055_00.png`` (or
``00055_00_<cloth>.png``, as ``tryon batch`` names them) belongs to ``00055_00.jpg`` in the
ground-truth folder; with a pairs file only the listed person ids count, and the garment of each
is the pair's. Results are resized to their ground truth's size (bicubic).

- **Paired** (the person wears the garment in the ground truth): SSIM, PSNR, MS-SSIM and, with a
  backbone, LPIPS per image.
- **Both settings**: FID and KID of the results against the ground-truth photos of the same ids
  (:mod:`tryon.metrics.inception`), and garment fidelity against the product photos
  (:mod:`tryon.metrics.fidelity`).
- **Strata**: every per-image metric averaged per category and per any column of a strata CSV
  (``id,source,...``), e.g. studio / in-the-wild.

The result JSON holds the ``protocol`` (:mod:`tryon.metrics.protocol`) so that two numbers can be
compared, or refused.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from tryon.data.vitonhd import read_pairs
from tryon.errors import InputError
from tryon.imageio import load_image, load_mask
from tryon.metrics import protocol
from tryon.metrics.image import ms_ssim, psnr, ssim

_EXT = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
SETTINGS = ("paired", "unpaired")
#: Per-image metrics, in the order tables show them.
IMAGE_METRICS = ("ssim", "psnr", "ms_ssim", "lpips", "delta_e", "print_kept", "delta_e_truth", "print_kept_truth")


@dataclass
class EvalSettings:
    """What to measure and how; every field ends up in the result's protocol."""

    setting: str = "paired"
    pairs: Path | None = None  # pairs file: person ids and their garments
    garments: Path | None = None  # product photos: garment fidelity
    fid: bool = False
    lpips: str | None = None  # "NET=BACKBONE": alex|squeeze|vgg and a weights file, folder or hub id
    repaint: Path | None = None  # agnostic masks: keep the ground truth outside them, as papers' "repaint"
    strata: Path | None = None  # CSV with an id column and one column per stratum kind
    engine: str | None = None  # overrides the results folder's run.json
    kid_seed: int = 0


@dataclass
class Item:
    id: str
    pred: Path
    gt: Path
    garment: Path | None = None
    category: str | None = None  # from the dataset's layout


@dataclass
class EvalReport:
    rows: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    protocol: dict = field(default_factory=dict)
    sets: dict = field(default_factory=dict)  # fid, kid_x1000, kid_x1000_std
    warnings: list[str] = field(default_factory=list)
    strata_columns: tuple[str, ...] = ()

    def _means(self, rows: list[dict]) -> dict:
        out: dict = {"count": len(rows)}
        for key in IMAGE_METRICS:
            present = [r[key] for r in rows if r.get(key) is not None]
            finite = [v for v in present if np.isfinite(v)]
            if present:  # PSNR is infinite for an exact result: averaged over the others, inf if all are
                out[key] = float(np.mean(finite)) if finite else float("inf")
        return out

    def summary(self) -> dict:
        out = self._means(self.rows)
        for key in ("ssim", "psnr", "ms_ssim"):
            out.setdefault(key, None)  # the paired metrics are always named, n/a when not measured
        out.update(self.sets)
        out["missing"] = self.missing
        out["warnings"] = self.warnings
        return out

    def strata(self) -> dict:
        table: dict = {}
        for column in self.strata_columns:
            values = sorted({r[column] for r in self.rows if r.get(column)})
            if len(values) > 1:
                table[column] = {v: self._means([r for r in self.rows if r.get(column) == v]) for v in values}
        return table

    def result(self) -> dict:
        return {"protocol": self.protocol, "summary": self.summary(), "strata": self.strata(), "per_image": self.rows}

    def write(self, json_path: str | os.PathLike) -> tuple[Path, Path]:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(self.result(), indent=1, default=str))
        csv_path = json_path.with_suffix(".csv")
        columns = ["id", "pred", "gt", "garment", *self.strata_columns,
                   *(k for k in IMAGE_METRICS if any(k in r for r in self.rows))]
        with open(csv_path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows)
        return json_path, csv_path


def _images(folder: Path, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"{folder}: no such {what} folder")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in _EXT and p.is_file()}


def _result_for(preds: dict[str, Path], person: str, garment: str | None) -> Path | None:
    if garment is not None and f"{person}_{garment}" in preds:
        return preds[f"{person}_{garment}"]
    return preds.get(person) or next((p for stem, p in preds.items() if stem.startswith(person + "_")), None)


def _results(folder: Path) -> dict[str, Path]:
    """Results by file stem, in the folder or its subfolders (per-category folders are common)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    return {p.stem: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in _EXT and p.is_file()}


Listed = tuple[str, "Path | None", str, "Path | None", "str | None"]


def _listed_pairs(gt_dir: Path, settings: EvalSettings) -> tuple[str, list[Listed]]:
    """The layout, and (person id, ground truth, garment id, product photo, category) per pair to score."""
    from tryon.data.testsets import find_test_set

    garments = _images(settings.garments, "garment") if settings.garments else {}
    test_set = find_test_set(gt_dir, settings.setting)
    if test_set is not None:
        if settings.pairs:
            raise InputError(f"{gt_dir} is a {test_set.layout} dataset: its own pairs files are used (give a plain "
                             "folder of photos to score your own pairs)")
        return test_set.layout, [(t.person_id, t.person, t.garment_id,
                                  garments.get(t.garment_id) if garments else t.garment, t.category)
                                 for t in test_set.pairs]
    gts = _images(gt_dir, "ground-truth")
    if settings.pairs:
        pairs = read_pairs(settings.pairs)
    elif settings.setting == "unpaired":
        raise InputError("the unpaired setting needs --pairs (which garment each person was dressed in)")
    else:
        pairs = [(g, g) for g in sorted(gts)]
    return "folder", [(p, gts.get(p), g, garments.get(g), None) for p, g in pairs]


def match_items(pred_dir: Path, gt_dir: Path, settings: EvalSettings) -> tuple[str, list[Item], list[str]]:
    """The layout, the (result, ground truth, product photo) triples to score, and the ids left out."""
    preds = _results(pred_dir)
    layout, listed = _listed_pairs(gt_dir, settings)
    items, missing = [], []
    for person, gt, garment, product, category in listed:
        pred = _result_for(preds, person, garment)
        if pred is None or gt is None:
            missing.append(person)
            continue
        items.append(Item(person, pred, gt, product, category))
    if not items:
        raise InputError(f"no result in {pred_dir} matches a ground-truth id in {gt_dir}")
    return layout, items, missing


def fit_to(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A result at its ground truth's size (bicubic), as every paired metric and the report see it."""
    if image.shape[:2] == shape[:2]:
        return image
    return np.asarray(Image.fromarray(image).resize((shape[1], shape[0]), Image.BICUBIC))


def _repaint_mask(folder: Path, item_id: str, shape: tuple[int, ...]) -> np.ndarray:
    for name in (f"{item_id}_mask.png", f"{item_id}.png", f"{item_id}.jpg"):
        if (folder / name).is_file():
            return load_mask(folder / name, (shape[1], shape[0])) > 127
    raise InputError(f"--repaint: no mask for {item_id} in {folder} (expected {item_id}_mask.png)")


def score(pred: np.ndarray, gt: np.ndarray) -> dict[str, float | None]:
    """The paired pixel metrics of one result against its ground truth (the result resized to the truth)."""
    pred = fit_to(pred, gt.shape)
    try:
        ms = ms_ssim(pred, gt)
    except ValueError:
        ms = None
    return {"ssim": ssim(pred, gt), "psnr": psnr(pred, gt), "ms_ssim": ms}


def _strata_table(path: Path | None) -> tuple[dict[str, dict[str, str]], tuple[str, ...]]:
    if path is None:
        return {}, ()
    if not path.is_file():
        raise InputError(f"{path}: no such strata file")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise InputError(f"{path}: a strata CSV needs an 'id' column (then one column per stratum kind)")
        table = {row["id"]: row for row in reader}
    return table, tuple(c for c in reader.fieldnames if c != "id")


def _run_info(pred_dir: Path, settings: EvalSettings) -> dict:
    """Engine and settings: from the results folder's run.json (``tryon batch`` writes it) unless given."""
    info: dict = {}
    run_file = pred_dir / "run.json"
    if run_file.is_file():
        try:
            info = json.loads(run_file.read_text())
        except (OSError, ValueError):
            info = {}
    engine = settings.engine or info.get("engine")
    return {"engine": engine, "settings": info.get("options") if info.get("engine") == engine else None}


class _Fidelity:
    """Garment fidelity of results (and, paired, of the ground truth itself) with shared analysers."""

    def __init__(self):
        from tryon.garment.analyzer import GarmentAnalyzer
        from tryon.person.analyzer import PersonAnalyzer

        self.persons, self.garments = PersonAnalyzer(), GarmentAnalyzer()

    def __call__(self, garment_path: Path, images: dict[str, np.ndarray], category: str | None) -> dict:
        """Fidelity per image (keys suffixed as ``images``'), and the category used: the given one if
        it names a garment category, else the detected one."""
        from tryon.category import Category
        from tryon.errors import TryOnError
        from tryon.metrics.fidelity import garment_fidelity, garment_region

        try:
            known = Category.parse(category) if category else None
        except TryOnError:
            known = None
        try:
            garment = self.garments.analyze(load_image(garment_path), known)
        except TryOnError:
            return {}
        row: dict = {"category": garment.category.value}
        for suffix, image in images.items():
            try:
                region = garment_region(self.persons.analyze(image).parse, garment.category)
            except TryOnError:
                continue
            f = garment_fidelity(garment.image, garment.mask, image, region)
            row[f"delta_e{suffix}"], row[f"print_kept{suffix}"] = f.delta_e, f.print_kept
        return row


def _lpips(spec: str | None):
    if spec is None:
        return None
    net, sep, backbone = spec.partition("=")
    if not sep or not backbone:
        raise InputError(f"--lpips {spec!r}: give NET=BACKBONE, e.g. squeeze=./squeezenet1_1-b8a52dc0.pth")
    from tryon.metrics.perceptual import LPIPS

    return LPIPS(net, backbone)


def evaluate_folders(pred_dir: str | os.PathLike, gt_dir: str | os.PathLike,
                     settings: EvalSettings | None = None,
                     progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Score a folder of results against ground-truth photos under one written-down protocol."""
    settings = settings or EvalSettings()
    if settings.setting not in SETTINGS:
        raise InputError(f"setting {settings.setting!r}: use paired or unpaired")
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    layout, items, missing = match_items(pred_dir, gt_dir, settings)
    if settings.fid and len(items) < 2:
        raise InputError("FID and KID compare sets: they need at least 2 results with a ground truth")
    strata, strata_columns = _strata_table(settings.strata)
    paired = settings.setting == "paired"
    lpips = _lpips(settings.lpips) if paired else None
    fidelity = _Fidelity() if any(i.garment for i in items) else None
    features = None
    if settings.fid:
        from tryon.metrics.inception import InceptionFeatures

        features = InceptionFeatures()
    with_category = fidelity is not None or any(i.category for i in items)
    report = EvalReport(missing=missing, strata_columns=tuple(dict.fromkeys(
        (("category",) if with_category else ()) + strata_columns)))
    sets = _FeatureSets(features) if features is not None else None
    sizes = []
    for n, item in enumerate(items, 1):
        gt = load_image(item.gt)
        pred = fit_to(load_image(item.pred), gt.shape)
        if settings.repaint:
            keep = ~_repaint_mask(settings.repaint, item.id, gt.shape)
            pred = pred.copy()
            pred[keep] = gt[keep]
        row: dict = {"id": item.id, "pred": item.pred.relative_to(pred_dir).as_posix(),
                     "gt": item.gt.name if paired else None,
                     "garment": item.garment.name if item.garment else None}
        if item.category:
            row["category"] = item.category
        row.update({k: v for k, v in strata.get(item.id, {}).items() if k != "id"})
        if paired:
            row.update(score(pred, gt))
            if lpips is not None:
                row["lpips"] = lpips(pred, gt)
        if fidelity is not None and item.garment is not None:
            shown = {"": pred, "_truth": gt} if paired else {"": pred}
            measured = fidelity(item.garment, shown, row.get("category"))
            if "category" in row:  # the layout's or the strata file's name for it stays
                measured.pop("category", None)
            row.update(measured)
        report.rows.append({k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()})
        if sets is not None:
            sets.add(pred, gt)
        sizes.append((gt.shape[1], gt.shape[0]))
        if progress:
            progress(n, len(items))
    if sets is not None:
        report.sets, warning = sets.distances(settings.kid_seed)
        report.warnings += [warning] if warning else []
    if missing:
        report.warnings.append(f"{len(missing)} ids have no result and were left out: {', '.join(missing[:5])}"
                               + (" ..." if len(missing) > 5 else ""))
    report.protocol = _protocol(settings, layout, pred_dir, gt_dir, items, sizes, lpips, fidelity is not None)
    return report


class _FeatureSets:
    """Inception features of the results and of their ground truth, computed a batch at a time (a
    test set's photos would not fit in memory; their features, 16 KB each, do)."""

    def __init__(self, features):
        self.features = features
        self.pending: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self.done: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        self.pending[0].append(pred)
        self.pending[1].append(gt)
        if len(self.pending[0]) == self.features.batch:
            self._flush()

    def _flush(self) -> None:
        for images, done in zip(self.pending, self.done):
            if images:
                done.append(self.features(images))
                images.clear()

    def distances(self, seed: int) -> tuple[dict, str | None]:
        from tryon.metrics.distribution import frechet_distance, kernel_distance, small_set_warning

        self._flush()
        fp, fg = (np.concatenate(done) for done in self.done)
        kid = kernel_distance(fp, fg, seed=seed)
        return ({"fid": round(frechet_distance(fp, fg), 4), "kid_x1000": round(kid.mean, 4),
                 "kid_x1000_std": round(kid.std, 4)}, small_set_warning(len(fp)))


def _protocol(settings: EvalSettings, layout: str, pred_dir: Path, gt_dir: Path, items: list[Item], sizes: list[tuple[int, int]],
              lpips, garment_fidelity: bool) -> dict:
    from collections import Counter

    resolution = list(Counter(sizes).most_common(1)[0][0])
    out: dict = {
        "setting": settings.setting,
        "resolution": resolution,
        "resize": "results resized to their ground truth's size, bicubic",
        "reference": {"folder": str(gt_dir), "layout": layout, "count": len(items), "digest": protocol.file_set_digest([i.gt for i in items])},
        "results": {"folder": str(pred_dir), "count": len(items)},
        "pairs": ({"file": str(settings.pairs), "digest": protocol.file_set_digest([settings.pairs])}
                  if settings.pairs else None),
        "repaint": {"masks": str(settings.repaint)} if settings.repaint else False,
        **_run_info(pred_dir, settings),
        "ssim": protocol.SSIM_CONVENTION,
        "fid": None,
        "lpips": lpips.provenance if lpips is not None else None,
        "garment_fidelity": None,
        "versions": protocol.versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if settings.fid:
        from tryon.metrics.distribution import KID_SUBSET_SIZE, KID_SUBSETS
        from tryon.metrics.inception import PROVENANCE

        out["fid"] = {**PROVENANCE, "kid_subsets": KID_SUBSETS, "kid_subset_size": KID_SUBSET_SIZE,
                      "kid_seed": settings.kid_seed}
    if garment_fidelity:
        from tryon.metrics.fidelity import FidelityParams

        out["garment_fidelity"] = {**asdict(FidelityParams()), "lab": "OpenCV float CIELAB (D65)",
                                   "region": "our parse of the result, labels of the garment's category"}
    return out
