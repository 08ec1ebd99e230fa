"""Load test of `tryon serve`: N concurrent clients for a fixed time against a local server.

Starts the server as a subprocess (warp engine, the evalset's garments as the catalog), then each
client loops: POST /v1/tryon with a person photo from a small pool (so the analysis cache is hit as
in a shop, where a shopper tries several garments) and a random catalog garment. A 429 is answered
by waiting its Retry-After (at most 1 s) and counts as a rejection, not an error. Prints
throughput, latency percentiles of the answered requests, the share of 429s, every other status,
and the server's resident memory over time (it must stay flat).

Usage: python benchmarks/load.py [--clients 32] [--seconds 60] [--workers 2] [--queue 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from local_server import local_server
from tryon.data.evalset import Evalset, find_evalset


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def client(http: httpx.AsyncClient, persons: list[bytes], garments: list[str], until: float,
                 latencies: list[float], statuses: Counter, rng: random.Random) -> None:
    while time.monotonic() < until:
        files = {"person": ("p.jpg", rng.choice(persons))}
        data = {"garment_id": rng.choice(garments), "format": "jpeg"}
        t = time.perf_counter()
        try:
            res = await http.post("/v1/tryon", files=files, data=data)
        except httpx.HTTPError as exc:
            statuses[f"transport error {type(exc).__name__}"] += 1
            continue
        statuses[res.status_code] += 1
        if res.status_code == 200:
            latencies.append(time.perf_counter() - t)
        elif res.status_code == 429:
            await asyncio.sleep(min(1.0, float(res.headers.get("retry-after", 1))))


async def drive(base: str, clients: int, seconds: float, persons, garments, pid: int) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    memory: list[tuple[float, float]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        start = time.monotonic()
        until = start + seconds

        async def watch() -> None:
            while time.monotonic() < until:
                memory.append((time.monotonic() - start, rss_mb(pid)))
                await asyncio.sleep(1.0)

        rngs = [random.Random(i) for i in range(clients)]
        await asyncio.gather(watch(), *(client(http, persons, garments, until, latencies, statuses, r)
                                        for r in rngs))
        elapsed = time.monotonic() - start
    return {"latencies": latencies, "statuses": statuses, "memory": memory, "elapsed": elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--persons", type=int, default=6, help="distinct person photos the clients send")
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("evalset not found: set TRYON_EVALSET")
    ev = Evalset(root)
    persons = [e.path.read_bytes() for e in ev.of_kind("person") if e.pair_id][: args.persons]
    with local_server("--catalog", str(root / "garments"), "--workers", str(args.workers),
                      "--queue", str(args.queue)) as (base, server):
        garments = [g["id"] for g in httpx.get(base + "/v1/garments").json()["garments"]
                    if g["id"].split("__")[0] in ("VITON-HD", "IDM-VTON", "OOTDiffusion", "CatVTON")][:12]
        idle = rss_mb(server.pid)
        out = asyncio.run(drive(base, args.clients, args.seconds, persons, garments, server.pid))
        metrics = httpx.get(base + "/metrics").text

    lat = np.array(out["latencies"]) * 1000
    st = out["statuses"]
    total = sum(st.values())
    mem = np.array([m for _, m in out["memory"]])
    half = len(mem) // 2
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"server: warp engine, {args.workers} workers, queue {args.queue}; clients in the same machine")
    print(f"{args.clients} clients for {out['elapsed']:.0f} s, {len(persons)} person photos, {len(garments)} garments")
    print(f"requests: {total}; answered 200: {st[200]} ({st[200] / out['elapsed']:.2f} try-ons/s); "
          f"429: {st[429]} ({st[429] / max(1, total):.1%}); other: "
          f"{ {k: v for k, v in st.items() if k not in (200, 429)} or 'none'}")
    if len(lat):
        print(f"latency of answered requests, ms: p50 {np.percentile(lat, 50):.0f}, p95 {np.percentile(lat, 95):.0f}, "
              f"p99 {np.percentile(lat, 99):.0f}, max {lat.max():.0f}")
    print(f"server memory (RSS), MB: idle {idle:.0f}; first half peak {mem[:half].max():.0f}; "
          f"second half peak {mem[half:].max():.0f}; end {mem[-1]:.0f}")
    hits = [line for line in metrics.splitlines() if line.startswith("tryon_analysis_cache_total{")]
    print("analysis cache:", "; ".join(h.replace("tryon_analysis_cache_total", "") for h in hits))
    errors = sum(v for k, v in st.items() if k not in (200, 429))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
