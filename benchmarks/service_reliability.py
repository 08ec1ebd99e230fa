"""The service under the faults a production service meets; prints one figure per check.

A real server (uvicorn, ``python -m tryon.serve.faults``: warp plus a fault-injecting engine, 2
workers) on this machine, driven over HTTP:

1. soak: N mixed requests (good try-ons with several engines' settings, analyses, catalog reads,
   hostile uploads, unknown routes) from 8 concurrent clients: the 5xx count, and the server's RSS
   at the end against its RSS after a warm-up;
2. engine failure isolation: an engine bug gives its request a 500 with a request id and a logged
   traceback; the next requests succeed and the process keeps its threads;
3. malformed uploads: every body of tryon.serve.faults.malformed_uploads, 10 times: statuses and
   RSS growth;
4. slow clients: 20 clients trickling a request byte by byte, and a normal request's time meanwhile;
5. graceful shutdown: SIGTERM with requests in flight: what they get, what new requests get, and
   how long the process takes to exit.

    python benchmarks/service_reliability.py [--requests 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tryon.data.evalset import Evalset, find_evalset
from tryon.imageio import encode_image, load_image
from tryon.serve.faults import malformed_uploads

CLIENTS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


class Server:
    """``python -m tryon.serve.faults`` in a child process, its JSON log in a file."""

    def __init__(self, catalog: Path, log: Path, deadline: float = 30.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tryon.serve.faults", "--port", str(self.port), "--catalog", str(catalog),
             "--deadline", str(deadline)], stdout=subprocess.DEVNULL, stderr=log.open("w"))
        deadline_at = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline_at:
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def inputs(ev: Evalset, root: Path) -> tuple[Path, list[bytes], bytes, list[str]]:
    """A catalog folder of 4 tops, person photos at 384x512 (JPEG), an uploadable garment, ids."""
    catalog = root / "catalog"
    catalog.mkdir()
    tops = [e for e in ev.of_kind("garment", "upper")][:4]
    for e in tops:
        (catalog / e.path.name).symlink_to(e.path)
    studio = [e for e in ev.of_kind("person") if e.pair_id][:4]
    persons = []
    for e in studio:
        image = Image.fromarray(load_image(e.path)).resize((384, 512), Image.BICUBIC)
        persons.append(encode_image(np.asarray(image), "jpeg", quality=90))
    return catalog, persons, tops[0].path.read_bytes(), [e.path.stem for e in tops]


def soak(server: Server, persons: list[bytes], garment: bytes, ids: list[str], n: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    bad = [u for u in malformed_uploads(persons[0], garment, 15 * 2**20) if len(u.body) < 2**20]
    statuses: Counter = Counter()
    lock = threading.Lock()

    def one(i: int, client: httpx.Client) -> int:
        r = rng.random()  # a shop's day: mostly browsing, a fifth try-ons, a quarter bad uploads
        if r < 0.15:
            data = {"garment_id": rng.choice(ids), "shading": str(rng.choice((0.0, 0.3, 0.6, 1.0))),
                    "format": rng.choice(("webp", "jpeg", "png"))}
            return client.post("/v1/tryon", files={"person": ("p.jpg", rng.choice(persons))}, data=data).status_code
        if r < 0.18:
            data = {"garment_id": rng.choice(ids), "engine": "faulty"}
            return client.post("/v1/tryon", files={"person": ("p.jpg", rng.choice(persons))}, data=data).status_code
        if r < 0.20:
            return client.post("/v1/tryon", files={"person": ("p.jpg", rng.choice(persons)),
                                                   "garment": ("g.jpg", garment)}).status_code
        if r < 0.45:
            u = rng.choice(bad)
            return client.post("/v1/tryon", content=u.body,
                               headers={"Content-Type": u.content_type} if u.content_type else {}).status_code
        if r < 0.50:
            return client.post("/v1/analyze", data={"garment_id": rng.choice(ids)},
                               files={"person": ("p.jpg", rng.choice(persons))}).status_code
        if r < 0.90:
            path = rng.choice(("/v1/garments", "/v1/engines", "/readyz", "/healthz", "/metrics",
                               f"/v1/garments/{rng.choice(ids)}/image?size=thumb"))
            return client.get(path).status_code
        return client.get(rng.choice(("/v1/nowhere", "/v1/garments/no-such/image", "/v1/tryon"))).status_code

    def worker(start: int, step: int, count: list[int]) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for i in range(start, n, step):
                code = one(i, client)
                with lock:
                    statuses[code] += 1
                    count[0] += 1

    done = [0]
    warm_rss = None
    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k, CLIENTS, done)) for k in range(CLIENTS)]
    for t in pool:
        t.start()
    while any(t.is_alive() for t in pool):
        time.sleep(0.5)
        if warm_rss is None and done[0] >= min(500, n // 10):
            warm_rss = rss_mb(server.proc.pid)
    seconds = time.perf_counter() - t0
    end_rss = rss_mb(server.proc.pid)
    fivexx = sum(v for k, v in statuses.items() if k >= 500)
    return {"requests": sum(statuses.values()), "seconds": seconds, "statuses": dict(sorted(statuses.items())),
            "5xx": fivexx, "rss_warm_mb": warm_rss, "rss_end_mb": end_rss,
            "rss_growth": end_rss / warm_rss - 1 if warm_rss else None}


def isolation(server: Server, person: bytes, ids: list[str]) -> dict:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i in range(8):  # warm-up: the event loop's helper threads start on first use
            client.post("/v1/tryon", files={"person": ("p.jpg", person)},
                        data={"garment_id": ids[i % len(ids)], "engine": ("warp", "faulty")[i % 2]})
        before = threads(server.proc.pid)
        bug = client.post("/v1/tryon", files={"person": ("p.jpg", person)},
                          data={"garment_id": ids[0], "engine": "faulty", "fault": "bug"})
        after = [client.post("/v1/tryon", files={"person": ("p.jpg", person)},
                             data={"garment_id": ids[i % len(ids)], "engine": ("warp", "faulty")[i % 2]}).status_code
                 for i in range(20)]
    time.sleep(0.5)
    rid = bug.json().get("request_id")
    logged = [line for line in server.log_lines() if line.get("request_id") == rid]
    return {"bug_status": bug.status_code, "bug_error": bug.json().get("error"), "request_id": rid,
            "logged_with_traceback": any("InjectedBug" in line.get("traceback", "") for line in logged),
            "next_20": dict(Counter(after)), "threads_before": before, "threads_after": threads(server.proc.pid)}


def malformed(server: Server, person: bytes, garment: bytes, rounds: int = 10) -> dict:
    uploads = malformed_uploads(person, garment, 15 * 2**20)
    before = rss_mb(server.proc.pid)
    statuses: Counter = Counter()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for _ in range(rounds):
            for u in uploads:
                headers = {"Content-Type": u.content_type} if u.content_type else {}
                statuses[client.post("/v1/tryon", content=u.body, headers=headers).status_code] += 1
    return {"bodies": len(uploads), "requests": sum(statuses.values()), "statuses": dict(sorted(statuses.items())),
            "non_4xx": sum(v for k, v in statuses.items() if not 400 <= k < 500),
            "rss_before_mb": before, "rss_after_mb": rss_mb(server.proc.pid)}


def slow_clients(server: Server, person: bytes, ids: list[str], n: int = 20) -> dict:
    body = (b"--b\r\nContent-Disposition: form-data; name=\"garment_id\"\r\n\r\n" + ids[0].encode()
            + b"\r\n--b--\r\n")
    head = (f"POST /v1/tryon HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    stop = threading.Event()

    def trickle() -> None:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            for byte in head + body:
                if stop.is_set():
                    return
                s.send(bytes([byte]))
                time.sleep(0.2)

    pool = [threading.Thread(target=trickle, daemon=True) for _ in range(n)]
    for t in pool:
        t.start()
    time.sleep(2.0)  # all of them mid-request
    times = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for i in range(5):
            t = time.perf_counter()
            res = client.post("/v1/tryon", files={"person": ("p.jpg", person)}, data={"garment_id": ids[i % len(ids)]})
            times.append(time.perf_counter() - t)
            assert res.status_code == 200, res.text
    stop.set()
    return {"trickling_clients": n, "normal_request_s": [round(x, 2) for x in times], "worst_s": max(times)}


def shutdown(catalog: Path, root: Path, person: bytes, ids: list[str]) -> dict:
    server = Server(catalog, root / "shutdown.log", deadline=10.0)
    results: dict[str, int] = {}

    def in_flight(i: int) -> None:
        res = httpx.post(server.url + "/v1/tryon", files={"person": ("p.jpg", person)},
                         data={"garment_id": ids[0], "engine": "faulty", "sleep_s": "2"}, timeout=60)
        results[f"in_flight_{i}"] = res.status_code

    pool = [threading.Thread(target=in_flight, args=(i,)) for i in range(2)]
    for t in pool:
        t.start()
    time.sleep(0.7)
    t0 = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    new = [httpx.get(server.url + "/v1/garments", timeout=10) for _ in range(3)]
    code = server.proc.wait(60)
    exit_s = time.perf_counter() - t0
    for t in pool:
        t.join()
    return {"in_flight": results, "new_requests": [(r.status_code, r.json().get("error")) for r in new],
            "exit_code": code, "exit_s": round(exit_s, 2), "deadline_s": 10.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="soak requests")
    args = parser.parse_args()
    root_ev = find_evalset()
    if root_ev is None:
        sys.exit("no evalset (set TRYON_EVALSET)")
    print(f"machine: {os.cpu_count()}-core {os.uname().machine}, no GPU; server: 2 workers, queue 8")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        catalog, persons, garment, ids = inputs(Evalset(root_ev), root)
        server = Server(catalog, root / "server.log")
        try:
            figures = {"isolation": isolation(server, persons[0], ids)}
            print("isolation:", figures["isolation"], flush=True)
            figures["malformed"] = malformed(server, persons[0], garment)
            print("malformed:", figures["malformed"], flush=True)
            figures["slow_clients"] = slow_clients(server, persons[0], ids)
            print("slow clients:", figures["slow_clients"], flush=True)
            figures["soak"] = soak(server, persons, garment, ids, args.requests)
            print("soak:", figures["soak"], flush=True)
            lines = [line for line in server.log_lines() if line.get("message") == "request"]
            print(f"request log: {len(lines)} JSON lines, fields {sorted(lines[0]) if lines else []}")
        finally:
            server.stop()
        figures["shutdown"] = shutdown(catalog, root, persons[0], ids)
        print("shutdown:", figures["shutdown"], flush=True)


if __name__ == "__main__":
    main()
