"""The evaluation protocol's metrics against their reference implementations, and their behaviour on photos.

References: clean-fid 0.1.35 (FID, KID and its resize; its functions are compiled from the installed
package's source, because importing ``cleanfid.fid`` needs torchvision, whose compiled operators
need a CUDA build of torch), the ``lpips`` package (with our backbones standing in for
torchvision's, so that its own arithmetic and heads are what is compared), pytorch-msssim and
scikit-image.
"""

from __future__ import annotations

import ast
import io
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import linalg
from scipy.ndimage import gaussian_filter

from tryon.errors import ModelUnavailableError
from tryon.imageio import load_image
from tryon.metrics import distribution, fidelity, perceptual
from tryon.metrics.image import ms_ssim
from tryon.metrics.protocol import differences


@pytest.fixture(scope="module")
def cleanfid_reference() -> dict:
    """clean-fid's ``frechet_distance`` and ``kernel_distance``, compiled from its installed source."""
    cleanfid = pytest.importorskip("cleanfid")
    tree = ast.parse((Path(cleanfid.__file__).parent / "fid.py").read_text())
    namespace = {"np": np, "linalg": linalg}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("frechet_distance", "kernel_distance"):
            exec(compile(ast.Module([node], []), "cleanfid/fid.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("sizes", [(12, 9), (150, 150)])  # fewer images than dimensions, and more
def test_fid_and_kid_match_clean_fid(cleanfid_reference, sizes):
    rng = np.random.default_rng(1)
    dims = 64  # the formulas do not depend on the dimension; 2,048 would cost scipy's sqrtm 25 s
    a = rng.normal(size=(sizes[0], dims))
    b = rng.normal(size=(sizes[1], dims)) * 1.2 + 0.1
    ref = cleanfid_reference["frechet_distance"](a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert distribution.frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)
    m = min(sizes)
    # Subsets as large as the smaller set: clean-fid samples them with numpy's global generator, so
    # compare on equal-size sets, where every subset is the whole set and KID is exact.
    a, b = a[:m], b[:m]
    assert distribution.kernel_distance(a, b).mean / 1000 == pytest.approx(
        cleanfid_reference["kernel_distance"](a, b, num_subsets=3), rel=1e-9)


def test_resize_matches_clean_fid():
    resize = pytest.importorskip("cleanfid.resize")
    from tryon.metrics.inception import clean_resize

    image = np.random.default_rng(2).integers(0, 256, (410, 300, 3), dtype=np.uint8)
    np.testing.assert_array_equal(clean_resize(image), resize.make_resizer("PIL", False, "bicubic", (299, 299))(image))


def test_ms_ssim_matches_pytorch_msssim():
    torch = pytest.importorskip("torch")
    reference = pytest.importorskip("pytorch_msssim")
    rng = np.random.default_rng(3)
    for shape in ((256, 192, 3), (251, 187, 3)):  # odd sides: pytorch-msssim pads before pooling
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = np.clip(a.astype(int) + rng.integers(-40, 40, shape), 0, 255).astype(np.uint8)

        def tensor(x):
            return torch.from_numpy(x).permute(2, 0, 1)[None].double() / 255

        # 1e-6: pytorch-msssim builds its Gaussian window in float32
        assert ms_ssim(a, b) == pytest.approx(float(reference.ms_ssim(tensor(a), tensor(b), data_range=1.0)), abs=1e-6)


def test_ciede2000_matches_scikit_image():
    from skimage.color import deltaE_ciede2000

    rng = np.random.default_rng(4)
    a = rng.uniform([0, -90, -90], [100, 90, 90], (500, 3))
    b = rng.uniform([0, -90, -90], [100, 90, 90], (500, 3))
    np.testing.assert_allclose(fidelity.ciede2000(a, b), deltaE_ciede2000(a, b), atol=1e-9)
    grey = np.array([[50.0, 0.0, 0.0]])
    assert fidelity.ciede2000(grey, grey)[0] == 0.0


# --- LPIPS ------------------------------------------------------------------------------------------

def _torchvision_layout(tmp_path: Path, net: str, seed: int = 0) -> Path:
    """Random weights saved as torchvision's published state dict file (features.* and classifier.*)."""
    import torch

    spec = perceptual.BACKBONES[net]
    torch.manual_seed(seed)
    features = perceptual._build_features(spec)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(10, 4)  # the classifier is not used, and is ignored
    folder = tmp_path / net
    folder.mkdir()
    torch.save(state, folder / spec.file)
    return folder


@pytest.fixture()
def lpips_reference(monkeypatch):
    """The ``lpips`` package, its torchvision backbones replaced by ours (same layers, same key names)."""
    pytest.importorskip("torch")
    stub = types.ModuleType("torchvision")
    stub.models = types.SimpleNamespace(**{
        b.torchvision: (lambda spec: (lambda **_: types.SimpleNamespace(features=perceptual._build_features(spec))))(b)
        for b in perceptual.BACKBONES.values()})
    monkeypatch.setitem(sys.modules, "torchvision", stub)
    for name in [m for m in sys.modules if m == "lpips" or m.startswith("lpips.")]:
        monkeypatch.delitem(sys.modules, name)
    return pytest.importorskip("lpips")


@pytest.mark.parametrize("net", ["alex", "squeeze", "vgg"])
def test_lpips_matches_the_lpips_package(tmp_path, lpips_reference, net):
    import torch

    folder = _torchvision_layout(tmp_path, net)
    ours = perceptual.LPIPS(net, str(folder), device="cpu")
    ref = lpips_reference.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False).eval()
    state = torch.load(folder / perceptual.BACKBONES[net].file, weights_only=True)
    ref.net.load_state_dict({k: state["features." + k.split(".", 1)[1]] for k in ref.net.state_dict()})
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (96, 72, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-50, 50, a.shape), 0, 255).astype(np.uint8)

    def tensor(x):
        return torch.from_numpy(x).permute(2, 0, 1)[None].float() / 127.5 - 1

    with torch.no_grad():
        expected = float(ref(tensor(a), tensor(b)))
    assert ours(a, b) == pytest.approx(expected, rel=1e-5)
    assert ours(a, a) == 0.0
    assert ours.provenance["net"] == net and len(ours.provenance["backbone_sha256"]) == 64


def test_lpips_backbone_by_hub_id_and_bad_files(tmp_path, monkeypatch):
    """A hub id resolves through huggingface_hub's cache (offline here); wrong files are one clear line."""
    pytest.importorskip("torch")
    folder = _torchvision_layout(tmp_path, "squeeze")
    snapshot = tmp_path / "hf" / "hub" / "models--someone--squeezenet" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "squeezenet1_1-b8a52dc0.pth").write_bytes((folder / "squeezenet1_1-b8a52dc0.pth").read_bytes())
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from huggingface_hub import constants  # read once at import: an earlier test may have imported it

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    image = np.random.default_rng(6).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    by_id = perceptual.LPIPS("squeeze", "someone/squeezenet", device="cpu")
    by_folder = perceptual.LPIPS("squeeze", str(folder), device="cpu")
    assert by_id(image, image[::-1].copy()) == pytest.approx(by_folder(image, image[::-1].copy()))
    with pytest.raises(ModelUnavailableError, match="not torchvision's alexnet"):
        perceptual.LPIPS("alex", str(folder / "squeezenet1_1-b8a52dc0.pth"))
    with pytest.raises(ModelUnavailableError, match="hub id"):
        perceptual.LPIPS("alex", "nobody/nothing")
    with pytest.raises(ModelUnavailableError, match="use one of"):
        perceptual.LPIPS("resnet", str(folder))


# --- FID and KID on photos --------------------------------------------------------------------------

def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(image.astype(np.float32), (sigma, sigma, 0)).round().clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photo_features(evalset) -> dict[str, np.ndarray]:
    """FID features of 16 evalset persons as they are, and of the first 8 degraded three ways."""
    from tryon.metrics.inception import DIMS, InceptionFeatures

    net = InceptionFeatures(device="cpu")
    photos = [load_image(e.path) for e in evalset.of_kind("person")[:16]]
    first = photos[:8]
    sets = {"all": photos, "jpeg": [_jpeg(p, 75) for p in first], "blur2": [_blur(p, 2) for p in first],
            "blur5": [_blur(p, 5) for p in first]}
    features = {name: net(images) for name, images in sets.items()}
    features["same"] = features["all"][:8]
    assert features["all"].shape == (16, DIMS)
    return features


def test_fid_orders_degradations(photo_features):
    f = photo_features
    fid = {name: distribution.frechet_distance(f[name], f["same"]) for name in ("same", "jpeg", "blur2", "blur5")}
    assert abs(fid["same"]) < 1e-6
    assert 0 < fid["jpeg"] < fid["blur2"] < fid["blur5"], fid
    kid = {name: distribution.kernel_distance(f[name], f["same"]).mean for name in ("jpeg", "blur2", "blur5")}
    assert kid["jpeg"] < kid["blur2"] < kid["blur5"], kid


def test_kid_of_two_halves_straddles_zero(photo_features):
    """Two halves of one set come from one distribution: the unbiased KID is zero within its spread
    over random subsets, while FID, biased at this size, keeps the halves far apart."""
    every = photo_features["all"]
    kid = distribution.kernel_distance(every[::2], every[1::2], subset_size=6)
    assert kid.std > 0 and kid.mean - 2 * kid.std < 0 < kid.mean + 2 * kid.std, kid
    assert distribution.frechet_distance(every[::2], every[1::2]) > 0
    assert distribution.small_set_warning(6) and distribution.small_set_warning(5000) is None


def test_inception_features_are_the_graphs_own_and_take_smaller_inputs():
    """At 299 px the features are the graph's (its own 8 x 8 pool, run on the file as it is); 224 px
    (the catalog's) gives other features of the same size, and a pre-resized input the same ones
    (how well they rank garments: benchmarks/catalog_search.py)."""
    torch = pytest.importorskip("torch")
    from tryon import assets
    from tryon.metrics.inception import MODEL_FILE, OFFSET, SCALE, InceptionFeatures, clean_resize

    ramp = np.linspace(0, 255, 90 * 70 * 3).reshape(90, 70, 3)
    images = [ramp.astype(np.uint8), (255 - ramp).astype(np.uint8)[:, ::-1].copy()]
    graph = torch.jit.load(str(assets.fetch(MODEL_FILE)), map_location="cpu").eval()
    with torch.inference_mode():
        x = torch.from_numpy(np.stack([clean_resize(im) for im in images])).permute(0, 3, 1, 2)
        reference = graph((x - OFFSET) * SCALE).double().numpy()
    ours = InceptionFeatures(device="cpu")(images)
    np.testing.assert_allclose(ours, reference, atol=1e-4 * np.abs(reference).max())
    small = InceptionFeatures(device="cpu", side=224)
    at_224 = small(images)
    np.testing.assert_array_equal(small([clean_resize(im, 224) for im in images]), at_224)
    assert at_224.shape == ours.shape and not np.allclose(at_224, ours)


def test_fid_network_is_the_tensorflow_graph_layout():
    """The file's structure is NVIDIA's conversion of the TF inception-2015-12-05 graph (see inception.py)."""
    torch = pytest.importorskip("torch")
    from tryon import assets
    from tryon.metrics.inception import MODEL_FILE

    net = torch.jit.load(str(assets.fetch(MODEL_FILE)), map_location="cpu")
    names = {n for n, _ in net.named_modules()}
    assert {"net.layers.conv", "net.layers.conv_4", "net.layers.mixed_10.tower_2_conv", "net.layers.pool2"} <= names
    state = net.state_dict()
    assert "net.layers.conv.beta" in state and "net.layers.conv.gamma" not in state  # TF batch norm: no scale


# --- Garment fidelity --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def worn(evalset, person_analyzer, garment_analyzer):
    """A ground-truth pair: the product photo, and the person wearing it with the garment's region."""
    pid, person, garment, _ = next(p for p in evalset.masked_pairs() if p[0] == "00055_00")
    analysis = person_analyzer.analyze(load_image(person.path))
    product = garment_analyzer.analyze(load_image(garment.path))
    return product, analysis.image, fidelity.garment_region(analysis.parse, product.category)


def test_colour_shift_costs_about_the_shift(worn):
    import cv2

    product, photo, region = worn
    base = fidelity.garment_fidelity(product.image, product.mask, photo, region)
    lab = fidelity.to_lab(photo)
    shifted_lab = lab.copy()
    shifted_lab[..., 1] += np.where(region, 10.0, 0.0)  # redder garment, nothing else
    shifted = (np.clip(cv2.cvtColor(shifted_lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1) * 255).round()
    shifted = shifted.astype(np.uint8)
    expected = float(fidelity.ciede2000(lab[region], fidelity.to_lab(shifted)[region]).mean())
    worse = fidelity.garment_fidelity(product.image, product.mask, shifted, region)
    assert 0.5 * expected < worse.delta_e - base.delta_e < 1.5 * expected, (base.delta_e, worse.delta_e, expected)


def test_a_blurred_print_is_not_kept(worn):
    product, photo, region = worn
    base = fidelity.garment_fidelity(product.image, product.mask, photo, region)
    blurred = photo.copy()
    blurred[region] = _blur(photo, 6)[region]
    lost = fidelity.garment_fidelity(product.image, product.mask, blurred, region)
    assert base.print_kept is not None and base.product_features >= fidelity.FidelityParams().min_features
    assert lost.print_kept < 0.5 * base.print_kept, (base.print_kept, lost.print_kept)


def test_protocol_differences_name_what_differs():
    a = {"setting": "paired", "resolution": [768, 1024], "reference": {"digest": "x"}, "fid": {"sha256": "s"}}
    assert differences(a, a) == []
    b = {**a, "resolution": [384, 512], "reference": {"digest": "y"}}
    found = differences(a, b)
    assert len(found) == 2 and found[0].startswith("resolution") and found[1].startswith("reference.digest")


def test_vitonhd_test_folder_pairs_paired_and_unpaired(tmp_path):
    """The VITON-HD layout as --gt: paired is each person with its own id's garment, unpaired as
    test_pairs.txt says; the image/ folder given itself finds the same set."""
    from tryon.data.testsets import find_test_set

    for name in ("test/image/a.jpg", "test/image/b.jpg", "test/cloth/a.jpg", "test/cloth/b.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "test_pairs.txt").write_text("a.jpg b.jpg\nb.jpg a.jpg\n")
    paired = find_test_set(tmp_path, "paired")
    assert paired.layout == "vitonhd" and [(t.person_id, t.garment_id) for t in paired.pairs] == [("a", "a"), ("b", "b")]
    unpaired = find_test_set(tmp_path / "test" / "image", "unpaired")
    assert [(t.person_id, t.garment.name) for t in unpaired.pairs] == [("a", "b.jpg"), ("b", "a.jpg")]
    assert find_test_set(tmp_path / "test" / "cloth", "paired") is None  # a plain folder of photos
