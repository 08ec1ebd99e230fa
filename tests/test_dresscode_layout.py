"""`tryon prepare --layout dresscode`: the files, names and values the published DressCode loaders
open (aimagelab/dress-code ``data/dataset.py``, LaDI-VTON ``src/dataset/dresscode.py``, CatVTON
``inference.py``), and our own training reader, on three evalset persons and three garments, one of
each category, at 384x512."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tryon.category import Category
from tryon.data import dresscode
from tryon.data.prepare import cover_crop, fit_pad, prepare_dataset
from tryon.errors import InputError
from tryon.imageio import load_image
from tryon.person.keypoints import COCO18_FROM_BODY25, Keypoints
from tryon.person.parsing import Label

SIZE = (384, 512)
#: (person, garment) pairs of the source folder: the upper garment twice, so that its folder has an
#: unpaired test pair.
PAIRS = (("p0", "upper"), ("p1", "lower"), ("p2", "dress"), ("p1", "upper"))
FOLDER = {"upper": "upper_body", "lower": "lower_body", "dress": "dresses"}
#: What the loaders ask for, as they derive it from a pairs line (person N_0.jpg, garment N_1.jpg).
LOADER_PATHS = (
    lambda p, g: f"images/{p}",
    lambda p, g: f"images/{g}",
    lambda p, g: "label_maps/" + p.replace("_0.jpg", "_4.png"),
    lambda p, g: "keypoints/" + p.replace("_0.jpg", "_2.json"),
    lambda p, g: "skeletons/" + p.replace("_0", "_5"),
    lambda p, g: "masks/" + g.replace(".jpg", ".png"),  # LaDI-VTON
    lambda p, g: "agnostic_masks/" + p.replace(".jpg", ".png"),  # CatVTON
)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, evalset):
    """The source folder (image/, cloth/, pairs.txt) and the DressCode folder prepared from it."""
    src = tmp_path_factory.mktemp("photos")
    (src / "image").mkdir()
    (src / "cloth").mkdir()
    persons = evalset.of_kind("person", "studio")[:3]
    for i, person in enumerate(persons):
        shutil.copy(person.path, src / "image" / f"p{i}{person.path.suffix}")
    for category in FOLDER:
        garment = evalset.of_kind("garment", category)[0]
        shutil.copy(garment.path, src / "cloth" / f"{category}{garment.path.suffix}")
    (src / "pairs.txt").write_text("".join(f"{p}.jpg {g}.jpg\n" for p, g in PAIRS))
    dst = tmp_path_factory.mktemp("dresscode")
    report = prepare_dataset(src, dst, SIZE, split="test", layout="dresscode")
    assert (report.done, report.skipped, report.failed) == (len(PAIRS), 0, [])
    return src, dst


def _ids(dst: Path) -> list[dict]:
    with (dst / "ids.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _pairs(path: Path, columns: int) -> list[list[str]]:
    lines = [line.strip().split(" " if columns == 2 else None) for line in path.read_text().splitlines()]
    assert all(len(cols) == columns for cols in lines), path
    return lines


def test_each_pair_goes_to_its_garments_category_under_a_six_digit_id(prepared, garment_analyzer):
    src, dst = prepared
    rows = _ids(dst)
    assert [(Path(r["person"]).stem, Path(r["garment"]).stem, r["folder"]) for r in rows] == \
        [(p, g, FOLDER[g]) for p, g in PAIRS]
    assert [r["id"] for r in rows] == ["000000", "000001", "000002", "000003"]
    for category in FOLDER:  # the folder is the analysed category, which the evalset's agrees with
        garment = load_image(next((src / "cloth").glob(f"{category}.*")))
        assert garment_analyzer.analyze(fit_pad(garment, SIZE)).category == Category(category)


def test_file_names_and_pairs_files_follow_the_loaders_patterns(prepared):
    _, dst = prepared
    name = re.compile(r"^\d{6}_[0-5]\.(jpg|png|json)$")
    written = [p for p in dst.rglob("*") if p.is_file() and p.parent != dst and p.suffix != ".txt"]
    assert len(written) == len(PAIRS) * len(dresscode.PAIR_FILES)
    assert all(name.match(p.name) for p in written), [p.name for p in written if not name.match(p.name)]
    assert not list(dst.rglob("dense"))
    codes = {"upper_body": "0", "lower_body": "1", "dresses": "2"}
    for kind in ("paired", "unpaired"):
        root_lines = _pairs(dst / f"test_pairs_{kind}.txt", 3)
        for folder in codes:
            lines = _pairs(dst / folder / f"test_pairs_{kind}.txt", 2)
            assert [[p, g, codes[folder]] for p, g in lines] == [c for c in root_lines if c[2] == codes[folder]]
            for p, g in lines:
                assert re.match(r"^\d{6}_0\.jpg$", p) and re.match(r"^\d{6}_1\.jpg$", g)
                assert (p[:6] == g[:6]) == (kind == "paired")
                assert all((dst / folder / path(p, g)).is_file() for path in LOADER_PATHS)
    assert len(_pairs(dst / "test_pairs_paired.txt", 3)) == len(PAIRS)
    assert _pairs(dst / "upper_body" / "test_pairs_unpaired.txt", 2) == [["000000_0.jpg", "000003_1.jpg"],
                                                                         ["000003_0.jpg", "000000_1.jpg"]]
    assert not (dst / "lower_body" / "test_pairs_unpaired.txt").read_text()  # a lone pair has no other garment
    for path in (dst / "upper_body" / "images").iterdir():
        assert Image.open(path).size == SIZE


def test_label_maps_and_keypoints_are_dresscodes_and_match_the_analysis(prepared, person_analyzer):
    src, dst = prepared
    for row in _ids(dst):
        analysis = person_analyzer.analyze(cover_crop(load_image(row["person"]), SIZE))
        base = dst / row["folder"]
        label_png = Image.open(base / "label_maps" / f"{row['id']}_4.png")
        labels = np.asarray(label_png)
        assert label_png.mode == "L" and labels.shape == (SIZE[1], SIZE[0])
        assert set(np.unique(labels)) <= set(range(len(dresscode.LABELS)))
        parse = analysis.parse
        for name, lip in (("upper_clothes", (Label.UPPER_CLOTHES, Label.COAT)), ("dress", (Label.DRESS,)),
                          ("skirt", (Label.SKIRT,)), ("pants", (Label.PANTS,)),
                          ("head", (Label.FACE, Label.NECK))):
            assert np.array_equal(labels == dresscode.LABELS.index(name), np.isin(parse, lip)), name
        data = json.loads((base / "keypoints" / f"{row['id']}_2.json").read_text())
        assert np.asarray(data["keypoints"]).shape == (18, 4)
        back = Keypoints.from_dresscode(data, *SIZE)
        joints = list(COCO18_FROM_BODY25)
        xy, conf = analysis.keypoints.xy[joints], analysis.keypoints.confidence[joints]
        seen = (conf > 0) & (xy[:, 1] > 0)  # a joint on the top edge reads as unseen in the format
        assert seen.sum() >= 8 and np.array_equal(back.confidence[joints] > 0, seen)
        assert np.allclose(back.xy[joints][seen], xy[seen], atol=0.01)
        assert np.allclose(back.confidence[joints][seen], conf[seen], atol=1e-5)
        assert all(row == dresscode.UNSEEN for row, s in zip(data["keypoints"], seen) if not s)


def test_the_training_reader_reads_the_test_split(prepared, tmp_path):
    from tryon.training.config import TrainConfig
    from tryon.training.data import find_samples, load_samples

    _, dst = prepared
    config = TrainConfig(split="test")
    found, report = find_samples(dst, config)
    assert report.layout == "dresscode" and not report.skipped
    assert [(s.category, s.id) for s in found] == [(Category.UPPER, "000000_0"), (Category.UPPER, "000003_0"),
                                                    (Category.LOWER, "000001_0"), (Category.DRESS, "000002_0")]
    samples, report = load_samples(dst, config)
    assert report.used == len(PAIRS) and not (dst / "tryon-cache").exists()  # nothing left to analyse
    assert all(s.mask.parent.name == "agnostic_masks" and s.keypoints.parent.name == "keypoints" for s in samples)
    assert [s.garment.name for s in samples] == ["000000_1.jpg", "000003_1.jpg", "000001_1.jpg", "000002_1.jpg"]
    copy = tmp_path / "copy"  # the pairs file decides, not the photos present
    shutil.copytree(dst, copy)
    (copy / "upper_body" / "test_pairs_paired.txt").write_text("000003_0.jpg 000000_1.jpg\n")
    assert [(s.id, s.garment.name) for s in find_samples(copy, config)[0]][:2] == [("000003_0", "000000_1.jpg"),
                                                                               ("000001_0", "000001_1.jpg")]


def test_a_second_run_skips_every_pair_and_keeps_the_ids(prepared):
    src, dst = prepared
    stamps = {p: p.stat().st_mtime_ns for p in dst.rglob("*.jpg")}
    ids = _ids(dst)
    report = prepare_dataset(src, dst, SIZE, split="test", layout="dresscode")
    assert (report.done, report.skipped, report.failed) == (0, len(PAIRS), [])
    assert {p: p.stat().st_mtime_ns for p in dst.rglob("*.jpg")} == stamps and _ids(dst) == ids


def test_the_readme_says_densepose_is_left_out(prepared):
    text = (prepared[1] / "README.txt").read_text()
    assert "dense/ (DensePose) is left out" in text and "17 scarf" in text


def test_unknown_layouts_splits_and_aspects_are_refused_in_one_line(prepared):
    src, _ = prepared
    for settings, words in (({"layout": "deepfashion"}, "unknown layout 'deepfashion': use vitonhd or dresscode"),
                            ({"layout": "dresscode", "split": "val"}, "train and a test split"),
                            ({"layout": "dresscode", "size": (512, 512)}, "3:4")):
        with pytest.raises(InputError, match=re.escape(words)) as info:
            prepare_dataset(src, src / "out", **{"size": SIZE, **settings})
        assert "\n" not in str(info.value)
    assert not (src / "out").exists()


def test_gloves_and_socks_go_to_the_limb_on_their_side():
    """LIP's unsided labels: ATR counts a hand with its arm and a sock with its leg; facing the
    camera the person's left shoulder (COCO joint 5) is on the image's right."""
    xy = np.zeros((25, 2), np.float32)
    xy[1], xy[2], xy[5] = (50, 20), (30, 20), (70, 20)  # neck, right and left shoulder
    kp = Keypoints(xy, np.ones(25, np.float32), 100, 100)
    parse = np.zeros((100, 100), np.uint8)
    parse[40:50, 10:20] = parse[40:50, 80:90] = Label.GLOVE
    parse[90:95, 40:45] = parse[90:95, 60:65] = Label.SOCKS
    parse[0:10, 40:60] = Label.COAT
    out = dresscode.label_map(parse, kp)
    name = {v: k for k, v in enumerate(dresscode.LABELS)}
    assert (out[45, 15], out[45, 85], out[92, 42], out[92, 62], out[5, 50]) == \
        (name["right_arm"], name["left_arm"], name["right_leg"], name["left_leg"], name["upper_clothes"])
    kp.xy[[2, 5]] = kp.xy[[5, 2]]  # seen from the back: the sides swap
    assert dresscode.label_map(parse, kp)[45, 15] == name["left_arm"]


def test_eval_reads_the_layout_persons_only_with_their_garments_and_categories(prepared, tmp_path):
    """``tryon eval --gt DRESSCODE``: the reference set is the persons (``*_0``), never the product
    photos beside them; garments and categories come from the layout and its paired pairs files."""
    from tryon.data.testsets import find_test_set
    from tryon.metrics.evaluate import EvalSettings, evaluate_folders

    _, dst = prepared
    test_set = find_test_set(dst, "paired")
    assert test_set.layout == "dresscode" and len(test_set.pairs) == len(PAIRS)
    assert all(t.person.stem.endswith("_0") and t.garment.stem.endswith("_1") for t in test_set.pairs)
    by_id = sorted(test_set.pairs, key=lambda t: t.person_id)  # listed per category folder
    assert [t.category for t in by_id] == [c for _, c in PAIRS]
    results = tmp_path / "results" / "upper_body"  # results may sit in per-category folders
    results.mkdir(parents=True)
    for t in by_id[:2]:  # two results of four: the other two are reported missing
        shutil.copy(t.person, results / t.person.name)
    report = evaluate_folders(tmp_path / "results", dst, EvalSettings())
    rows = report.result()["per_image"]
    assert sorted((r["id"], r["category"]) for r in rows) == [(t.person_id, t.category) for t in by_id[:2]]
    assert all(r["ssim"] == pytest.approx(1.0) and r["delta_e"] is not None for r in rows)
    assert sorted(report.missing) == [t.person_id for t in by_id[2:]]
    assert report.protocol["reference"]["layout"] == "dresscode" and report.protocol["reference"]["count"] == 2
    upper_only = find_test_set(dst / "upper_body" / "images", "paired")  # the images/ folder given itself
    assert {t.category for t in upper_only.pairs} == {"upper"} and len(upper_only.pairs) == 2
    with pytest.raises(InputError, match="its own pairs files"):
        evaluate_folders(tmp_path / "results", dst, EvalSettings(pairs=dst / "test_pairs_paired.txt"))
