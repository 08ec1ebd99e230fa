"""``tryon batch --ray``: on a local Ray instance the test starts (2 CPUs), the same results as the local
batch, byte for byte; a failing pair reported without stopping the others; a second run resumes."""

from __future__ import annotations

import json
import shutil

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

from tryon.batch import run_batch  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_batch_equals_the_local_batch_and_resumes(local_ray, evalset, tmp_path):
    persons, garments = tmp_path / "persons", tmp_path / "garments"
    persons.mkdir()
    garments.mkdir()
    person = next(e for e in evalset.of_kind("person") if e.pair_id == "00055_00")
    shutil.copy(person.path, persons / "p.jpg")
    for i, g in enumerate(evalset.of_kind("garment", "upper")[:2]):
        shutil.copy(g.path, garments / f"g{i}{g.path.suffix}")
    (garments / "broken.jpg").write_bytes(b"not a photo")

    local = run_batch(persons, garments, tmp_path / "local", category="upper", workers=1)
    on_ray = run_batch(persons, garments, tmp_path / "ray", category="upper", workers=2, ray="local")
    assert (on_ray.done, len(on_ray.failed)) == (local.done, len(local.failed)) == (2, 1)
    # the same pair and reason (the local batch names the file it read; actors get bytes)
    assert [name for name, _ in on_ray.failed] == [name for name, _ in local.failed] == ["p_broken.jpg"]
    assert on_ray.failed[0][1].endswith("not an image (unrecognised content)") and local.failed[0][1].endswith(
        "not an image (unrecognised content)")
    for name in ("p_g0.jpg", "p_g1.jpg"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    assert (tmp_path / "ray" / "sheet.png").is_file()
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["engine"] == "warp"

    again = run_batch(persons, garments, tmp_path / "ray", category="upper", workers=2, ray="local")
    assert (again.done, again.skipped, len(again.failed)) == (0, 2, 1)  # only the broken pair is tried again
