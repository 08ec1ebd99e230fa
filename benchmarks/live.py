"""Live mode throughput: frames per second and per-frame latency over /v1/live at 384x512.

Starts `tryon serve` as a subprocess and plays a client as the page does: JPEG frames of a studio
photo (swaying a few pixels, as a person in front of a camera), at most two unanswered at a time.
Prints frames per second answered, latency percentiles and the server's own per-stage times.

Usage: python benchmarks/live.py [--frames 200] [--person FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time

import numpy as np
from PIL import Image
from websockets.sync.client import connect

from local_server import local_server
from tryon.data.evalset import Evalset, find_evalset

IN_FLIGHT = 2


def frames_of(path, size=(384, 512), count=30) -> list[bytes]:
    image = np.asarray(Image.open(path).convert("RGB").resize(size))
    out = []
    for i in range(count):
        buf = io.BytesIO()
        Image.fromarray(np.roll(image, (i % 7) - 3, axis=1)).save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--person", help="person photo (default: the evalset's 00055_00)")
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("evalset not found: set TRYON_EVALSET")
    ev = Evalset(root)
    person = args.person or next(e.path for e in ev.of_kind("person") if e.pair_id == "00055_00")
    garment = next(e for e in ev.of_kind("garment") if e.pair_id == "00055_00")
    frames = frames_of(person)
    with local_server("--catalog", str(garment.path.parent)) as (base, _):
        latencies, stages, answered_at = [], [], []
        with connect(base.replace("http", "ws") + "/v1/live", max_size=None) as ws:
            json.loads(ws.recv())  # hello
            ws.send(json.dumps({"garment_id": garment.path.stem}))
            json.loads(ws.recv())  # ready
            sent = 0
            for _ in range(IN_FLIGHT):
                ws.send(frames[sent % len(frames)])
                sent += 1
            while len(latencies) < args.frames:
                message = json.loads(ws.recv())
                if message["type"] != "frame":
                    sys.exit(f"server error: {message}")
                ws.recv()  # the JPEG
                answered_at.append(time.perf_counter())
                latencies.append(message["latency_ms"])
                stages.append(message["stages_ms"])
                ws.send(frames[sent % len(frames)])
                sent += 1
    warm = 10  # the first frames include the tracker's start
    span = answered_at[-1] - answered_at[warm]
    fps = (len(answered_at) - 1 - warm) / span
    lat = np.array(latencies[warm:])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          "client and server on the same machine")
    print(f"live mode at 384x512, {len(lat)} frames after {warm} warm-up, {IN_FLIGHT} in flight: "
          f"{fps:.1f} frames/s; latency ms p50 {np.percentile(lat, 50):.0f}, p95 {np.percentile(lat, 95):.0f}")
    keys = stages[0].keys()
    print("server stages, median ms: " + ", ".join(
        f"{k} {np.median([s[k] for s in stages[warm:]]):.0f}" for k in keys))


if __name__ == "__main__":
    main()
