"""The service's error table, request ids and logs, failure isolation, hostile uploads, draining.

Every row of tryon.serve.errors.ERRORS is sent a request that must get exactly its status and
code, and the documentation's table is the one the code writes.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serve_helpers import running_app
from tryon.engines import registry
from tryon.serve.errors import ERRORS, REQUEST_ID_HEADER, errors_markdown
from tryon.serve.faults import SPEC as FAULTY, malformed_uploads

ROOT = Path(__file__).resolve().parents[1]

#: Rows whose trigger needs a set-up of its own, and the test that sends it.
ELSEWHERE = {
    "busy": "tests/test_serve.py::test_queue_full_answers_429_and_api_key_and_size_limits",
    "not_ready": "tests/test_serve.py::test_not_ready_answers_503",
    "no_outfit": "tests/test_catalog.py::test_service_answers_similar_and_recommend_from_the_index",
}


@pytest.fixture(scope="module")
def faulty_api(evalset, tmp_path_factory):
    catalog = tmp_path_factory.mktemp("shop")
    top = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00")
    (catalog / top.path.name).symlink_to(top.path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry._SPECS, "faulty", FAULTY)
        with running_app(catalog=catalog, engines=("warp", "faulty"), workers=2, queue_size=4) as (client, service):
            yield client, service, top.path.stem


def jpeg(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=92)
    return out.getvalue()


def _trigger(code: str, client, service, evalset, person: bytes, garment_id: str):
    """Send the request that must get ``code``; return the response."""
    settings = service.settings
    form = {"garment_id": garment_id}
    files = {"person": ("p.jpg", person)}
    if code == "bad_image":
        return client.post("/v1/tryon", files={"person": ("p.jpg", b"\x89PNG\r\n\x1a\n not really")}, data=form)
    if code == "bad_request":
        return client.post("/v1/tryon", json={"person": "x"})
    if code == "slow_upload":
        def trickle():
            yield b"--b\r\n"
            time.sleep(0.6)
            yield b"x"
        settings.upload_timeout_s, old = 0.3, settings.upload_timeout_s
        try:
            return client.post("/v1/tryon", content=trickle(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        finally:
            settings.upload_timeout_s = old
    if code == "unauthorized":
        settings.api_keys, old = ("secret",), settings.api_keys
        try:
            return client.get("/v1/garments")
        finally:
            settings.api_keys = old
    if code == "not_found":
        return client.post("/v1/tryon", files=files, data={"garment_id": "no-such-garment"})
    if code == "method_not_allowed":
        return client.get("/v1/tryon")
    if code == "not_indexed":
        return client.get(f"/v1/garments/{garment_id}/similar")
    if code == "too_large":
        settings.max_pixels, old = 10_000, settings.max_pixels
        try:  # a photo not yet in the analysis cache, so it is decoded
            return client.post("/v1/tryon", files={"person": ("p.jpg", jpeg(np.full((200, 200, 3), 90, np.uint8)))},
                               data=form)
        finally:
            settings.max_pixels = old
    if code == "no_person":
        garment = evalset.of_kind("garment", "upper")[1].path.read_bytes()
        return client.post("/v1/tryon", files={"person": ("p.jpg", garment)}, data=form)
    if code == "several_persons":
        photo = np.asarray(Image.open(io.BytesIO(person)).convert("RGB"))
        return client.post("/v1/tryon", files={"person": ("two.jpg", jpeg(np.concatenate([photo, photo], 1)))},
                           data=form)
    if code == "bad_pose":  # trousers on a photo that ends at the waist
        photo = np.asarray(Image.open(io.BytesIO(person)).convert("RGB"))
        return client.post("/v1/tryon", files={"person": ("top.jpg", jpeg(photo[: photo.shape[0] // 2]))},
                           data={**form, "category": "lower"})
    if code == "outfit_unclear":  # no evalset photo is read that way now: the engine's own check is
        # tested in tests/test_engine.py (test_a_garment_hidden_under_what_is_kept_is_refused)
        return client.post("/v1/tryon", files=files, data={**form, "engine": "faulty", "fault": "outfit"})
    if code == "bad_garment":
        return client.post("/v1/tryon", files={**files, "garment": ("g.jpg", jpeg(np.full((400, 300, 3), 200, np.uint8)))})
    if code == "bad_field":
        return client.post("/v1/tryon", files=files, data={**form, "engine": "dalle"})
    if code == "bad_input":
        return client.post("/v1/tryon", files={"person": ("tiny.png", jpeg(np.full((40, 40, 3), 90, np.uint8)))},
                           data=form)
    if code == "shutting_down":
        traffic = client.app.state.traffic
        traffic.drain()
        try:
            return client.post("/v1/tryon", files=files, data=form)
        finally:
            traffic.draining_since = None
    if code in ("out_of_memory", "model_unavailable", "internal"):
        fault = {"out_of_memory": "oom", "model_unavailable": "weights", "internal": "bug"}[code]
        return client.post("/v1/tryon", files=files, data={**form, "engine": "faulty", "fault": fault})
    if code == "deadline":
        settings.deadline_s, old = 0.3, settings.deadline_s
        try:
            return client.post("/v1/tryon", files=files, data={**form, "engine": "faulty", "sleep_s": "1"})
        finally:
            settings.deadline_s = old
    raise AssertionError(f"no trigger for {code}")


@pytest.mark.parametrize("kind", [k for k in ERRORS if k.code not in ELSEWHERE], ids=lambda k: k.code)
def test_every_row_of_the_error_table_is_what_the_server_answers(faulty_api, evalset, vitonhd_person, kind):
    client, service, garment_id = faulty_api
    res = _trigger(kind.code, client, service, evalset, vitonhd_person.path.read_bytes(), garment_id)
    assert (res.status_code, res.json()["error"]) == (kind.status, kind.code), res.text
    assert res.json()["message"] and res.json()["request_id"] == res.headers[REQUEST_ID_HEADER]


def test_rows_tested_elsewhere_are_tested_there():
    for code, where in ELSEWHERE.items():
        path, name = where.split("::")
        text = (ROOT / path).read_text()
        assert f"def {name}(" in text and f'"{code}"' in text, where
        assert code in {k.code for k in ERRORS}


def test_the_documented_table_is_the_code_table():
    text = (ROOT / "docs" / "service.md").read_text()
    block = re.search(r"<!-- errors:begin -->\n(.*?)\n<!-- errors:end -->", text, re.S)
    assert block, "docs/service.md lacks the errors markers"
    assert block.group(1).strip() == errors_markdown(), "paste the output of: python -m tryon.serve.errors"


def test_request_ids_and_one_json_log_line_per_request(faulty_api, vitonhd_person, caplog):
    client, _, garment_id = faulty_api
    caplog.set_level(logging.INFO, logger="tryon.serve")
    ok = client.post("/v1/tryon", files={"person": ("p.jpg", vitonhd_person.path.read_bytes())},
                     data={"garment_id": garment_id}, headers={REQUEST_ID_HEADER: "shop-42.a"})
    assert ok.status_code == 200 and ok.headers[REQUEST_ID_HEADER] == "shop-42.a"
    odd = client.get("/v1/garments", headers={REQUEST_ID_HEADER: "no spaces or <html> please"})
    assert re.fullmatch(r"[0-9a-f]{16}", odd.headers[REQUEST_ID_HEADER])
    client.get("/v1/nowhere")
    lines = [r.fields for r in caplog.records if r.name == "tryon.serve" and hasattr(r, "fields")]
    by_id = {f["request_id"]: f for f in lines}
    tryon = by_id["shop-42.a"]
    assert tryon["route"] == "/v1/tryon" and tryon["status"] == 200 and tryon["engine"] == "warp"
    assert tryon["duration_ms"] > 0 and "error" not in tryon
    assert by_id[odd.headers[REQUEST_ID_HEADER]]["route"] == "/v1/garments"
    assert any(f["status"] == 404 and f["error"] == "not_found" for f in lines)
    from tryon.serve.logs import JsonFormatter

    line = json.loads(JsonFormatter().format(next(r for r in caplog.records if getattr(r, "fields", {}).get(
        "request_id") == "shop-42.a")))
    assert {"time", "level", "request_id", "route", "status", "duration_ms", "engine"} <= set(line)
    assert len(json.dumps(line)) < 500  # no image data


def test_an_engine_bug_fails_only_its_request(faulty_api, vitonhd_person, caplog):
    client, service, garment_id = faulty_api
    caplog.set_level(logging.INFO, logger="tryon.serve")
    threads = {t.name for t in __import__("threading").enumerate() if t.name.startswith("tryon-cpu")}
    files = {"person": ("p.jpg", vitonhd_person.path.read_bytes())}
    bug = client.post("/v1/tryon", files=files, data={"garment_id": garment_id, "engine": "faulty", "fault": "bug"})
    assert bug.status_code == 500 and bug.json()["error"] == "internal"
    assert "injected" not in bug.text  # the exception's text stays in the log
    record = next(r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == bug.json()["request_id"])
    assert record.levelno == logging.ERROR and "InjectedBug" in "".join(__import__("traceback").format_exception(*record.exc_info))
    for engine in ("faulty", "warp", "faulty"):
        again = client.post("/v1/tryon", files=files, data={"garment_id": garment_id, "engine": engine})
        assert again.status_code == 200, again.text
    assert {t.name for t in __import__("threading").enumerate() if t.name.startswith("tryon-cpu")} == threads
    assert service.lanes["cpu"].depth == 0


def test_malformed_uploads_get_4xx_only(faulty_api, evalset, vitonhd_person):
    client, service, _ = faulty_api
    person = vitonhd_person.path.read_bytes()
    garment = evalset.of_kind("garment", "upper")[0].path.read_bytes()
    max_bytes = int(service.settings.max_upload_mb * 2**20)
    uploads = malformed_uploads(person, garment, max_bytes)
    assert len(uploads) >= 30
    answers = {}
    for u in uploads:
        headers = {"Content-Type": u.content_type} if u.content_type else {}
        res = client.post("/v1/tryon", content=u.body, headers=headers)
        answers[u.name] = (res.status_code, res.json()["error"])
        assert 400 <= res.status_code < 500, (u.name, res.text)
    assert answers["PNG bomb (12,000 x 12,000)"] == (413, "too_large")
    assert answers["JPEG claiming 65,000 x 65,000"] == (413, "too_large")
    assert answers["body over the upload limit"] == (413, "too_large")
    assert answers["5,000 parts"] == (400, "bad_request")
    assert answers["person given twice"] == (400, "bad_request")
    assert answers["empty person file"] == answers["empty garment file"] == (422, "bad_field")


def test_sigterm_drains_then_exits(evalset, vitonhd_person, tmp_path):
    """A real server process: requests in flight at SIGTERM finish, new ones get 503 shutting_down,
    and the process exits 0 within the deadline; every request left one JSON log line."""
    import signal
    import socket
    import subprocess
    import sys
    import threading

    import httpx

    catalog = tmp_path / "shop"
    catalog.mkdir()
    top = next(e for e in evalset.of_kind("garment") if e.pair_id == "00055_00")
    (catalog / top.path.name).symlink_to(top.path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "tryon.serve.faults", "--port", str(port), "--catalog", str(catalog),
                             "--deadline", "8"], stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        start = time.monotonic()
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() - start < 120, log.read_text()[-2000:]
            time.sleep(0.2)
        answers: list[int] = []
        slow = threading.Thread(target=lambda: answers.append(httpx.post(
            url + "/v1/tryon", files={"person": ("p.jpg", vitonhd_person.path.read_bytes())},
            data={"garment_id": top.path.stem, "engine": "faulty", "sleep_s": "1.5"}, timeout=30).status_code))
        slow.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        new = httpx.get(url + "/v1/garments", timeout=5)
        assert (new.status_code, new.json()["error"]) == (503, "shutting_down")
        assert proc.wait(30) == 0 and time.monotonic() - t0 < 8
        slow.join()
        assert answers == [200]
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    assert {(r["route"], r.get("path"), r["status"]) for r in requests} >= {
        ("/v1/tryon", None, 200), ("unmatched", "/v1/garments", 503)}, log.read_text()[-3000:]


def test_models_loading_in_two_threads_leave_stderr_working():
    """Workers load their models at once, each silencing native libraries' stderr: when the first
    to start finishes first, stderr must come back (the service's log was lost after start-up)."""
    import subprocess
    import sys

    code = """
import os, threading
from tryon.native import quiet_stderr
a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
def a():
    with quiet_stderr():
        a_in.set(); b_in.wait()
    a_out.set()
def b():
    a_in.wait()
    with quiet_stderr():
        os.write(2, b"silenced\\n"); b_in.set(); a_out.wait()
threads = [threading.Thread(target=f) for f in (a, b)]
[t.start() for t in threads]; [t.join() for t in threads]
os.write(2, b"still here\\n")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0 and b"still here" in result.stderr and b"silenced" not in result.stderr
