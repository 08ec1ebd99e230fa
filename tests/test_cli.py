"""The command line on real photos: files in VITON-HD formats, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TRYON = [sys.executable, "-m", "tryon.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, TRYON_OFFLINE="1")
    return subprocess.run([*TRYON, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def in_process(capsys, *args) -> tuple[int, str, str]:
    """The command line called in this process (the models stay loaded between calls): exit code, out, err."""
    from tryon.cli import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_analyze_writes_vitonhd_compatible_files(evalset, tmp_path, vitonhd_person):
    out = tmp_path / "a"
    res = run("analyze", vitonhd_person.path, "--out", out)
    assert res.returncode == 0, res.stderr
    assert "W0000" not in res.stderr and "I0000" not in res.stderr  # no native library chatter
    w, h = Image.open(vitonhd_person.path).size
    data = json.loads((out / "keypoints.json").read_text())
    assert data["version"] == 1.3
    flat = data["people"][0]["pose_keypoints_2d"]
    assert len(flat) == 75
    pts = np.array(flat).reshape(25, 3)
    assert ((pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)).all()
    parse = Image.open(out / "parse.png")
    assert parse.mode in ("L", "P") and parse.size == (w, h)
    labels = np.unique(np.asarray(parse))
    assert labels.max() <= 19 and {0, 5, 13}.issubset(set(labels.tolist()))
    for name in ("person-mask", "agnostic-mask-upper", "agnostic-mask-lower", "agnostic-mask-dress"):
        m = np.asarray(Image.open(out / f"{name}.png"))
        assert m.shape == (h, w) and set(np.unique(m).tolist()) <= {0, 255} and m.any(), name
    pose = np.asarray(Image.open(out / "pose.png"))
    assert pose.shape == (h, w, 3) and pose.any()
    assert Image.open(out / "overlay.png").size[1] == h


@pytest.mark.parametrize("case", ["text", "missing", "no_person", "bad_category", "run_corrupt_garment",
                                  "run_no_person"])
def test_bad_input_exits_2_with_one_line(evalset, tmp_path, capsys, monkeypatch, case):
    target = {"text": tmp_path / "notes.jpg", "missing": tmp_path / "absent.jpg"}.get(case)
    if case == "text":
        target.write_text("not a picture")
    if case in ("no_person", "bad_category"):
        target = evalset.of_kind("garment", "upper")[0].path
    args = ["analyze", target, "--out", tmp_path / "o"]
    if case == "bad_category":
        args = ["garment", target, "--out", tmp_path / "o", "--category", "hat"]
    person = next(e for e in evalset.of_kind("person") if e.pair_id == "00034_00").path
    garment = evalset.of_kind("garment", "upper")[0].path
    if case == "run_corrupt_garment":
        broken = tmp_path / "shirt.jpg"
        broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
        args = ["run", person, broken, "--out", tmp_path / "r.png"]
    if case == "run_no_person":
        args = ["run", garment, garment, "--out", tmp_path / "r.png"]
    if case == "run_no_person":  # the real command in a new interpreter: its exit code, and no native chatter
        res = run(*args)
        code, err = res.returncode, res.stderr
    else:  # the same handling in this process (the interpreter's start proves nothing more here)
        monkeypatch.setenv("TRYON_OFFLINE", "1")
        code, _, err = in_process(capsys, *args)
    assert code == 2
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


def test_garment_command(evalset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    dress = evalset.of_kind("garment", "dress")[0]
    code, _, err = in_process(capsys, "garment", dress.path, "--out", tmp_path)
    assert code == 0, err
    info = json.loads((tmp_path / "garment.json").read_text())
    assert info["category"] in ("upper", "lower", "dress") and info["landmarks"]
    assert np.asarray(Image.open(tmp_path / "garment-mask.png")).any()


def test_prepare_vitonhd_layout_resumes_and_reports_failures(evalset, tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "image").mkdir(parents=True)
    (src / "cloth").mkdir()
    persons = [e for e in evalset.of_kind("person", "studio") if e.pair_id][:2]
    cloths = evalset.of_kind("garment", "upper")[:2]
    for e in persons:
        shutil.copy(e.path, src / "image" / e.path.name)
    for e in cloths:
        shutil.copy(e.path, src / "cloth" / e.path.name)
    (src / "image" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (src / "pairs.txt").write_text(f"{persons[0].path.name} {cloths[1].path.name}\n"
                                   f"{persons[1].path.name} {cloths[0].path.name}\n")
    # In this process (its two workers are new interpreters all the same).
    code, out, err = in_process(capsys, "prepare", src, dst, "--layout", "vitonhd", "--size", "384x512",
                                "--workers", "2")
    assert code == 0, err
    assert "4 written" in out and "1 failed" in out and "broken.jpg" in out
    pid = persons[0].path.stem
    for rel in (f"image/{pid}.jpg", f"openpose_json/{pid}_keypoints.json", f"openpose_img/{pid}_rendered.png",
                f"image-parse-v3/{pid}.png", f"agnostic-v3.2/{pid}.jpg", f"agnostic-mask/{pid}_mask.png",
                f"cloth/{cloths[0].path.stem}.jpg", f"cloth-mask/{cloths[0].path.stem}.jpg"):
        assert (dst / rel).is_file(), rel
    assert Image.open(dst / f"image/{pid}.jpg").size == (384, 512)
    assert Image.open(dst / f"cloth/{cloths[0].path.stem}.jpg").size == (384, 512)
    parse = np.asarray(Image.open(dst / f"image-parse-v3/{pid}.png"))  # VITON-HD's loader: labels
    assert parse.shape == (512, 384) and parse.max() <= 19 and (parse == 5).any()
    kp = json.loads((dst / f"openpose_json/{pid}_keypoints.json").read_text())
    assert len(kp["people"][0]["pose_keypoints_2d"]) == 75
    agn = np.asarray(Image.open(dst / f"agnostic-v3.2/{pid}.jpg")).astype(int)
    mask = np.asarray(Image.open(dst / f"agnostic-mask/{pid}_mask.png")) > 127
    assert np.abs(agn[mask] - 128).mean() < 6 and mask.mean() > 0.05
    pairs = (dst / "test_pairs.txt").read_text().split("\n")
    assert pairs[0] == f"{pid}.jpg {cloths[1].path.stem}.jpg"
    # A second run resumes: nothing is redone, the broken file is reported again (in this process).
    code, out, err = in_process(capsys, "prepare", src, dst, "--size", "384x512", "--workers", "1")
    assert code == 0 and "0 written, 4 already done, 1 failed" in out, err


def test_prepare_refuses_a_folder_without_photos(tmp_path, capsys):
    code, _, err = in_process(capsys, "prepare", tmp_path, tmp_path / "out")
    assert code == 2 and "expected image/" in err


def test_models_list(capsys):
    code, out, _ = in_process(capsys, "models", "list")
    assert code == 0 and "u2netp.onnx" in out and "Apache-2.0" in out


def test_run_batch_and_eval(evalset, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    garment = next(e for e in evalset.of_kind("garment") if e.pair_id == "00034_00")
    # The person photo at half size: nothing checked here depends on it, and the analysis, the try-on and
    # the metrics do a quarter of the work.
    photo = Image.open(next(e for e in evalset.of_kind("person") if e.pair_id == "00034_00").path)
    person = tmp_path / "00034_00.jpg"
    photo.resize((photo.width // 2, photo.height // 2), Image.LANCZOS).save(person, quality=95)
    out = tmp_path / "result.webp"
    code, _, err = in_process(capsys, "run", person, garment.path, "--out", out, "--category", "upper", "--debug",
                              tmp_path / "dbg")
    assert code == 0, err
    assert Image.open(out).format == "WEBP" and Image.open(out).size == Image.open(person).size
    assert (tmp_path / "dbg" / "warped-garment.png").is_file()
    code, _, err = in_process(capsys, "run", person, garment.path, "--out", tmp_path / "x.gif")
    assert code == 2 and err.startswith("error:")

    persons, garments = tmp_path / "p", tmp_path / "g"
    persons.mkdir()
    garments.mkdir()
    shutil.copy(person, persons / "00034_00.jpg")
    shutil.copy(garment.path, garments / garment.path.name)
    (garments / "blank.png").write_bytes(b"not an image")
    code, out, err = in_process(capsys, "batch", "--persons", persons, "--garments", garments, "--out", tmp_path / "b",
                                "--workers", "1")
    assert code == 0, err
    assert "1 rendered" in out and "1 failed" in out and "blank.png" in out
    assert (tmp_path / "b" / "sheet.png").is_file()
    code, out, _ = in_process(capsys, "batch", "--persons", persons, "--garments", garments, "--out", tmp_path / "b",
                              "--workers", "1")
    assert "0 rendered, 1 already done" in out

    # eval: the result against the original photo (matched by id); the original against itself is perfect.
    gt = tmp_path / "gt"
    gt.mkdir()
    shutil.copy(person, gt / "00034_00.jpg")
    code, _, err = in_process(capsys, "eval", "--pred", tmp_path / "b", "--gt", gt, "--out", tmp_path / "m.json")
    assert code == 0, err
    summary = json.loads((tmp_path / "m.json").read_text())["summary"]
    assert summary["count"] == 1 and 0.3 < summary["ssim"] < 1.0
    assert (tmp_path / "m.csv").read_text().startswith("id,pred,gt,garment,ssim")
    code, _, err = in_process(capsys, "eval", "--pred", gt, "--gt", gt, "--out", tmp_path / "same.json")
    assert code == 0, err
    assert json.loads((tmp_path / "same.json").read_text())["summary"]["ssim"] == pytest.approx(1.0)


def test_eval_protocol_fid_fidelity_report_and_comparison(evalset, tmp_path, capsys, monkeypatch):
    """The whole protocol from the command line on the evalset's ground-truth pairs: results are the
    truth re-encoded (mild) or blurred (heavy), so the numbers must order accordingly."""
    import io

    from scipy.ndimage import gaussian_filter

    monkeypatch.setenv("TRYON_OFFLINE", "1")
    gt, garments, mild, heavy = (tmp_path / d for d in ("gt", "garments", "mild", "heavy"))
    for d in (gt, garments, mild, heavy):
        d.mkdir()
    rows = ["id,source"]
    pairs = evalset.masked_pairs()[:2]
    for pid, person, garment, _ in pairs:
        shutil.copy(garment.path, garments / f"{pid}{garment.path.suffix}")
        # At half size (the metrics' work is a quarter; FID resizes to 299 anyway): the truth, and from it
        # the results.
        photo = Image.open(person.path).convert("RGB")
        photo = np.asarray(photo.resize((photo.width // 2, photo.height // 2), Image.LANCZOS))
        Image.fromarray(photo).save(gt / f"{pid}.png")
        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, "JPEG", quality=70)
        (mild / f"{pid}_{pid}.jpg").write_bytes(buf.getvalue())
        blurred = gaussian_filter(photo.astype(np.float32), (4, 4, 0)).round().clip(0, 255).astype(np.uint8)
        Image.fromarray(blurred).save(heavy / f"{pid}.png")
        rows.append(f"{pid},{'studio-a' if len(rows) % 2 else 'studio-b'}")
    (mild / "run.json").write_text(json.dumps({"engine": "jpeg", "options": {"quality": 70}}))
    strata = tmp_path / "strata.csv"
    strata.write_text("\n".join(rows) + "\n")

    code, out, err = in_process(capsys, "eval", "--pred", mild, "--gt", gt, "--fid", "--garments", garments,
                                "--strata", strata, "--out", tmp_path / "mild.json", "--report", tmp_path / "report")
    assert code == 0, err
    result = json.loads((tmp_path / "mild.json").read_text())
    p, s = result["protocol"], result["summary"]
    assert p["setting"] == "paired" and p["engine"] == "jpeg" and p["settings"] == {"quality": 70}
    assert p["reference"]["count"] == s["count"] == len(pairs) and p["reference"]["layout"] == "folder"
    assert "inception-2015-12-05" in p["fid"]["network"] and "bicubic" in p["fid"]["preprocessing"]
    assert p["versions"]["numpy"] and p["garment_fidelity"]["colours"] > 0
    assert s["fid"] >= 0 and s["kid_x1000"] is not None and s["delta_e"] > 0 and s["ssim"] > 0.8
    assert any("FID on" in w for w in s["warnings"]) and "warning: FID on" in err  # the small-set warning
    assert set(result["strata"]["source"]) == {"studio-a", "studio-b"} and "category" in result["per_image"][0]
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Protocol" in page and all(r["id"] in page for r in result["per_image"])

    code, out, err = in_process(capsys, "eval", "--pred", heavy, "--gt", gt, "--fid", "--out", tmp_path / "heavy.json",
                                "--against", tmp_path / "mild.json")
    refusal = err.strip().splitlines()[-1]
    assert code == 2 and refusal.startswith("error: not comparable") and "garment_fidelity" in refusal
    heavy_summary = json.loads((tmp_path / "heavy.json").read_text())["summary"]
    assert heavy_summary["fid"] > s["fid"] and heavy_summary["ssim"] < s["ssim"]
    code, out, err = in_process(capsys, "eval", "--pred", heavy, "--gt", gt, "--fid", "--out", tmp_path / "same.json",
                                "--against", tmp_path / "heavy.json")
    assert code == 0 and "FID" in out and "(+0.000)" in out, err


def test_eval_bad_input_exits_2_with_one_line_before_any_work(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        Image.fromarray(np.full((96, 72, 3), 60 * i, np.uint8)).save(photos / f"p{i}.png")
    (tmp_path / "one.txt").write_text("p0.png p0.png\n")
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "masks").mkdir()
    (tmp_path / "no-id.csv").write_text("name,source\np0,studio\n")
    cases = {
        ("--fid", "--pairs", tmp_path / "one.txt"): "at least 2",
        ("--lpips", "squeeze"): "NET=BACKBONE",
        ("--lpips", f"squeeze={tmp_path / 'nowhere'}"): "no such file",
        ("--lpips", f"resnet={tmp_path / 'a-file'}"): "use one of",
        ("--setting", "sideways"): "paired or unpaired",
        ("--setting", "unpaired"): "needs --pairs",
        ("--strata", tmp_path / "no-id.csv"): "'id' column",
        ("--report", tmp_path / "a-file"): "a file is in the way",
        ("--against", tmp_path / "a-file"): "not a tryon eval result",
        ("--repaint", tmp_path / "masks"): "no mask for",
    }
    for extra, message in cases.items():
        code, out, err = in_process(capsys, "eval", "--pred", photos, "--gt", photos, "--out", tmp_path / "m.json", *extra)
        assert code == 2 and err.startswith("error:") and message in err and err.count("\n") == 1, (extra, err)
    code, _, err = in_process(capsys, "eval", "--pred", tmp_path / "nowhere", "--gt", photos)
    assert code == 2 and "no such results folder" in err


def test_demo(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    code, _, err = in_process(capsys, "demo", "--out", tmp_path)
    assert code == 0, err
    person = np.asarray(Image.open(tmp_path / "person.png").convert("RGB")).astype(int)
    result = np.asarray(Image.open(tmp_path / "tryon.png").convert("RGB")).astype(int)
    assert person.shape == result.shape
    changed = np.abs(person - result).max(axis=2) > 0
    assert 0.05 < changed.mean() < 0.7  # the torso changed, the rest did not
    assert changed[: person.shape[0] // 6].mean() < 0.02  # the top of the photo is untouched


def test_serve_refuses_a_missing_catalog_with_a_clear_message(tmp_path):
    res = run("serve", "--catalog", tmp_path / "no-such-folder", "--port", "0")
    assert res.returncode == 2
    assert "catalog folder" in res.stderr and "does not exist" in res.stderr and "Traceback" not in res.stderr
