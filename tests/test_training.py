"""tryon train on the CPU: a tiny SD-1.5-shaped base (random weights, the published folder layout,
a tiny CLIP) trained on a VITON-HD folder that ``tryon prepare`` made from evalset photos, and on
person photos alone. Training is real (the loss falls, renders move); the sizes are tiny."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch, diffusers, peft, transformers) is not installed")
pytest.importorskip("peft", reason="the train extra is not installed")
pytest.importorskip("transformers", reason="the train extra is not installed")

from PIL import Image  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from tryon.imageio import load_image  # noqa: E402
from tryon.training.config import load_config  # noqa: E402

TRYON = [sys.executable, "-m", "tryon.cli"]
#: Tiny and fast: 64x128 pictures (8x16 latents), two pairs per step, no worker processes.
FAST = dict(size="64x128", batch_size=2, workers=0, log_every=1, validate_every=0, validation_pairs=2,
            validation_steps=2, warmup=0)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from tryon.engines.catvton.testing import write_random_catvton

    return write_random_catvton(tmp_path_factory.mktemp("base"), "tiny", text=True)


@pytest.fixture(scope="module")
def vitonhd(tmp_path_factory, evalset) -> Path:
    """A VITON-HD folder that tryon prepare wrote from the evalset's ground-truth pairs (each person
    photo with the product photo of the garment it wears, under the same id): ``train/`` and
    ``train_pairs.txt``, as the published dataset."""
    from tryon.data.prepare import prepare_dataset

    src = tmp_path_factory.mktemp("photos")
    (src / "image").mkdir()
    (src / "cloth").mkdir()
    garments = {}
    for g in evalset.of_kind("garment"):
        if g.pair_id:
            garments.setdefault(g.pair_id, g)
    for p in evalset.of_kind("person"):
        if p.pair_id in garments:
            shutil.copy(p.path, src / "image" / f"{p.pair_id}{p.path.suffix}")
            shutil.copy(garments[p.pair_id].path, src / "cloth" / f"{p.pair_id}{garments[p.pair_id].path.suffix}")
    dst = tmp_path_factory.mktemp("vitonhd")
    report = prepare_dataset(src, dst, (192, 256), workers=1, split="train")
    assert report.done >= 8 and not report.failed
    return dst


def _copy(folder: Path, tmp_path: Path, keep: int | None = None) -> Path:
    """A private copy of the prepared folder; ``keep``: only the first pairs of its pairs file."""
    out = tmp_path / "data"
    shutil.copytree(folder, out)
    if keep:
        pairs = (out / "train_pairs.txt").read_text().splitlines()
        assert pairs[0].split()[0] == pairs[0].split()[1]  # prepare paired each person with its own garment
        (out / "train_pairs.txt").write_text("\n".join(pairs[:keep]) + "\n")
    return out


def _config(base, **settings):
    return load_config({**FAST, "base_model": str(base["base_model"]), "vae": "base", **settings})


def _data(folder: Path, config):
    from tryon.training.data import load_samples

    return load_samples(folder, config)[0], config


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_overfitting_two_pairs_halves_the_loss_and_the_render_moves_towards_its_target(base, vitonhd, tmp_path):
    from diffusers import UNet2DConditionModel

    from tryon.engines.catvton.attention import skip_cross_attention
    from tryon.engines.catvton.pipeline import CatVTONPipeline
    from tryon.training.data import TryOnDataset
    from tryon.training.model import Denoiser, load_components
    from tryon.training.trainer import _collate, keyed_generator, train, training_loss

    data = _copy(vitonhd, tmp_path, keep=2)
    config = _config(base, steps=20, train="full", lr=2e-3, flip=0, crop=0, garment_dropout=0, ema_decay=0,
                     guidance=1.0)
    result = train(data, tmp_path / "run", config, progress=False)
    losses = [m["loss"] for m in _metrics(result.run)]
    assert len(losses) == 20 and all(np.isfinite(losses))
    assert np.mean(losses[-7:]) < 0.7 * np.mean(losses[:7]), losses  # per step it is noisy (random timesteps)
    assert [v["step"] for v in result.validation] == [20] and result.validation[0]["ssim"] is not None
    assert (result.run / "validation" / "step-20.png").is_file()
    assert any((result.run / "logs").rglob("events.out.tfevents*"))  # TensorBoard
    card = json.loads((result.final / "model_card.json").read_text())
    assert card["trained"] == "full" and card["details"]["validation"]["step"] == 20

    # The loss on the same draws of noise and timesteps (8 micro-batches), before and after: halved.
    parts = load_components(config)
    batch = _collate([TryOnDataset(*_data(data, config)).item(i) for i in range(2)])
    held = {}
    for name, unet in (("base", parts.unet), ("trained", UNet2DConditionModel.from_pretrained(str(result.final / "unet")))):
        skip_cross_attention(unet)
        with torch.no_grad():
            held[name] = np.mean([training_loss(parts, Denoiser(unet), batch, config, keyed_generator(7, k), "cpu").item()
                                  for k in range(8)])
    assert held["trained"] <= 0.5 * held["base"], held

    # The render, before decoding (a random VAE's decoder saturates whatever it is given), against the
    # target photo's latents: the trained UNet lands far closer to them than the base one.
    person, garment, mask = (batch[k] for k in ("person", "garment", "mask"))
    pipe = CatVTONPipeline.from_pretrained(base["base_model"], result.final)
    with torch.no_grad():
        target = pipe.vae.encode(person).latent_dist.mean * pipe.latent_scale
    errors = {}
    for name, unet in (("base", UNet2DConditionModel.from_pretrained(str(base["base_model"] / "unet"))),
                       ("trained", pipe.unet)):
        pipe.unet = unet
        pipe.__init__(unet, pipe.vae, pipe.scheduler)  # the base UNet gets the skipped cross-attention too
        latents = pipe(person, garment, mask, steps=10, guidance=1.0, output_type="latent",
                       generator=[torch.Generator().manual_seed(i) for i in range(2)])
        errors[name] = float(((latents - target) ** 2).mean())
    assert errors["trained"] < 0.5 * errors["base"], errors


def test_stopping_and_resuming_equals_training_straight_through(base, vitonhd, tmp_path):
    """Augmentation, garment dropout, EMA and the cosine schedule on: the resumed run's weights equal
    the uninterrupted run's bit for bit, whatever the number of data-loading workers."""
    from tryon.training.trainer import checkpoints, train

    config = _config(base, steps=4, lr=1e-3, warmup=1, checkpoint_every=10, keep_checkpoints=1)
    straight = train(vitonhd, tmp_path / "straight", config, progress=False)
    first = train(vitonhd, tmp_path / "stopped", config, progress=False, stop_after=2)
    assert first.steps == 2 and not (first.final / "model_card.json").exists()
    assert [p.name for p in checkpoints(first.run)] == ["step-2"]
    with pytest.raises(Exception, match="--resume"):  # a second run into the same folder is refused
        train(vitonhd, tmp_path / "stopped", config, progress=False)
    resumed = train(vitonhd, tmp_path / "stopped", load_config({**config.as_dict(), "workers": 2}), resume=True,
                    progress=False)
    assert resumed.start_step == 2 and resumed.steps == 4
    a = load_file(str(straight.final / "attention" / "model.safetensors"))
    b = load_file(str(resumed.final / "attention" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _metrics(straight.run) == [{**m, "images_per_s": s["images_per_s"]}
                                      for m, s in zip(_metrics(resumed.run), _metrics(straight.run))]
    with pytest.raises(Exception, match="other settings"):
        train(vitonhd, tmp_path / "stopped", load_config({**config.as_dict(), "lr": 1e-4}), resume=True,
              progress=False)


def test_two_processes_train_in_step_and_end_with_identical_weights(base, vitonhd, tmp_path):
    """accelerate launch with two CPU processes (gloo): each trains on its share of every batch."""
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "tryon.training",
           str(vitonhd), "--out", str(run), "--base-model", str(base["base_model"]), "--vae", "base", "--steps", "2",
           "--size", "64x128", "--batch-size", "1", "--workers", "0", "--validate-every", "0",
           "--validation-pairs", "1", "--validation-steps", "2", "--log-every", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    card = json.loads((run / "final" / "model_card.json").read_text())
    digests = card["details"]["weights_sha256_per_process"]
    assert card["details"]["processes"] == 2 and len(digests) == 2 and digests[0] == digests[1]
    assert [m["step"] for m in _metrics(run)] == [1, 2]  # one line per step, written once
    assert res.stdout.count("model in") == 1  # one process reports


def test_a_zero_initialised_controlnet_leaves_the_prediction_bitwise_unchanged(base):
    from tryon.engines.catvton.pipeline import predict
    from tryon.training.model import Denoiser, load_components

    parts = load_components(_config(base, controlnet="pose"))
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 9, 32, 8, generator=g)
    control = torch.rand(2, 3, 256, 64, generator=g)
    with torch.no_grad():
        plain = predict(parts.unet, None, sample, torch.tensor([500, 20]))
        with_pose = Denoiser(parts.unet, parts.controlnet)(sample, torch.tensor([500, 20]), None, control)
    assert torch.equal(plain, with_pose)


def test_a_model_trained_with_pose_and_text_follows_both(base, vitonhd, tmp_path, vitonhd_person, evalset,
                                                         person_analyzer, garment_analyzer, vitonhd_analysis):
    from tryon.engines.catvton.pipeline import CatVTONPipeline
    from tryon.engines.registry import get_engine
    from tryon.training.trainer import train

    result = train(vitonhd, tmp_path / "run", _config(base, steps=6, lr=3e-3, controlnet="pose", text=True,
                                                      train="lora", lora_rank=4, ema_decay=0), progress=False)
    card = json.loads((result.final / "model_card.json").read_text())
    assert card["controlnet"] and card["text"] and card["trained"] == "lora"
    pipe = CatVTONPipeline.from_pretrained(base["base_model"], result.final)
    assert pipe.takes_pose and pipe.takes_text
    g = torch.Generator().manual_seed(1)
    person, garment = torch.rand(1, 3, 128, 64, generator=g) * 2 - 1, torch.rand(1, 3, 128, 64, generator=g) * 2 - 1
    mask = torch.zeros(1, 1, 128, 64)
    mask[..., 20:90, 8:56] = 1
    pose = torch.zeros(1, 3, 128, 64)
    pose[:, 0, 30:40, 10:50] = 1

    def render(pose, prompt):  # the latents: the tiny random VAE's decoder would blur the difference
        return pipe(person, garment, mask, steps=3, guidance=2.0, generator=torch.Generator().manual_seed(3),
                    pose=pose, prompts=[prompt], output_type="latent")

    # Rendering is deterministic, and before training the ControlNet's effect is exactly zero (above):
    # any difference is what training taught it.
    reference = render(pose, "a person wearing a red top")
    assert torch.equal(reference, render(pose, "a person wearing a red top"))
    scale = reference.abs().mean()
    assert (reference - render(torch.zeros_like(pose), "a person wearing a red top")).abs().mean() > 1e-6 * scale
    assert (reference - render(pose, "a person wearing a blue top")).abs().mean() > 1e-3 * scale
    # The engine draws the pose from its own keypoints and takes the prompt per request.
    engine = get_engine("catvton", base_model=str(base["base_model"]), vae=str(base["vae"]),
                        attn_weights=str(result.final), size=(64, 128), steps=2, person_analyzer=person_analyzer,
                        garment_analyzer=garment_analyzer)
    garment_path = next(g for g in evalset.of_kind("garment") if g.pair_id == vitonhd_person.pair_id).path
    red, blue = (engine.run(vitonhd_person.path, garment_path, "upper", options={"prompt": f"a {colour} top"},
                            person_analysis=vitonhd_analysis).image for colour in ("red", "blue"))
    assert np.abs(red.astype(int) - blue).mean() > 0.1


def test_person_photos_alone_train_a_model_the_engine_loads(base, evalset, tmp_path, vitonhd_person, monkeypatch,
                                                            person_analyzer, garment_analyzer, vitonhd_analysis):
    """Self-supervised: the analysis is cached beside the photos, each person's own garment laid flat
    is its product photo, and the export changes the engine's picture against the base weights."""
    from tryon.engines.catvton.attention import attention_state
    from tryon.engines.registry import get_engine
    from tryon.training.trainer import train

    photos = tmp_path / "photos"
    photos.mkdir()
    for p in [p for p in evalset.of_kind("person", "studio") if not p.pair_id][:3]:
        shutil.copy(p.path, photos / p.path.name)
    result = train(photos, tmp_path / "run", _config(base, steps=3, lr=1e-3, self_supervised=True), progress=False)
    assert result.report.layout == "persons" and result.report.used == 3
    assert len(list((photos / "tryon-cache").glob("*.keypoints.json"))) == 3
    grid = load_image(result.run / "validation" / "step-3.png")
    assert grid.shape == (2 * 128, 4 * 64, 3)
    garment_cell = grid[:128, 64:128]
    assert (garment_cell > 245).all(axis=-1).mean() > 0.2  # a product photo on white, not a person photo

    from diffusers import UNet2DConditionModel

    untrained = tmp_path / "untrained" / "attention"
    untrained.mkdir(parents=True)
    save_file(attention_state(UNet2DConditionModel.from_pretrained(str(base["base_model"] / "unet"))),
              str(untrained / "model.safetensors"))
    garment = next(g for g in evalset.of_kind("garment") if g.pair_id == vitonhd_person.pair_id).path
    pictures = []
    for weights in (untrained.parent, result.final):
        engine = get_engine("catvton", base_model=str(base["base_model"]), vae=str(base["vae"]),
                            attn_weights=str(weights), size=(64, 128), steps=2, person_analyzer=person_analyzer,
                            garment_analyzer=garment_analyzer)
        pictures.append(engine.run(vitonhd_person.path, garment, "upper", person_analysis=vitonhd_analysis).image
                        .astype(int))
    assert np.abs(pictures[0] - pictures[1]).mean() > 0.1

    # Uploaded to a hub repository, the run loads by hub id: here from a hub cache laid out as
    # huggingface_hub keeps it, offline; the card names the files to fetch.
    snapshot = tmp_path / "hf" / "hub" / "models--shop--tryon-model" / "snapshots" / ("a" * 40)
    shutil.copytree(result.final, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    by_id = get_engine("catvton", base_model=str(base["base_model"]), vae=str(base["vae"]),
                       attn_weights="shop/tryon-model", size=(64, 128), steps=2, person_analyzer=person_analyzer,
                       garment_analyzer=garment_analyzer)
    np.testing.assert_array_equal(by_id.run(vitonhd_person.path, garment, "upper", person_analysis=vitonhd_analysis)
                                  .image, pictures[1])
    with pytest.raises(Exception, match="not trained with text"):
        engine.run(vitonhd_person.path, garment, "upper", options={"prompt": "a red top"})


def test_bad_data_is_skipped_and_counted_and_no_data_exits_2(base, vitonhd, tmp_path):
    from tryon.training.data import load_samples

    data = _copy(vitonhd, tmp_path)
    split = data / "train"
    ids = sorted(p.stem for p in (split / "image").iterdir())
    (split / "image" / f"{ids[0]}.jpg").write_bytes((split / "image" / f"{ids[0]}.jpg").read_bytes()[:300])
    (split / "cloth" / f"{ids[1]}.jpg").unlink()
    (data / "train_pairs.txt").write_text("".join(f"{i}.jpg {i}.jpg\n" for i in ids) + "ghost.jpg ghost.jpg\n")
    samples, report = load_samples(data, _config(base))
    assert report.used == len(samples) == len(ids) - 2
    assert report.skipped_count == 3
    assert any("unreadable" in reason for reason in report.skipped)
    assert "ghost ghost" in report.skipped["pair names a missing photo"]
    assert "skipped 2: pair names a missing photo" in report.summary()

    empty = tmp_path / "empty"
    (empty / "image").mkdir(parents=True)
    (empty / "cloth").mkdir()
    res = subprocess.run(TRYON + ["train", str(empty), "--out", str(tmp_path / "r"), "--base-model",
                                  str(base["base_model"]), "--steps", "2"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "no usable training sample" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_settings_come_from_the_config_file_then_flags_and_bad_ones_exit_2(base, tmp_path, capsys):
    from test_cli import in_process

    from tryon.engines.options import OptionError

    config = tmp_path / "train.toml"
    config.write_text('[train]\nsteps = 7\nsize = "128x256"\ncontrolnet = "pose"\n')
    c = load_config({"steps": 9}, config)
    assert (c.steps, c.size, c.pose) == (9, (128, 256), True)
    config.write_text("stepz = 3\n")
    with pytest.raises(OptionError, match="stepz"):
        load_config({}, config)
    # In this process: the real command's exit 2 in one line is the test above's.
    for flags, words in ((["--size", "100x100"], "multiples of 8"), (["--train", "everything"], "attention"),
                         (["--garment-dropout", "2"], "out of range")):
        code, _, err = in_process(capsys, "train", tmp_path, "--out", tmp_path / "r", *flags)
        assert code == 2 and words in err and "Traceback" not in err, err


def test_a_dresscode_folder_is_read_and_its_analysis_cached(base, evalset, tmp_path):
    """DressCode's layout: per-category folders of *_0 persons and *_1 garments with pairs files; the
    masks it lacks are computed once and read from the cache the second time."""
    from tryon.category import Category
    from tryon.training.data import TryOnDataset, load_samples

    persons = [p for p in evalset.of_kind("person", "studio") if not p.pair_id]
    tops, dresses = evalset.of_kind("garment", "upper"), evalset.of_kind("garment", "dress")
    root = tmp_path / "dresscode"
    for folder, person, garment, n in (("upper_body", persons[0], tops[0], "000001"),
                                        ("dresses", persons[1], dresses[0], "000002")):
        (root / folder / "images").mkdir(parents=True)
        shutil.copy(person.path, root / folder / "images" / f"{n}_0.jpg")
        shutil.copy(garment.path, root / folder / "images" / f"{n}_1.jpg")
        (root / folder / "train_pairs.txt").write_text(f"{n}_0.jpg {n}_1.jpg\n{n}9_0.jpg {n}9_1.jpg\n")
    config = _config(base)
    samples, report = load_samples(root, config)
    assert report.layout == "dresscode" and report.used == 2
    assert report.skipped["pair names a missing photo"] == ["upper_body/0000019_0 0000019_1",
                                                             "dresses/0000029_0 0000029_1"]
    assert [s.category for s in samples] == [Category.UPPER, Category.DRESS]
    assert all(s.mask.parent == root / "tryon-cache" and s.mask.is_file() for s in samples)
    item = TryOnDataset(samples, config).item(1)
    assert item["person"].shape == item["garment"].shape == (3, 128, 64) and item["mask"].mean() > 0.2
    cached = {p: p.stat().st_mtime_ns for p in (root / "tryon-cache").iterdir()}
    load_samples(root, config)  # the second time nothing is analysed again
    assert {p: p.stat().st_mtime_ns for p in (root / "tryon-cache").iterdir()} == cached


def test_person_photos_that_give_no_product_photo_are_refused_once(base, evalset, tmp_path):
    """A photo whose parse falls apart (a patterned halter top under long hair, with a microphone
    and a lanyard in front, in the wild) or that shows no person is skipped with its reason,
    written beside the cache, and not analysed again on the next run."""
    from tryon.training.data import load_samples

    by_name = {e.path.name: e for e in evalset.of_kind("person")}
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(by_name["Any2anyTryon__model3.png"].path, photos / "shards.png")
    shutil.copy(by_name["IDM-VTON__00055_00.jpg"].path, photos / "studio.jpg")
    Image.fromarray(np.full((300, 200, 3), 200, np.uint8)).save(photos / "empty.png")
    config = _config(base, self_supervised=True)
    samples, report = load_samples(photos, config)
    assert [s.id for s in samples] == ["studio"]
    reasons = {item: reason for reason, items in report.skipped.items() for item in items}
    assert "falls apart" in reasons["shards"] and "person" in reasons["empty"]
    markers = sorted(p.name for p in (photos / "tryon-cache").glob("*.refused.txt"))
    assert markers == ["empty.refused.txt", "shards.refused.txt"]
    written = {p: p.stat().st_mtime_ns for p in (photos / "tryon-cache").iterdir()}
    again, report = load_samples(photos, config)  # nothing is analysed (or refused) again
    assert [s.id for s in again] == ["studio"] and report.skipped_count == 2
    assert {p: p.stat().st_mtime_ns for p in (photos / "tryon-cache").iterdir()} == written
