"""The evaluation report page (tryon.metrics.report): links stay inside its folder, the worst cases
are the worst, text is escaped, and the page renders and sorts in real headless Chromium.

The Chromium test needs Debian's ``chromium``; without it it skips with a reason, except under
CI=true, where it fails.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chromium import CHROMIUM_ARGS, chromium_path
from tryon.imageio import save_image
from tryon.metrics.image import psnr, ssim
from tryon.metrics.report import HIGHER_IS_BETTER, colourise, error_map, worst_rows, write_report

#: Noise (standard deviation, grey levels) of each synthetic result, in row order: not sorted, so
#: neither the table's first order nor the worst-case order can be right by accident.
NOISE = (10, 45, 3, 25, 70, 15)
EVIL_ID = 'x<script>alert("id")</script>'
WORST = 3


def _photo(rng: np.random.Generator, h: int = 128, w: int = 96) -> np.ndarray:
    """A smooth synthetic photo: colour gradients and a bright block, so SSIM reacts to noise."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w) + rng.uniform(0, 100)], axis=-1)
    top, left = rng.integers(10, 50, size=2)
    base[top:top + 40, left:left + 30] = rng.uniform(150, 255, size=3)
    return base.astype(np.uint8)


def _folders(root: Path) -> tuple[Path, Path, Path, list[dict]]:
    """Truth, result and garment folders and per-image rows with real SSIM/PSNR; one result is
    twice the truth's size (the error map must resize it), one is missing, one is not an image."""
    rng = np.random.default_rng(0)
    gt_dir, pred_dir, garment_dir = root / "gt", root / "pred", root / "garment"
    rows = []
    for i, sigma in enumerate(NOISE):
        truth = _photo(rng)
        pred = np.clip(truth + rng.normal(0, sigma, truth.shape), 0, 255).astype(np.uint8)
        save_image(truth, gt_dir / f"p{i}.png")
        save_image(rng.integers(0, 255, (128, 96, 3), dtype=np.uint8), garment_dir / f"c{i}.jpg")
        big = np.asarray(Image.fromarray(pred).resize((192, 256), Image.NEAREST)) if i == 0 else pred
        save_image(big, pred_dir / f"p{i}.png")
        rows.append({"id": EVIL_ID if i == 5 else f"p{i}", "pred": f"p{i}.png", "gt": f"p{i}.png",
                     "garment": f"c{i}.jpg", "category": "dress" if i % 2 else "upper",
                     "source": "studio", "ssim": ssim(pred, truth), "psnr": psnr(pred, truth), "edge_f1": 0.5})
    (pred_dir / "broken.png").write_bytes(b"not an image at all")
    save_image(_photo(rng), gt_dir / "ghost.png")
    save_image(_photo(rng), gt_dir / "broken.png")
    for name in ("ghost", "broken"):
        rows.append({"id": name, "pred": f"{name}.png", "gt": f"{name}.png", "garment": None,
                     "category": "upper", "source": "in-the-wild", "ssim": None, "psnr": None, "edge_f1": None})
    return gt_dir, pred_dir, garment_dir, rows


def _result(rows: list[dict], paired: bool) -> dict:
    return {
        "protocol": {"setting": "paired" if paired else "unpaired", "resolution": [768, 1024],
                     "reference": {"folder": "/data/<gt>", "count": 6, "digest": "ab12"},
                     "fid": {"network": "inception-v3", "resize": "PIL bicubic, float"},
                     "repaint": False, "engine": "warp", "versions": {"tryon": "0.1.0", "torch": "2.13.0"}},
        "summary": {"count": 6, "missing": ["ghost", "broken"],
                    "warnings": ["FID on 6 images means little; read KID <b>"],
                    "ssim": 0.71, "psnr": 24.2, "fid": 80.5, "kid_x1000": 12.3, "kid_x1000_std": 1.5,
                    "lpips": None, "edge_f1": 0.5},
        "strata": {"category": {"upper": {"count": 3, "ssim": 0.8}, "dress": {"count": 3, "ssim": 0.6}},
                   "source": {}},
        "per_image": rows,
    }


class _Page(HTMLParser):
    """Every link of the page, and the ids and images of the worst cases in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.cases: list[str] = []
        self.case_images: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and "case" in (a.get("class") or "").split():
            self.cases.append(a["data-id"])
            self.case_images[a["data-id"]] = []
        if tag == "img":
            self.links.append(a["src"])
            if self.cases:
                self.case_images[self.cases[-1]].append(a["src"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("paired")
    gt_dir, pred_dir, garment_dir, rows = _folders(root)
    return write_report(_result(rows, True), root / "report", pred_dir, gt_dir, garment_dir, worst=WORST), rows


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unpaired")
    _, pred_dir, garment_dir, rows = _folders(root)
    rows = [{**row, "gt": None} for row in rows]
    return write_report(_result(rows, False), root / "report", pred_dir, garment_dir=garment_dir, worst=WORST)


@pytest.mark.parametrize("variant", ["paired", "unpaired"])
def test_every_link_is_a_file_inside_the_report(variant, request):
    index = request.getfixturevalue(variant)
    index = index[0] if isinstance(index, tuple) else index
    assert index.name == "index.html" and index.is_file()
    root = index.parent.resolve()
    links = _parse(index).links
    assert len(links) >= len(NOISE) + WORST  # a thumbnail per readable result, plus the worst cases
    for link in links:
        assert not link.startswith(("/", "data:", "http:", "https:", "file:")), link
        target = (root / link).resolve()
        assert target.is_relative_to(root) and target.is_file(), link
    text = index.read_text(encoding="utf-8")
    assert '<span class="thumb placeholder" title="missing">missing</span>' in text
    assert "unreadable" in text


def test_worst_cases_are_the_lowest_ssim_with_brighter_error_maps_for_noisier_results(paired):
    index, rows = paired
    page = _parse(index)
    scored = sorted((r for r in rows if r["ssim"] is not None), key=lambda r: r["ssim"])
    assert page.cases == [r["id"] for r in scored[:WORST]]
    assert page.cases[0] == "p4"  # the noisiest result (sigma 70)
    brightness = []
    for case in page.cases:
        truth, result, error = page.case_images[case]
        assert "truth" in truth and "result" in result and error.endswith("-error.png")
        brightness.append(np.asarray(Image.open(index.parent / error).convert("L"), dtype=float).mean())
    assert brightness == sorted(brightness, reverse=True) and brightness[0] > brightness[-1] + 20, brightness


def test_unpaired_cases_show_garment_and_result(unpaired):
    page = _parse(unpaired)
    assert len(page.cases) == WORST
    for case in page.cases:
        garment, result = page.case_images[case]
        assert "garment" in garment and "result" in result
    assert "error map" not in unpaired.read_text(encoding="utf-8")


def test_scores_protocol_warnings_and_groups_read_as_text(paired):
    text = paired[0].read_text(encoding="utf-8")
    assert 'data-key="ssim"><th scope="row">SSIM <span class="better" title="higher is better">↑' in text
    assert 'data-key="fid"><th scope="row">FID <span class="better" title="lower is better">↓' in text
    assert "12.3 ± 1.5" in text and 'data-key="kid_x1000_std"' not in text
    assert 'data-key="lpips"><th scope="row">LPIPS' in text and ">n/a<" in text
    assert 'data-key="edge_f1"' in text  # a metric the report does not know still shows
    assert "FID on 6 images means little; read KID &lt;b&gt;" in text
    assert "<dt>fid.resize</dt><dd>PIL bicubic, float</dd>" in text and "<dd>768, 1024</dd>" in text
    assert "<dt>reference.folder</dt><dd>/data/&lt;gt&gt;</dd>" in text and "<dd>no</dd>" in text
    assert "<h3>By category</h3>" in text and "<h3>By source</h3>" not in text
    assert set(HIGHER_IS_BETTER) >= {"ssim", "psnr", "ms_ssim", "print_kept", "lpips", "fid", "kid_x1000", "delta_e"}


def test_ids_are_escaped(paired):
    text = paired[0].read_text(encoding="utf-8")
    assert '<script>alert("id")' not in text
    assert "x&lt;script&gt;alert(&quot;id&quot;)&lt;/script&gt;" in text


def test_error_map_is_black_where_equal_and_follows_the_colour_ramp():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (200, 100, 3), dtype=np.uint8)
    assert not error_map(image, image).any()
    assert error_map(image, image).shape == (160, 80, 3)
    ramp = colourise(np.linspace(0, 1, 11)).astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(ramp) > 0)  # brightness rises with the error


def test_page_renders_and_sorts_in_chromium(paired, tmp_path):
    from playwright.sync_api import sync_playwright

    index, rows = paired
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})  # a phone
            requests, errors = [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))  # an unescaped id
            page.goto(index.as_uri(), wait_until="load")
            images = page.eval_on_selector_all("img", "els => els.map(i => [i.getAttribute('src'), i.naturalWidth])")
            assert len(images) == len(NOISE) + WORST * 3  # table thumbnails; truth, result, error per case
            assert all(width > 0 for _, width in images), images
            assert page.evaluate("document.documentElement.scrollWidth") <= 375  # tables scroll, not the page
            shot = tmp_path / "page.png"
            page.screenshot(path=str(shot), full_page=True)
            pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
            assert pixels.shape[0] > 800 and pixels.std() > 20

            def column() -> tuple[list[str], list[str]]:
                ids = page.eval_on_selector_all("#per-image tbody tr", "rs => rs.map(r => r.dataset.id)")
                cells = page.eval_on_selector_all("#per-image tbody tr", "rs => rs.map(r => r.cells[4].dataset.value)")
                return ids, cells

            assert page.inner_text("#per-image thead th:nth-child(5) button") == "SSIM"
            ids, _ = column()
            assert ids == [r["id"] for r in rows]
            scored = sorted((r for r in rows if r["ssim"] is not None), key=lambda r: r["ssim"])
            unscored = [r["id"] for r in rows if r["ssim"] is None]
            page.click("#per-image th[data-key=ssim] button")
            ids, cells = column()
            assert ids == [r["id"] for r in scored] + unscored
            assert [float(c) for c in cells if c] == sorted(r["ssim"] for r in scored) and cells[-2:] == ["", ""]
            page.click("#per-image th[data-key=ssim] button")
            ids, _ = column()
            assert ids == [r["id"] for r in reversed(scored)] + unscored
            assert errors == [] and all(url.startswith("file://") for url in requests), (errors, requests)
        finally:
            browser.close()


def test_worst_falls_back_to_delta_e_then_a_metric_with_a_direction():
    rows = [{"id": "a", "delta_e": 2.0, "lpips": 0.1}, {"id": "b", "delta_e": 9.0, "lpips": 0.3},
            {"id": "c", "delta_e": None, "lpips": 0.2}]
    assert worst_rows(rows, 5) == ("delta_e", [1, 0])  # highest first; no value, not ranked
    assert worst_rows([{k: v for k, v in r.items() if k != "delta_e"} for r in rows], 2) == ("lpips", [1, 2])
    assert worst_rows([{"id": "a", "edge_f1": 0.5}], 3) is None  # unknown direction: no "worst"
