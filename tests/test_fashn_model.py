"""The fashn engine's model, sampler, pose drawing and geometry against FASHN's published code (CPU, fp32).

The published code (``shared/oracles/fashn-vton-1.5``, or ``$TRYON_ORACLES/fashn-vton-1.5``) is
imported only here, as the oracle. Tests that need it skip with a reason when it is missing, except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the fashn extra (torch, diffusers) is not installed")
pytest.importorskip("diffusers")

import cv2  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

from tryon.engines.fashn import geometry  # noqa: E402
from tryon.engines.fashn.model import FashnMMDiT, config_from_state_dict, load_fashn_model  # noqa: E402
from tryon.engines.fashn.pipeline import FashnPipeline, make_scheduler, set_schedule  # noqa: E402
from tryon.engines.fashn.pose import PoseKeypoints, draw_pose_image, empty_pose  # noqa: E402
from tryon.engines.fashn.testing import SCALES, random_model, write_random_fashn  # noqa: E402
from tryon.errors import WeightsError  # noqa: E402

ORACLES = Path(os.environ.get("TRYON_ORACLES") or Path(__file__).resolve().parents[2] / "shared" / "oracles")
ORACLE = ORACLES / "fashn-vton-1.5" / "src" / "fashn_vton"
#: The published architecture, written out independently of our code.
PUBLISHED = dict(hidden_size=1280, num_heads=10, double_blocks_depth=8, single_blocks_depth=16, patch_mixer_depth=4,
                 mlp_ratio=4.0, channels=3, patch_size=12, axes_dim=(16, 56, 56), qkv_bias=True,
                 guidance_embed=False, n_classes=3)


def _stub(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    return module


@pytest.fixture(scope="module")
def ref():
    """The oracle's modules, imported as a bare package with stand-ins for what its tested paths
    import but never use; sys.modules is restored afterwards."""
    if not ORACLE.is_dir():
        message = (f"FASHN's reference code not found at {ORACLE} (set TRYON_ORACLES to the folder holding "
                   "fashn-vton-1.5)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    stubs = {
        # Its tensor utilities import torchvision for to_pil_image: the identity here, so that its
        # sampler hands back the [0, 1] tensors it would have turned into pictures.
        "torchvision": _stub("torchvision"),
        "torchvision.transforms": _stub("torchvision.transforms"),
        "torchvision.transforms.functional": _stub("torchvision.transforms.functional", to_pil_image=lambda x: x),
        # Its pose drawing imports matplotlib for the colour drawing only; the grey one never uses it.
        "matplotlib": _stub("matplotlib"),
        # Its pipeline imports the human parser for label tables used only in preprocessing.
        "fashn_human_parser": _stub("fashn_human_parser", CATEGORY_TO_BODY_COVERAGE={}, FashnHumanParser=None,
                                    BODY_COVERAGE_TO_LABELS={}, IDENTITY_LABELS=(), LABELS_TO_IDS={}),
        "fashn_vton": _stub("fashn_vton", __path__=[str(ORACLE)]),
    }
    saved = {name: sys.modules.get(name) for name in stubs}
    sys.modules.update(stubs)
    try:
        mods = {n: importlib.import_module(f"fashn_vton.{n}") for n in
                ("tryon_mmdit", "pipeline", "utils", "dwpose.dwpose", "preprocessing.transforms")}
        yield SimpleNamespace(TryOnModel=mods["tryon_mmdit"].TryOnModel, TryOnPipeline=mods["pipeline"].TryOnPipeline,
                              get_rf_schedule=mods["utils"].get_rf_schedule,
                              get_dummy_dw_keypoints=mods["utils"].get_dummy_dw_keypoints,
                              draw_pose=mods["dwpose.dwpose"].draw_pose,
                              AspectPreserveResize=mods["preprocessing.transforms"].AspectPreserveResize,
                              ResizePad=mods["preprocessing.transforms"].ResizePad)
    finally:
        for name in [n for n in sys.modules if n.startswith("fashn_vton.")]:
            del sys.modules[name]
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def reference_model(ref, model: FashnMMDiT, size: tuple[int, int]):
    """The oracle's TryOnModel with our model's architecture and the very same tensors."""
    c = model.config
    with torch.device("meta"):
        out = ref.TryOnModel(input_shape=size, hidden_size=c.hidden_size, n_heads=c.num_heads,
                             double_blocks_depth=c.double_blocks_depth, single_blocks_depth=c.single_blocks_depth,
                             mlp_ratio=c.mlp_ratio, channels_in=c.channels, patch_size=c.patch_size, theta=c.theta,
                             axes_dim=model.rotary_axes, qkv_bias=c.qkv_bias, guidance_embed=c.guidance_embed,
                             n_classes=c.n_classes, use_patch_mixer=c.patch_mixer_depth > 0,
                             patch_mixer_depth=c.patch_mixer_depth)
    out.load_state_dict(model.state_dict(), strict=True, assign=True)
    return out.eval()


def inputs(batch: int, size: tuple[int, int], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    h, w = size
    image = lambda c: torch.rand(batch, c, h, w, generator=g) * 2 - 1  # noqa: E731
    return dict(ca_images=image(3), garment_images=image(3), person_poses=image(1), garment_poses=image(1),
                categories=torch.randint(1, 4, (batch,), generator=g))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of pictures in [-1, 1] (peak-to-peak 2)."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * np.log10(4.0 / mse)


@pytest.fixture(scope="module")
def tiny():
    return random_model("tiny", seed=3)


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    return write_random_fashn(tmp_path_factory.mktemp("fashn"), "tiny", seed=5)


# -- (a) the forward pass -----------------------------------------------------------------------

def _compare_forward(ref, model, size, batch, keep):
    reference = reference_model(ref, model, size)
    x = inputs(batch, size, seed=11)
    noisy = torch.randn(batch, model.config.channels, *size, generator=torch.Generator().manual_seed(12))
    t = torch.rand(batch, generator=torch.Generator().manual_seed(13))
    with torch.no_grad():
        ours = model(noisy, t, **x, keep=keep)
        theirs = reference(noisy, t, x["ca_images"], x["garment_images"], x["person_poses"], x["garment_poses"],
                           mask=keep, garment_categories=x["categories"])["x"]
    assert ours.shape == theirs.shape == noisy.shape
    assert theirs.std() > 0.3  # a real output, not a near-constant
    return (ours - theirs).abs().max().item()


@pytest.mark.parametrize("keep", [None, [True, False, True]], ids=["all-kept", "cfg-mask"])
@pytest.mark.parametrize("size", [(96, 72), (48, 120)])
def test_forward_matches_reference_tiny(ref, tiny, size, keep):
    keep = None if keep is None else torch.tensor(keep)
    assert _compare_forward(ref, tiny, size, 3, keep) <= 1e-4


def test_full_published_architecture_holds_the_references_tensors(ref):
    """At full size (972M parameters) our model and the reference hold the same tensors by name and
    shape (built on the meta device: no memory, no time). The numbers are compared at tiny size above,
    and at full size by benchmarks/fashn_speed.py on a GPU (26 s of this suite's 2 CPU cores before)."""
    with torch.device("meta"):
        model = FashnMMDiT(**SCALES["full"])
    assert config_from_state_dict(model.state_dict()) == PUBLISHED
    theirs = reference_model(ref, model, (96, 72))  # a strict load: any name or shape apart raises
    assert {k: v.shape for k, v in theirs.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_dropped_condition_is_what_the_unguided_branch_sees(tiny):
    """keep=False is the model with zero images and poses and category 0, independent of the batch."""
    size = (96, 72)
    x = inputs(2, size)
    noisy = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(4))
    t = torch.tensor([0.3, 0.3])
    with torch.no_grad():
        masked = tiny(noisy, t, **x, keep=torch.tensor([True, False]))
        zeros = {k: torch.zeros_like(v) for k, v in x.items()}
        alone = tiny(noisy[1:], t[1:], **{k: v[1:] for k, v in zeros.items()})
        cond = tiny(noisy[:1], t[:1], **{k: v[:1] for k, v in x.items()})
    torch.testing.assert_close(masked[1:], alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(masked[:1], cond, atol=1e-5, rtol=0)
    assert (masked[0] - masked[1]).abs().max() > 1e-2


# -- (b) the sampler ---------------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 5, 30])
def test_schedule_matches_reference(ref, steps):
    scheduler = make_scheduler()
    set_schedule(scheduler, steps)
    published = torch.tensor(ref.get_rf_schedule(num_steps=steps, mu=1.5))
    assert len(scheduler.sigmas) == steps + 1 and scheduler.sigmas[-1] == 0
    torch.testing.assert_close(1 - scheduler.sigmas, published, atol=1e-6, rtol=0)


@pytest.mark.parametrize("skip", [1, 2])
def test_sampling_matches_reference(ref, tiny, monkeypatch, skip):
    size, steps, batch = (96, 72), 5, 2
    x = inputs(batch, size, seed=21)
    noise = torch.randn(batch, 3, *size, generator=torch.Generator().manual_seed(22))
    ours = FashnPipeline(tiny)(**x, steps=steps, guidance=1.5, skip_cfg_last_n_steps=skip, noise=noise)

    stand_in = SimpleNamespace(tryon_model=reference_model(ref, tiny, size))
    monkeypatch.setattr(torch, "randn", lambda *args, **kwargs: noise.clone())  # its noise draw gets our noise
    images = ref.TryOnPipeline._sample(
        stand_in, ca_images=x["ca_images"], garment_images=x["garment_images"], person_poses=x["person_poses"],
        garment_poses=x["garment_poses"], garment_categories=x["categories"], num_timesteps=steps,
        guidance_scale=1.5, skip_cfg_last_n_steps=skip, use_tqdm=False)
    monkeypatch.undo()
    theirs = torch.stack(images) * 2 - 1  # its pictures are the [0, 1] tensors (to_pil_image is the identity)
    assert ours.shape == theirs.shape
    assert ours.std() > 0.3
    assert psnr(ours, theirs) >= 60


@pytest.mark.parametrize("guidance,skip,expected", [(1.5, 1, [4, 4, 4, 4, 2]), (1.5, 0, [4] * 5),
                                                     (2.0, 2, [4, 4, 4, 2, 2]), (1.0, 1, [2] * 5),
                                                     (0.5, 1, [4, 4, 4, 4, 2])])
def test_unguided_branch_runs_only_where_used(tiny, guidance, skip, expected):
    batches = []
    hook = tiny.register_forward_hook(lambda module, args, kwargs, out: batches.append(out.shape[0]), with_kwargs=True)
    try:
        FashnPipeline(tiny)(**inputs(2, (48, 36)), steps=5, guidance=guidance, skip_cfg_last_n_steps=skip,
                            generator=torch.Generator().manual_seed(0))
    finally:
        hook.remove()
    assert batches == expected


# -- (c) the pose image --------------------------------------------------------------------------------

def random_pose(seed: int) -> PoseKeypoints:
    """A detector-like pose: float32, some points missing, a few just outside the picture."""
    rng = np.random.default_rng(seed)
    body = rng.uniform(-0.05, 1.05, (18, 2)).astype(np.float32)
    body[rng.random(18) < 0.25] = -1
    hands = [rng.uniform(-0.05, 1.0, (21, 2)).astype(np.float32) for _ in range(2)]
    hands[0][rng.random(21) < 0.3] = -1
    faces = [rng.uniform(0.0, 1.0, (68, 2)).astype(np.float32)]
    faces[0][:5] = -1
    return PoseKeypoints(body, hands, faces)


def reference_pose(pose: PoseKeypoints) -> dict:
    present = ~np.all(pose.body == -1, axis=1)
    out = {"bodies": {"candidate": pose.body, "subset": np.where(present, np.arange(18), -1)[None].astype(float)}}
    if pose.hands is not None:
        out["hands"] = pose.hands
    if pose.faces is not None:
        out["faces"] = pose.faces
    return out


@pytest.mark.parametrize("seed", range(12))
def test_pose_image_matches_reference(ref, seed):
    pose = random_pose(seed)
    if seed % 3 == 1:
        pose.hands = None
    if seed % 4 == 2:
        pose.faces = None
    height, width = (1001, 667) if seed % 2 else (517, 389)
    ours = draw_pose_image(pose, height, width)
    theirs = ref.draw_pose(reference_pose(pose), height, width, grayscale=True)
    assert ours.dtype == np.uint8 and ours.shape == (height, width)
    assert len(np.unique(ours)) > 8  # limbs, joints, hands, faces: many grey levels
    assert np.array_equal(ours, theirs)


def test_flat_lay_pose_is_the_reference_dummy(ref):
    ours = draw_pose_image(empty_pose(), 864, 576)
    theirs = ref.draw_pose(ref.get_dummy_dw_keypoints(), 864, 576, grayscale=True)
    assert np.array_equal(ours, theirs) and not ours.any()


# -- (d) geometry -----------------------------------------------------------------------------------------

def random_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus noise: interpolation differences show."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(1001, 757), (2001, 599), (301, 203), (203, 441), (700, 301), (864, 576)])
def test_geometry_matches_reference(ref, size):
    photo = random_photo(*size)
    ours = geometry.pre_resize(photo)
    theirs = np.asarray(ref.AspectPreserveResize((864, 864), mode="fit", backend="pil")(
        Image.fromarray(photo), allow_upsampling=False))
    assert np.array_equal(ours, theirs)

    resize_pad = ref.ResizePad((576, 864), backend="opencv")
    padded, padding = geometry.resize_pad(ours)
    assert padded.shape == (864, 576, 3)
    assert np.array_equal(padded, resize_pad(theirs, mem_padding=True))
    assert (padding.left, padding.top, padding.right, padding.bottom) == resize_pad.pad_fn.padding_mem
    assert np.array_equal(geometry.unpad(padded, padding), resize_pad.unpad(padded))

    pose = draw_pose_image(random_pose(1), *ours.shape[:2])
    pose_padded, _ = geometry.resize_pad(pose, interpolation=geometry.POSE_INTERPOLATION)
    assert np.array_equal(pose_padded, resize_pad(pose, interpolation=cv2.INTER_NEAREST_EXACT))


@pytest.mark.parametrize("size", [(301, 203), (1001, 757), (333, 999), (700, 301)])
def test_unpad_restores_the_fitted_size(size):
    photo = random_photo(*size)
    padded, padding = geometry.resize_pad(photo)
    inner = geometry.unpad(padded, padding)
    scale = min(576 / size[1], 864 / size[0])
    assert inner.shape[:2] == (int(scale * size[0]), int(scale * size[1]))
    assert max(padding.left, padding.top) > 0
    assert padded[:padding.top].max(initial=0) == 0 and padded[:, :padding.left].max(initial=0) == 0


# -- (e) loading ----------------------------------------------------------------------------------------------

def meta_state(**config) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        return FashnMMDiT(**config).state_dict()


def test_config_inferred_from_published_layout():
    assert config_from_state_dict(meta_state()) == PUBLISHED
    assert config_from_state_dict(meta_state(), axes_dim=(32, 48, 48))["axes_dim"] == (32, 48, 48)


def test_config_inferred_from_the_reference_layout(ref):
    with torch.device("meta"):
        published = ref.TryOnModel().state_dict()
        reference_tiny = ref.TryOnModel(hidden_size=64, n_heads=2, double_blocks_depth=2, single_blocks_depth=2,
                                        patch_mixer_depth=1, axes_dim=(4, 14, 14))
    assert config_from_state_dict(published) == PUBLISHED
    assert {k: v.shape for k, v in published.items()} == {k: v.shape for k, v in meta_state().items()}
    assert config_from_state_dict(reference_tiny.state_dict())["hidden_size"] == 64


def test_tiny_file_round_trip(tiny_file):
    config = config_from_state_dict(load_file(str(tiny_file)))
    assert config == dict(PUBLISHED, **SCALES["tiny"], axes_dim=(4, 14, 14))
    model = load_fashn_model(tiny_file)
    assert model.dtype == torch.float32
    for name, tensor in load_file(str(tiny_file)).items():
        assert torch.equal(model.state_dict()[name], tensor.float()), name


@pytest.mark.parametrize("change,key", [
    ("drop", "single_blocks.1.linear2.bias"),
    ("drop", "single_blocks.0."),
    ("drop", "double_blocks.0.img_attn.qkv.bias"),
    ("add", "double_blocks.0.img_attn.extra.weight"),
    ("reshape", "double_blocks.1.txt_mlp.0.weight"),
    ("reshape", "y_embedder.weight"),
])
def test_bad_layout_names_the_key(tiny_file, tmp_path, change, key):
    tensors = load_file(str(tiny_file))
    if change == "drop":
        for name in [k for k in tensors if k.startswith(key)]:
            del tensors[name]
    elif change == "add":
        tensors[key] = torch.zeros(2, 2)
    else:
        tensors[key] = torch.zeros(tensors[key].shape[0], tensors[key].shape[1] + 1)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError) as info:
        load_fashn_model(tmp_path / "model.safetensors")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path) in message
    assert key in message
    if key == "single_blocks.0.":  # a whole block: the first few keys and how many
        assert "8 missing" in message and "and 4 more" in message


def test_unreadable_files_are_weights_errors(tiny_file, tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all" * 10)
    header_cut, data_cut = tmp_path / "header_cut.safetensors", tmp_path / "data_cut.safetensors"
    header_cut.write_bytes(tiny_file.read_bytes()[:5000])
    data_cut.write_bytes(tiny_file.read_bytes()[:-1000])
    for path in (garbage, header_cut, data_cut, tmp_path / "absent.safetensors"):
        with pytest.raises(WeightsError, match=path.name):
            load_fashn_model(path)
    with pytest.raises(WeightsError, match="model.safetensors"):
        FashnPipeline.from_pretrained(tmp_path)


# -- (f) seeds and batches --------------------------------------------------------------------------------------

def test_seed_and_batch_independence(tiny_file):
    pipe = FashnPipeline.from_pretrained(tiny_file.parent, device="cpu")
    assert pipe.dtype == torch.float32
    x = inputs(2, (96, 72), seed=31)
    run = lambda seeds, **kw: pipe(**{k: v[:len(seeds)] for k, v in (x | kw).items()}, steps=4,  # noqa: E731
                                   generator=[torch.Generator().manual_seed(s) for s in seeds])
    a = run([1])
    assert torch.equal(a, run([1]))
    assert psnr(a, run([2])) < 20
    both = run([1, 2])
    assert psnr(both[:1], a) >= 80  # the same picture alone and beside another
    other = run([1], garment_images=torch.rand(2, 3, 96, 72) * 2 - 1)
    assert psnr(a, other) < 40  # the garment matters
