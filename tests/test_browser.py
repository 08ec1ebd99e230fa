"""The web page in real headless Chromium: upload and try on; live mode from a fake camera.

Needs Debian's ``chromium`` (``make test`` installs it where it can). Without it these tests
skip with a reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from PIL import Image

from chromium import CHROMIUM_ARGS, chromium_path
from tryon.serve.app import create_app
from tryon.serve.settings import ServeSettings



@pytest.fixture(scope="module")
def server(evalset, tmp_path_factory, garment_analyzer):
    """A real uvicorn server on a free local port, with a three-garment catalog, named and priced in its
    catalog.csv, and indexed for search."""
    import uvicorn

    root = tmp_path_factory.mktemp("catalog")
    paired = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00")
    (root / "upper").mkdir()
    (root / "upper" / paired.path.name).symlink_to(paired.path)
    dress = evalset.of_kind("garment", "dress")[0]
    (root / dress.path.name).symlink_to(dress.path)
    trousers = evalset.of_kind("garment", "lower")[0]
    (root / trousers.path.name).symlink_to(trousers.path)
    (root / "catalog.csv").write_text(f"id,file,name,category,price\n{trousers.path.stem},{trousers.path.name},"
                                      "Wide trousers,lower,49.5\n")
    from tryon.catalog.embedding import GarmentEmbedder
    from tryon.catalog.index import CatalogIndex

    CatalogIndex.load(root).update(GarmentEmbedder(analyzer=garment_analyzer))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(ServeSettings(catalog=root, workers=2, port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while app.state.tryon["service"] is None:
        assert app.state.tryon["error"] is None and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", paired.path.stem, trousers.path.stem
    server.should_exit = True
    thread.join(timeout=30)


def _browser(playwright, *extra: str):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS + list(extra))


def test_upload_pick_and_try_on(server, vitonhd_person, evalset):
    from playwright.sync_api import expect, sync_playwright

    url, garment_id, trousers_id = server
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone-sized screen
        page.goto(url)
        page.set_input_files("#person-file", str(vitonhd_person.path))
        trousers_tile = page.locator(f'#catalog button[data-id="{trousers_id}"]')
        expect(trousers_tile).to_contain_text("Wide trousers")  # the shop's name and price, not the file's
        expect(trousers_tile).to_contain_text("49.50")
        page.click(f'#catalog button[data-id="{garment_id}"]')
        expect(page.locator("#category")).to_have_value("upper")  # the catalog folder's category
        # What goes with the top: the trousers, tried in one click (then back to the top).
        goes = page.locator(f'#goes button[data-id="{trousers_id}"]')
        expect(goes).to_be_visible(timeout=30_000)
        expect(page.locator("#similar-box")).to_be_visible()
        goes.click()
        expect(page.locator("#category")).to_have_value("lower")
        expect(trousers_tile).to_have_attribute("aria-selected", "true")
        page.click(f'#catalog button[data-id="{garment_id}"]')
        expect(page.locator("#category")).to_have_value("upper")
        page.click("#run")
        expect(page.locator("#result-card")).to_be_visible(timeout=60_000)
        expect(page.locator("#status")).to_have_text("Done.")
        # The result differs from the original, and has its size.
        stats = page.evaluate("""async () => {
            const load = (img) => img.complete && img.naturalWidth ? Promise.resolve() :
                new Promise((ok) => img.addEventListener('load', ok, { once: true }));
            const a = document.getElementById('original'), b = document.getElementById('result');
            await load(a); await load(b);
            const px = (img) => { const c = document.createElement('canvas'); c.width = img.naturalWidth;
                c.height = img.naturalHeight; const x = c.getContext('2d'); x.drawImage(img, 0, 0);
                return x.getImageData(0, 0, c.width, c.height).data; };
            const pa = px(a), pb = px(b);
            let diff = 0; for (let i = 0; i < pa.length; i += 4) diff += Math.abs(pa[i] - pb[i]);
            return { w: b.naturalWidth, h: b.naturalHeight, mean: diff / (pa.length / 4) };
        }""")
        assert (stats["w"], stats["h"]) == Image.open(vitonhd_person.path).size
        assert stats["mean"] > 3, stats
        assert page.get_attribute("#download", "href").startswith("blob:")
        # Scroll width equals the viewport: the layout fits a phone without sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # A photo without a person: the error is said in plain words (by its code), and the old result
        # goes (it belonged to another photo).
        page.set_input_files("#person-file", str(evalset.of_kind("garment", "upper")[0].path))
        expect(page.locator("#result-card")).to_be_hidden()
        page.click("#run")
        expect(page.locator("#status")).to_contain_text("No person could be found", timeout=60_000)
        expect(page.locator("#status")).to_have_class("status error")
        expect(page.locator("#result-card")).to_be_hidden()
        # The upload opens the gallery (the camera has its own button); the page has an icon.
        assert page.get_attribute("#person-file", "capture") is None
        icon = page.get_attribute('link[rel="icon"]', "href")
        assert page.request.get(url + icon).ok and page.request.get(url + "/favicon.ico").ok
        browser.close()


def _y4m(path, image: np.ndarray, frames: int = 20) -> None:
    """A Y4M video (4:2:0) of the photo, swaying a few pixels, for Chromium's fake camera."""
    h, w = image.shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            ycc = Image.fromarray(np.roll(image, (i % 5) - 2, axis=1)).convert("YCbCr")
            y, cb, cr = ycc.split()
            f.write(b"FRAME\n")
            f.write(y.tobytes())
            f.write(cb.resize((w // 2, h // 2)).tobytes())
            f.write(cr.resize((w // 2, h // 2)).tobytes())


def test_live_mode_and_a_still_photo_from_a_fake_camera(server, vitonhd_person, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, garment_id, _ = server
    image = np.asarray(Image.open(vitonhd_person.path).convert("RGB").resize((384, 512)))
    video = tmp_path / "camera.y4m"
    _y4m(video, image)
    with sync_playwright() as p:
        browser = _browser(p, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                           f"--use-file-for-fake-video-capture={video}")
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=url)
        page = context.new_page()
        page.goto(url)
        page.click(f'#catalog button[data-id="{garment_id}"]')
        page.click("#live-start")
        expect(page.locator("#live-card")).to_be_visible()
        page.wait_for_function("parseInt(document.getElementById('live-stats').dataset.frames || '0') >= 5",
                               timeout=60_000)
        stats = page.text_content("#live-stats")
        assert "frames/s" in stats and "ms per frame" in stats
        assert page.evaluate("document.getElementById('live-result').naturalWidth") == 384
        page.click("#live-stop")
        expect(page.locator("#live-card")).to_be_hidden()

        # Take a still photo with the same camera, and try the garment on it.
        page.click("#snap-start")
        expect(page.locator("#snap-box")).to_be_visible()
        page.wait_for_function("document.getElementById('snap-video').readyState >= 2", timeout=30_000)
        page.click("#snap-take")
        expect(page.locator("#person-preview")).to_be_visible()
        expect(page.locator("#snap-box")).to_be_hidden()
        page.click("#run")
        expect(page.locator("#result-card")).to_be_visible(timeout=60_000)
        expect(page.locator("#status")).to_have_text("Done.")
        browser.close()
