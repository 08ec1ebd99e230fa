"""The fashn engine end to end, on a tiny random model in the published file layout (CPU, seconds):
the command line by folder and by hub id offline, bad weights, the server's batching lane, and the
inputs our analysis gives the model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="the fashn extra (torch, diffusers) is not installed")
pytest.importorskip("diffusers")

from safetensors.torch import load_file, save_file  # noqa: E402

from tryon.engines.fashn.testing import write_random_fashn  # noqa: E402

#: A revision as a hub cache records it (any 40 hex digits).
REVISION = "0123456789abcdef0123456789abcdef01234567"


#: The engine's tests check its plumbing (inputs, batching, the command line), not the model's
#: arithmetic (tests/test_fashn_model.py checks that, multi-head, against the reference): a model
#: narrower and shallower than ``tiny`` with the same layout (patch mixer, two double blocks, a
#: single block) runs in under half the time at the engine's fixed 864x576.
ENGINE_TEST_SCALE = dict(hidden_size=32, num_heads=1, double_blocks_depth=2, single_blocks_depth=1, patch_mixer_depth=1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tryon.engines.fashn.testing import SCALES

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(SCALES, "engine-test", ENGINE_TEST_SCALE)
        return write_random_fashn(tmp_path_factory.mktemp("fashn"), "engine-test").parent


@pytest.fixture(scope="module")
def hub_home(tmp_path_factory, tiny):
    """A hub cache holding fashn-ai/fashn-vton-1.5 as huggingface_hub lays it out: refs/main names a
    snapshot, whose folder holds the repository's files."""
    home = tmp_path_factory.mktemp("hf")
    repo = home / "hub" / "models--fashn-ai--fashn-vton-1.5"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(REVISION)
    snapshot = repo / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes((tiny / "model.safetensors").read_bytes())
    return home


@pytest.fixture(scope="module")
def photos(evalset):
    person = next(e for e in evalset.of_kind("person") if e.pair_id == "00055_00").path
    garment = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00").path
    return person, garment


def _read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def by_folder(tiny, photos, tmp_path_factory):
    """``tryon run --engine fashn --model DIR`` once, with its debug layers (in this process: the
    interpreter and PyTorch need not start again). One step, as the command line's other runs here:
    what they test is the command's; guided multi-step sampling is the batch test's."""
    from tryon.cli import main

    person, garment = photos
    out = tmp_path_factory.mktemp("by-folder")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRYON_OFFLINE", "1")
        with pytest.raises(SystemExit) as done:
            main([str(a) for a in ("run", person, garment, "--engine", "fashn", "--model", tiny, "--steps", "1",
                                   "--seed", "3", "--out", out / "result.png", "--debug", out / "debug")])
    assert not done.value.code
    return out


def test_run_by_folder_gives_a_picture_per_seed(by_folder, tiny, photos, tmp_path, capsys, caplog, monkeypatch):
    from test_cli import in_process

    person, garment = photos
    out = by_folder
    first = _read(out / "result.png")
    assert first.shape == _read(person).shape  # the person photo's size
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    code, _, err = in_process(capsys, "run", person, garment, "--engine", "fashn", "--model", tiny, "--steps", "1",
                              "--seed", "4", "--out", tmp_path / "seed4.png")
    assert code == 0, err
    # It says what to expect (a warning on stderr).
    assert "fashn runs on the CPU" in caplog.text and "per picture at 1 steps" in caplog.text
    assert np.abs(first - _read(tmp_path / "seed4.png")).mean() > 1.0  # another seed, another picture
    pose = np.asarray(Image.open(out / "debug" / "pose.png"))
    assert (pose > 0).mean() > 0.01  # the person's pose drawn from our keypoints
    garment_pose = np.asarray(Image.open(out / "debug" / "garment-pose.png"))
    assert not garment_pose.any()  # a product photo: no person, a black pose image as published


def test_a_checkpoint_missing_a_key_is_refused_by_name(tiny, photos, tmp_path, capsys, monkeypatch):
    from test_cli import in_process

    person, garment = photos
    tensors = load_file(str(tiny / "model.safetensors"))
    del tensors["double_blocks.1.img_attn.qkv.weight"]
    (tmp_path / "bad").mkdir()
    save_file(tensors, str(tmp_path / "bad" / "model.safetensors"))
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    code, _, err = in_process(capsys, "run", person, garment, "--engine", "fashn", "--model", tmp_path / "bad",
                              "--out", tmp_path / "o.png")
    assert code == 2 and "Traceback" not in err
    assert "double_blocks.1.img_attn.qkv.weight" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
    from tryon.engines.registry import get_engine
    from tryon.errors import WeightsError

    with pytest.raises(WeightsError, match="nowhere"):  # the same error class exits 2 as above
        get_engine("fashn", model=str(tmp_path / "nowhere"))


def test_run_by_hub_id_offline_from_the_hub_cache(by_folder, hub_home, photos, tmp_path, capsys, monkeypatch):
    from test_cli import in_process

    person, garment = photos
    # The published default hub id, with nothing but the cache: HF_HUB_OFFLINE alone forbids the network.
    # In this process (the cache folder and offline mode are read from the environment at call time).
    for name, value in {"HF_HOME": str(hub_home), "HF_HUB_OFFLINE": "1", "TRYON_OFFLINE": "0"}.items():
        monkeypatch.setenv(name, value)
    code, _, err = in_process(capsys, "run", person, garment, "--engine", "fashn", "--steps", "1", "--seed", "3",
                              "--out", tmp_path / "hub.png")
    assert code == 0, err
    assert np.array_equal(_read(by_folder / "result.png"), _read(tmp_path / "hub.png"))  # the same weights
    code, out, err = in_process(capsys, "engines")
    assert code == 0, err
    assert {"warp:", "catvton:", "fashn:"} <= {line.split()[0] for line in out.splitlines() if line[:1].isalpha()}
    assert "weights model = fashn-ai/fashn-vton-1.5: cached" in out
    assert "Apache-2.0" in out and "CC BY-NC-SA" in out
    # Another repository is not in the cache: the file, the hub id and where else to put it are named.
    code, _, err = in_process(capsys, "run", person, garment, "--engine", "fashn", "--model", "fashn-ai/other-model",
                              "--out", tmp_path / "x.png")
    assert code == 2 and "Traceback" not in err
    assert all(s in err for s in ("model.safetensors", "fashn-ai/other-model", "folder"))


def test_options_of_another_engine_and_unknown_engines_are_refused(photos, tmp_path, capsys, monkeypatch):
    from test_cli import in_process

    person, garment = photos
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    code, _, err = in_process(capsys, "run", person, garment, "--out", tmp_path / "o.png", "--steps", "3")  # not warp's
    assert code == 2 and "--steps" in err and "--shading" in err
    code, _, err = in_process(capsys, "run", person, garment, "--out", tmp_path / "o.png", "--engine", "dalle")
    assert code == 2 and all(e in err for e in ("warp", "catvton", "fashn"))
    code, _, err = in_process(capsys, "run", person, garment, "--out", tmp_path / "o.png", "--engine", "fashn",
                              "--garment-photo", "x")
    assert code == 2 and "flat-lay" in err
    monkeypatch.setenv("TRYON_FASHN_STEPS", "many")
    code, _, err = in_process(capsys, "run", person, garment, "--out", tmp_path / "o.png", "--engine", "fashn")
    assert code == 2 and "TRYON_FASHN_STEPS" in err


@pytest.fixture(scope="module")
def engine(tiny, person_analyzer, garment_analyzer):
    from tryon.engines import get_engine

    return get_engine("fashn", model=str(tiny), steps=2, person_analyzer=person_analyzer,
                      garment_analyzer=garment_analyzer)


def test_a_garment_worn_by_a_model_is_cut_out_and_posed(engine, evalset, photos, vitonhd_analysis):
    """A photo of someone wearing the garment: the model gets the garment alone (grey elsewhere) and
    that person's pose; the face and the background are not passed on."""
    person, _ = photos
    worn = next(e for e in evalset.of_kind("person") if e.pair_id == "13987_00").path
    # The inputs are the point: one step, and the person's analysis from the session.
    result = engine.run(person, worn, "upper", options={"steps": 1}, person_analysis=vitonhd_analysis)
    garment, pose = result.layers["garment-input"], result.layers["garment-pose"]
    hidden = (garment == 127).all(axis=2)
    assert 0.3 < hidden.mean() < 0.95  # the garment kept, most of the photo greyed
    assert hidden[: garment.shape[0] // 10].mean() > 0.9  # the head's band is hidden
    assert (pose > 0).mean() > 0.01


def test_a_product_photo_that_looks_like_a_body_stays_a_product_photo(engine, evalset, photos, vitonhd_analysis):
    """A black tee whose outline the pose model takes for shoulders, and whose fabric the parser calls
    skin, has no face: it goes in as it is, with the black pose image of a flat-lay."""
    tee = next(e for e in evalset.of_kind("garment") if e.path.name == "IDM-VTON__09164_00.jpg").path
    # The inputs are the point: one step, and the person's analysis from the session.
    result = engine.run(photos[0], tee, "upper", options={"steps": 1}, person_analysis=vitonhd_analysis)
    assert not result.layers["garment-pose"].any()
    from tryon.engines.fashn.geometry import pre_resize
    from tryon.imageio import load_image

    assert np.array_equal(result.layers["garment-input"], pre_resize(load_image(tee)))  # as it is, nothing greyed


def test_masked_mode_hides_our_agnostic_region(tiny, photos, person_analyzer, garment_analyzer):
    from tryon.engines import get_engine

    person, garment = photos
    masked = get_engine("fashn", model=str(tiny), steps=1, masked=True, person_analyzer=person_analyzer,
                        garment_analyzer=garment_analyzer)
    seen = {}
    call = type(masked.pipeline).__call__

    def spy(self, ca_images, *args, **kwargs):
        seen["person"] = ca_images.clone()
        return call(self, ca_images, *args, **kwargs)

    type(masked.pipeline).__call__ = spy
    try:
        result = masked.run(person, garment, "upper")
    finally:
        type(masked.pipeline).__call__ = call
    grey = (((seen["person"][0] + 1) * 127.5).round() == 127).all(dim=0).float().mean().item()
    region = (result.region > 0).mean()
    assert region > 0.05 and abs(grey - region * (576 * 768) / (576 * 864)) < 0.05  # 4:3 photo, padded to 2:3


def test_requests_with_their_own_garments_seeds_and_steps_in_one_batch_get_what_they_ask(engine, photos, evalset,
                                                                                       by_folder, vitonhd_analysis):
    """Per-request options: requests that agree on the sampler share a batch, each with its own garment
    and seed; others run apart. Each picture is the one its request gives alone (batch-mates change
    nothing: the server may batch any requests). The person's analysis is the session's: the one
    picture that the command line made alone, analysing the person itself, is the same."""
    from tryon.engines.base import TryOnRequest

    person, garment = photos
    other = next(e for e in evalset.of_kind("garment") if e.pair_id == "00057_00").path
    asks = [(garment, {"seed": 3}), (garment, {"seed": 4}),  # guided, two steps: another seed
            (garment, {"seed": 3, "steps": 1}), (other, {"seed": 3, "steps": 1})]  # one step: another garment
    calls = []
    sample = engine._sample
    engine._sample = lambda prepared, o, seeds: calls.append((o.steps, seeds)) or sample(prepared, o, seeds)
    try:
        batch = engine.run_batch([TryOnRequest(person, g, "upper", options=a, person_analysis=vitonhd_analysis)
                                  for g, a in asks])
    finally:
        del engine._sample
    assert calls == [(2, [3, 4]), (1, [3, 3])]
    for (g, ask), got in zip(asks, batch):
        if (g, ask) == (garment, {"seed": 3, "steps": 1}):  # alone, from the command line: by_folder's picture
            alone = _read(by_folder / "result.png")
        else:
            alone = engine.run(person, g, "upper", options=ask, person_analysis=vitonhd_analysis).image
        assert np.abs(alone.astype(int) - got.image).max() <= 1
    assert np.abs(batch[0].image.astype(int) - batch[1].image).mean() > 1  # another seed
    assert np.abs(batch[0].image.astype(int) - batch[2].image).mean() > 1  # other steps
    assert np.abs(batch[2].image.astype(int) - batch[3].image).mean() > 0.5  # another garment


def test_the_server_batches_fashn_requests(tiny, photos, evalset, monkeypatch, tmp_path):
    from tryon.serve.service import TryOnService
    from tryon.serve.settings import ServeSettings

    monkeypatch.setenv("TRYON_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRYON_FASHN_MODEL", str(tiny))
    monkeypatch.setenv("TRYON_FASHN_STEPS", "1")
    person = photos[0].read_bytes()
    garments = [e.path.read_bytes() for e in evalset.of_kind("garment", "upper")[:2]]
    service = TryOnService(ServeSettings(engines=("warp", "fashn"), workers=1, batch_window_s=0.5))
    try:
        first = service.submit_tryon(person, garments[0], engine="fashn", fmt="png").result(300)  # warms caches
        assert first.engine == "fashn" and "diffusion" in first.timings
        outs = [f.result(300) for f in [service.submit_tryon(person, g, engine="fashn", fmt="png") for g in garments]]
        sample = service.metrics.registry.get_sample_value
        assert sample("tryon_batch_size_count", {"lane": "fashn"}) == 2  # the warm-up, then one batch
        assert sample("tryon_batch_size_sum", {"lane": "fashn"}) == 1 + len(garments)
        images = [np.asarray(Image.open(io.BytesIO(o.image))) for o in outs]
        assert images[0].shape == np.asarray(Image.open(photos[0])).shape
    finally:
        service.close()


def test_running_out_of_gpu_memory_is_one_plain_error(engine, photos, monkeypatch):
    from tryon.engines.accelerator import OutOfMemoryError

    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(type(engine.pipeline), "__call__", out_of_memory)
    with pytest.raises(OutOfMemoryError, match="ran out of memory running fashn: run fewer requests"):
        engine.run(*photos, "upper")
