"""The catvton engine on tiny random models in the published layout (CPU, seconds)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="the catvton extra (torch, diffusers) is not installed")
pytest.importorskip("diffusers")

from safetensors.torch import load_file, save_file  # noqa: E402

from tryon.engines.catvton.attention import (WeightsError, attention_slots, load_attention_weights,  # noqa: E402
                                             skip_cross_attention)
from tryon.engines.catvton.pipeline import CatVTONPipeline  # noqa: E402
from tryon.engines.catvton.testing import build_unet, write_random_catvton  # noqa: E402

#: CatVTON's layer order, written out independently of our code: down 0, 1, 2; up 1, 2, 3; mid last.
PUBLISHED_ORDER = (
    [f"down_blocks.{b}.attentions.{a}" for b in range(3) for a in range(2)]
    + [f"up_blocks.{b}.attentions.{a}" for b in (1, 2, 3) for a in range(3)]
    + ["mid_block.attentions.0"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_random_catvton(tmp_path_factory.mktemp("catvton"), "tiny")


@pytest.fixture(scope="module")
def pipe(tiny):
    return CatVTONPipeline.from_pretrained(tiny["base_model"], tiny["attn_weights"])


def _inputs(seed=0, h=128, w=64, batch=1):  # small, and not square
    g = torch.Generator().manual_seed(seed)
    person = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    garment = torch.rand(batch, 3, h, w, generator=g) * 2 - 1
    mask = torch.zeros(batch, 1, h, w)
    mask[..., h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
    return person, garment, mask


def test_file_keys_follow_the_published_layer_order(tiny):
    unet = build_unet("tiny")
    slots = attention_slots(unet)
    assert len(slots) == 80
    for i, block in enumerate(PUBLISHED_ORDER):
        module = f"{block}.transformer_blocks.0.attn1"
        keys = {s.key for s in slots if s.module == module}
        assert keys == {f"{8 * i}.{p}" for p in ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight",
                                                 "to_out.0.bias")}
    assert set(load_file(str(tiny["attn_weights"] / "attention" / "model.safetensors"))) == {s.key for s in slots}


def test_changing_one_tensor_changes_that_layer_only(tiny, tmp_path):
    from diffusers import UNet2DConditionModel

    tensors = load_file(str(tiny["attn_weights"] / "attention" / "model.safetensors"))
    a = UNet2DConditionModel.from_pretrained(str(tiny["base_model"] / "unet"))
    load_attention_weights(a, tiny["attn_weights"])
    for name, p in a.named_parameters():  # the file's values really are in the layers
        if name == "up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_v.weight":
            assert torch.equal(p, tensors["72.to_v.weight"])  # layer 9 = up_blocks.2.attentions.0
    changed = dict(tensors)
    changed["56.to_k.weight"] = tensors["56.to_k.weight"] + 1.0  # layer 7: up_blocks.1.attentions.1
    save_file(changed, str(tmp_path / "model.safetensors"))
    b = UNet2DConditionModel.from_pretrained(str(tiny["base_model"] / "unet"))
    load_attention_weights(b, tmp_path / "model.safetensors")
    sa, sb = a.state_dict(), b.state_dict()
    differ = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert differ == ["up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_k.weight"]


@pytest.mark.parametrize("fault, named", [
    ("missing", "120.to_q.weight"), ("extra", "128.to_q.weight"), ("misshapen", "8.to_out.0.weight")])
def test_attention_files_that_do_not_fit_are_refused_by_name(tiny, tmp_path, fault, named):
    from diffusers import UNet2DConditionModel

    tensors = load_file(str(tiny["attn_weights"] / "attention" / "model.safetensors"))
    if fault == "missing":
        del tensors[named]
    elif fault == "extra":
        tensors[named] = torch.zeros(4)
    else:
        tensors[named] = tensors[named][:, :-1].contiguous()
    save_file(tensors, str(tmp_path / "model.safetensors"))
    unet = UNet2DConditionModel.from_pretrained(str(tiny["base_model"] / "unet"))
    before = {k: v.clone() for k, v in unet.state_dict().items()}
    with pytest.raises(WeightsError, match=named.replace(".", r"\.")):
        load_attention_weights(unet, tmp_path / "model.safetensors")
    assert all(torch.equal(before[k], v) for k, v in unet.state_dict().items())  # nothing half-loaded


def test_cross_attention_becomes_h_plus_norm2_h():
    torch.manual_seed(0)
    unet = build_unet("tiny")
    skip_cross_attention(unet)
    block = unet.down_blocks[1].attentions[0].transformer_blocks[0]
    h = torch.randn(2, 64, block.norm1.normalized_shape[0])
    with torch.no_grad():
        got = block(h, encoder_hidden_states=None)
        # The same block computed by hand: self-attention, then h + norm2(h), then the feed-forward.
        attn = block.attn1
        x = block.norm1(h)
        b, n, c = x.shape
        heads = attn.heads
        q, k, v = (f(x).view(b, n, heads, -1).transpose(1, 2) for f in (attn.to_q, attn.to_k, attn.to_v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5), dim=-1)
        h1 = attn.to_out[0]((weights @ v).transpose(1, 2).reshape(b, n, c)) + h
        h2 = h1 + block.norm2(h1)
        expected = block.ff(block.norm3(h2)) + h2
        without = block.ff(block.norm3(h1)) + h1  # what a true no-op would give
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert (got - without).abs().max() > 1e-2


def test_output_size_and_determinism_per_seed(pipe):
    person, garment, mask = _inputs()
    run = lambda seed: pipe(person, garment, mask, steps=3, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    a, b, c = run(7), run(7), run(8)
    assert a.shape == (1, 3, 128, 64) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b)
    assert (a - c).abs().mean() > 1e-3


def test_guidance_runs_an_unconditional_branch_without_the_garment(pipe):
    person, garment, mask = _inputs()
    seen = []
    handle = pipe.unet.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    try:
        with_cfg = pipe(person, garment, mask, steps=2, guidance=2.5, generator=torch.Generator().manual_seed(1))
        n_cfg = len(seen)
        no_cfg = pipe(person, garment, mask, steps=2, guidance=1.0, generator=torch.Generator().manual_seed(1))
    finally:
        handle.remove()
    first, plain = seen[0], seen[n_cfg]
    assert first.shape[:2] == (2, 9) and plain.shape[:2] == (1, 9)
    lat_h = first.shape[-2] // 2
    assert torch.count_nonzero(first[0, 5:9, lat_h:]) == 0  # unconditional: garment latent zeroed
    assert torch.count_nonzero(first[1, 5:9, lat_h:]) > 0  # conditional: the garment is there
    assert torch.count_nonzero(first[:, 4, lat_h:]) == 0  # the mask channel is zero over the garment half
    assert (with_cfg - no_cfg).abs().mean() > 1e-4


def test_a_batch_of_garments_matches_single_runs_in_shape(pipe):
    person, garment, mask = _inputs(batch=3)
    out = pipe(person, garment, mask, steps=2, generator=torch.Generator().manual_seed(3))
    assert out.shape == (3, 3, 128, 64)
    assert (out[0] - out[1]).abs().mean() > 1e-4


def test_each_image_of_a_batch_is_the_one_its_seed_gives_alone(pipe):
    """With a generator per image, batch-mates change nothing: the server may batch any requests."""
    person, garment, mask = _inputs(batch=3)
    seeds = lambda *s: [torch.Generator().manual_seed(v) for v in s]  # noqa: E731
    batch = pipe(person, garment, mask, steps=2, generator=seeds(5, 5, 9))
    for i, seed in enumerate((5, 5, 9)):
        alone = pipe(person[i:i + 1], garment[i:i + 1], mask[i:i + 1], steps=2, generator=seeds(seed))
        torch.testing.assert_close(batch[i:i + 1], alone, rtol=0, atol=1e-4)


def test_mask_free_variant(tmp_path):
    paths = write_random_catvton(tmp_path, "tiny", mask_free=True)
    pipe = CatVTONPipeline.from_pretrained(paths["base_model"], paths["attn_weights"])
    assert pipe.mask_free
    person, garment, _ = _inputs()
    seen = []
    handle = pipe.unet.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    out = pipe(person, garment, None, steps=2, generator=torch.Generator().manual_seed(0))
    handle.remove()
    assert out.shape == (1, 3, 128, 64)
    assert seen[0] == (2, 8, 16, 16)  # [noisy, person beside garment], width doubled


def test_cli_end_to_end_and_masked_pixels_are_never_read(tiny, vitonhd_person, evalset, tmp_path, capsys, caplog,
                                                         person_analyzer, garment_analyzer):
    from test_cli import in_process

    from tryon.engines.registry import get_engine

    garment = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00").path
    photo = np.asarray(Image.open(vitonhd_person.path).convert("RGB"))
    mask = np.zeros(photo.shape[:2], np.uint8)
    mask[300:700, 200:560] = 255
    noisy = photo.copy()
    noisy[mask > 0] = np.random.default_rng(0).integers(0, 256, (int((mask > 0).sum()), 3))
    engine = get_engine("catvton", base_model=str(tiny["base_model"]), vae=str(tiny["vae"]),
                        attn_weights=str(tiny["attn_weights"]), steps=2, size=(96, 128),
                        person_analyzer=person_analyzer, garment_analyzer=garment_analyzer)
    a, b = (engine.run(p, garment, "upper", mask=mask).image for p in (photo, noisy))
    assert a.shape == photo.shape
    np.testing.assert_array_equal(a, b)

    flags = ["--engine", "catvton", "--base-model", tiny["base_model"], "--vae", tiny["vae"],
             "--attn-weights", tiny["attn_weights"], "--steps", "2", "--size", "96x128"]
    Image.fromarray(mask).save(tmp_path / "mask.png")
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    code, out, err = in_process(capsys, "run", tmp_path / "noisy.png", garment, "--out", tmp_path / "noisy-out.png",
                                "--mask", tmp_path / "mask.png", *flags)
    assert code == 0, err
    assert "catvton runs on the CPU" in caplog.text  # it says so (a warning on stderr)
    assert "(upper)" in out  # the category found from the garment photo (auto)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "noisy-out.png")), b)  # as from Python


def test_cli_names_the_bad_key_and_the_missing_folder(tiny, vitonhd_person, evalset, tmp_path, capsys, monkeypatch):
    from test_cli import in_process

    garment = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00").path
    tensors = load_file(str(tiny["attn_weights"] / "attention" / "model.safetensors"))
    del tensors["120.to_q.weight"]
    (tmp_path / "bad" / "attention").mkdir(parents=True)
    save_file(tensors, str(tmp_path / "bad" / "attention" / "model.safetensors"))
    from tryon.engines.registry import get_engine

    local = {"vae": str(tiny["vae"]), "base_model": str(tiny["base_model"])}
    with pytest.raises(WeightsError, match=r"120\.to_q\.weight"):  # WeightsError: exit 2 in one line (below)
        get_engine("catvton", **local, attn_weights=str(tmp_path / "bad"))
    with pytest.raises(WeightsError, match="nowhere"):
        get_engine("catvton", **{**local, "base_model": str(tmp_path / "nowhere")}, attn_weights=str(tiny["attn_weights"]))
    base = ["run", vitonhd_person.path, garment, "--out", tmp_path / "o.png", "--engine", "catvton"]
    # The published defaults are hub ids: offline, with an empty hub cache, the first missing file is named
    # with its hub id and where it could go instead.
    # In this process (the hub cache and offline mode are read from the environment at call time).
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TRYON_OFFLINE", "1")
    code, _, err = in_process(capsys, *base)
    assert code == 2 and "Traceback" not in err, err
    assert "booksforcharlie/stable-diffusion-inpainting" in err and "unet/config.json" in err
    assert "TRYON_OFFLINE" in err and len(err.strip().splitlines()) == 1


def test_settings_come_from_file_then_environment_then_flags(tmp_path, tiny):
    from tryon.engines.options import OptionError
    from tryon.engines.registry import engine_options

    (tmp_path / "config.toml").write_text(
        f'[catvton]\nbase_model = "{tiny["base_model"]}"\nattn_weights = "{tiny["attn_weights"]}"\n'
        'steps = 30\nscheduler = "unipc"\nsize = "384x512"\n')
    env = {"TRYON_CONFIG": str(tmp_path / "config.toml"), "TRYON_CATVTON_STEPS": "20"}
    c = engine_options("catvton", {"guidance": None, "seed": 5}, env)
    assert (c.base_model, c.steps, c.scheduler, c.size, c.seed) == (str(tiny["base_model"]), 20, "unipc", (384, 512), 5)
    assert engine_options("catvton", {"steps": 8}, env).steps == 8
    (tmp_path / "config.toml").write_text("[catvton]\nstepz = 3\n")
    with pytest.raises(OptionError, match="stepz.*steps"):  # the unknown one, and the valid ones
        engine_options("catvton", None, env)
    (tmp_path / "config.toml").write_text("[catvton]\nsize = \"100x100\"\n")
    with pytest.raises(OptionError, match="multiples of 8"):
        engine_options("catvton", None, env)
    with pytest.raises(OptionError, match="scheduler.*ddim"):
        engine_options("catvton", {"scheduler": "euler"}, {})


def test_service_batches_catvton_requests(tiny, vitonhd_person, evalset, monkeypatch, tmp_path):
    """The server runs catvton requests that arrive together as one batch on its engine lane."""
    from tryon.serve.service import TryOnService
    from tryon.serve.settings import ServeSettings

    monkeypatch.setenv("TRYON_CONFIG", str(tmp_path / "none.toml"))
    for name, value in (("BASE_MODEL", tiny["base_model"]), ("VAE", tiny["vae"]), ("ATTN_WEIGHTS", tiny["attn_weights"]),
                        ("STEPS", "2"), ("SIZE", "96x128")):
        monkeypatch.setenv(f"TRYON_CATVTON_{name}", str(value))
    person = vitonhd_person.path.read_bytes()
    garments = [e.path.read_bytes() for e in evalset.of_kind("garment", "upper")[:3]]
    service = TryOnService(ServeSettings(engines=("warp", "catvton"), workers=1, batch_window_s=0.5))
    try:
        first = service.submit_tryon(person, garments[0], engine="catvton", fmt="png").result(120)  # warms caches
        assert first.engine == "catvton" and "diffusion" in first.timings
        futures = [service.submit_tryon(person, g, engine="catvton", fmt="png") for g in garments]
        outs = [f.result(120) for f in futures]
        assert all(o.person_cached for o in outs)
        sample = service.metrics.registry.get_sample_value
        assert sample("tryon_batch_size_count", {"lane": "catvton"}) == 2  # the warm-up, then one batch
        assert sample("tryon_batch_size_sum", {"lane": "catvton"}) == 1 + len(garments)
        images = [np.asarray(Image.open(io.BytesIO(o.image))) for o in outs]
        assert images[0].shape == np.asarray(Image.open(vitonhd_person.path)).shape
        assert (images[0].astype(int) - images[1].astype(int)).any()  # each request got its own garment
    finally:
        service.close()


@pytest.mark.parametrize("scheduler", ["ddim", "dpm++", "unipc"])
def test_bf16_matches_fp32_with_every_scheduler(tiny, pipe, scheduler):
    """The GPU path's half precision, exercised on the CPU: same result within bf16 tolerance."""
    half = CatVTONPipeline.from_pretrained(tiny["base_model"], tiny["attn_weights"], scheduler=scheduler,
                                           dtype=torch.bfloat16)
    pipe.set_scheduler(scheduler)
    try:
        # one small image, 3 steps: every scheduler's multistep update runs (bf16 convolutions on a CPU are slow)
        person, garment, mask = _inputs(h=64, w=64)
        a = pipe(person, garment, mask, steps=3, generator=torch.Generator().manual_seed(1))
        b = half(person, garment, mask, steps=3, generator=torch.Generator().manual_seed(1))
    finally:
        pipe.set_scheduler("ddim")
    psnr = 10 * torch.log10(1 / torch.mean((a - b) ** 2))
    assert b.dtype == torch.float32 and psnr > 35, psnr


def test_several_garments_on_one_person_analyse_it_once_and_match_single_runs(tiny, vitonhd_person, evalset,
                                                                              person_analyzer, garment_analyzer):
    from tryon.engines import get_engine
    from tryon.engines.base import TryOnRequest

    engine = get_engine("catvton", base_model=tiny["base_model"], vae=tiny["vae"], attn_weights=tiny["attn_weights"],
                        steps=2, size="96x128", person_analyzer=person_analyzer, garment_analyzer=garment_analyzer)
    calls = []
    analyze = person_analyzer.analyze
    person_analyzer.analyze = lambda *a, **k: calls.append(1) or analyze(*a, **k)
    try:
        garments = [e.path for e in evalset.of_kind("garment", "upper")[:3]]
        results = engine.run_batch([TryOnRequest(vitonhd_person.path, g, "upper") for g in garments])
    finally:
        del person_analyzer.analyze
    assert len(calls) == 1 and len(results) == 3
    assert all(r.image.shape == results[0].image.shape for r in results)
    assert (results[0].image.astype(int) - results[1].image.astype(int)).any()
    alone = engine.run(vitonhd_person.path, garments[2], "upper").image
    # The same seed, the same picture, up to float32 noise: a batch of three sums its convolutions
    # in another order than a batch of one, and bringing the 96x128 result up to the photo's size
    # spreads a level of difference over its neighbours (11 of 2.4 million values 2 apart, 0.07 % 1).
    diff = np.abs(alone.astype(int) - results[2].image)
    assert diff.max() <= 2 and (diff > 0).mean() < 0.005


def _catvton_crop(image: Image.Image, size) -> Image.Image:
    """CatVTON's resize_and_crop (its utils.py), written out independently: integer floors throughout."""
    w, h = image.size
    tw, th = size
    nw, nh = (w, w * th // tw) if w / h < tw / th else (h * tw // th, h)
    return image.crop(((w - nw) // 2, (h - nh) // 2, (w + nw) // 2, (h + nh) // 2)).resize(size, Image.LANCZOS)


def _catvton_pad(image: Image.Image, size) -> Image.Image:
    """CatVTON's resize_and_padding: the scaled side floored, centred on white."""
    w, h = image.size
    tw, th = size
    nw, nh = (w * th // h, th) if w / h < tw / th else (tw, h * tw // w)
    canvas = Image.new("RGB", size, (255, 255, 255))
    canvas.paste(image.resize((nw, nh), Image.LANCZOS), ((tw - nw) // 2, (th - nh) // 2))
    return canvas


def test_engine_feeds_the_model_exactly_what_catvtons_own_preprocessing_gives(tiny, vitonhd_person, evalset,
                                                                            person_analyzer, garment_analyzer,
                                                                            monkeypatch):
    """End to end through the engine, on odd sizes where rounding and flooring part ways: the person crop,
    the garment fit and the mask equal CatVTON's published preprocessing, pixel for pixel."""
    from tryon.engines import get_engine

    size = (96, 128)
    photo = Image.open(vitonhd_person.path).convert("RGB").crop((3, 5, 704, 1006))  # 701x1001
    garment = Image.open(next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00").path).convert("RGB")
    garment = garment.crop((10, 7, 343, 524))  # 333x517: its fit is 82.4 px wide, floored to 82
    seen = {}
    call = CatVTONPipeline.__call__

    def spy(self, person, garment, mask=None, **kwargs):
        seen.update(person=person.clone(), garment=garment.clone(), mask=mask.clone())
        return call(self, person, garment, mask, **kwargs)

    monkeypatch.setattr(CatVTONPipeline, "__call__", spy)
    engine = get_engine("catvton", base_model=tiny["base_model"], vae=tiny["vae"], attn_weights=tiny["attn_weights"],
                        steps=1, size="96x128", person_analyzer=person_analyzer, garment_analyzer=garment_analyzer)
    result = engine.run(np.asarray(photo), np.asarray(garment), "upper")
    as_tensor = lambda im: torch.from_numpy(np.asarray(im, np.float32) / 255 * 2 - 1).permute(2, 0, 1)[None]  # noqa: E731
    torch.testing.assert_close(seen["garment"], as_tensor(_catvton_pad(garment, size)), rtol=0, atol=1e-6)
    torch.testing.assert_close(seen["person"], as_tensor(_catvton_crop(photo, size)), rtol=0, atol=1e-6)
    mask = np.asarray(_catvton_crop(Image.fromarray(result.region).convert("RGB"), size))[..., 0] / 255 >= 0.5
    assert torch.equal(seen["mask"][0, 0] > 0.5, torch.from_numpy(mask))
    assert seen["person"].is_contiguous() and seen["garment"].is_contiguous()  # NCHW, not channels-last
