"""Make docs/page.jpg, the README's screenshot of the page, from inputs the project may publish.

The person is scikit-image's astronaut (public domain) and the catalog holds the project's own
drawn T-shirt; evalset photos are never put in the repository. Needs Debian's chromium.

Usage: python docs/make_screenshot.py [--out docs/page.jpg]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import expect, sync_playwright

from tryon.demo import demo_garment, demo_person
from tryon.imageio import save_image
from tryon.serve.app import create_app
from tryon.serve.settings import ServeSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "page.jpg"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "catalog" / "upper").mkdir(parents=True)
        save_image(demo_garment(), tmp / "catalog" / "upper" / "striped-tee.png")
        person = save_image(demo_person(), tmp / "astronaut.png")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        app = create_app(ServeSettings(catalog=tmp / "catalog", workers=1))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while app.state.tryon["service"] is None or not server.started:
            if app.state.tryon["error"] is not None:
                raise SystemExit(f"the server failed: {app.state.tryon['error']}")
            time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.set_input_files("#person-file", str(person))
            page.click('#catalog button[data-id="striped-tee"]')
            page.click("#run")
            expect(page.locator("#result-card")).to_be_visible(timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=args.out, full_page=True, quality=85)
            browser.close()
        server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
