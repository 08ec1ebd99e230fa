"""Live mode: camera frames in over a WebSocket, try-on frames out, with the live engine (warp by default).

Each connection gets a :class:`LiveSession` with its own models: the pose is tracked from frame to
frame and its keypoints smoothed (no jitter on a still body), the person is analysed at half the
frame size, and two threads form a pipeline (analysis of frame n+1 while frame n is dressed).
Only the newest frame waits: a client that sends faster than the server answers loses frames,
never latency.

Protocol on ``/v1/live``: the client sends a JSON text message ``{"garment_id": ID}`` (or
``{"garment": BASE64}``, optional ``"category"``), then JPEG frames as binary messages. For every
frame answered the server sends ``{"type": "frame", "frame": N, "latency_ms": ..., "stages_ms":
{...}}`` followed by the JPEG; a frame that cannot be dressed gets ``{"type": "error", ...}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from tryon.engines.registry import get_engine
from tryon.errors import InputError, TryOnError
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.imageio import encode_image, load_image
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer

#: Close code for "try again later" (RFC 6455): every live slot is taken.
TRY_AGAIN_LATER = 1013


@dataclass
class Frame:
    seq: int
    data: bytes
    received: float  # perf_counter time


class LiveSession:
    """The models and state of one live stream. Call ``analyze`` and ``render`` from one thread each."""

    def __init__(self, size: tuple[int, int] = (384, 512), analysis_scale: float = 0.5, engine: str = "warp"):
        self.size = size
        self.analysis_scale = analysis_scale
        self.persons = PersonAnalyzer(pose_complexity=1, video=True)
        self.garments = GarmentAnalyzer()
        self.engine = get_engine(engine, person_analyzer=self.persons, garment_analyzer=self.garments)
        self.garment: GarmentAnalysis | None = None

    def set_garment(self, source, category: str | None = "auto") -> GarmentAnalysis:
        """Analyse the garment once, at about the frame's scale (warping a smaller photo is cheaper)."""
        image = load_image(source)
        scale = self.size[1] / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
        self.garment = self.garments.analyze(image, None if (category or "auto") == "auto" else category)
        return self.garment

    def frame(self, data: bytes) -> np.ndarray:
        """A camera frame decoded and scaled to the session's width."""
        image = load_image(data)
        w = self.size[0]
        if image.shape[1] != w:
            h = round(image.shape[0] * w / image.shape[1])
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        return image

    def analyze(self, frame: Frame) -> tuple[np.ndarray, PersonAnalysis, float]:
        t = time.perf_counter()
        image = self.frame(frame.data)
        small = cv2.resize(image, None, fx=self.analysis_scale, fy=self.analysis_scale, interpolation=cv2.INTER_AREA)
        try:
            analysis = self.persons.analyze(small, timestamp=frame.received).upscaled(image)
        except TryOnError:
            self.persons.smoother.reset()
            raise
        return image, analysis, time.perf_counter() - t

    def render(self, image: np.ndarray, analysis: PersonAnalysis, garment: GarmentAnalysis) -> tuple[bytes, dict]:
        result = self.engine.run(image, None, garment.category, person_analysis=analysis, garment_analysis=garment)
        t = time.perf_counter()
        data = encode_image(result.image, "jpeg", quality=80)
        # The engine's own stages (the analyses were done and timed before it ran).
        stages = {k: v for k, v in result.timings.items() if k not in ("garment", "person", "total")}
        stages["encode"] = time.perf_counter() - t
        return data, stages

    def close(self) -> None:
        self.persons.close()


async def live_endpoint(ws: WebSocket, service, slots: threading.BoundedSemaphore) -> None:
    """Serve one live stream (``service`` gives the catalog, the settings and the metrics)."""
    if not slots.acquire(blocking=False):
        await ws.close(code=TRY_AGAIN_LATER, reason="every live slot is in use; try again later")
        return
    loop = asyncio.get_running_loop()
    analyse_pool = ThreadPoolExecutor(1, thread_name_prefix="tryon-live-analyse")
    render_pool = ThreadPoolExecutor(1, thread_name_prefix="tryon-live-render")
    session: LiveSession | None = None
    send_lock = asyncio.Lock()
    newest: dict[str, Frame | None] = {"frame": None}
    arrived = asyncio.Event()
    to_render: asyncio.Queue = asyncio.Queue(maxsize=1)

    async def send(message: dict, data: bytes | None = None) -> None:
        async with send_lock:
            await ws.send_text(json.dumps(message))
            if data is not None:
                await ws.send_bytes(data)

    async def configure(text: str) -> None:
        try:
            config = json.loads(text)
            if not isinstance(config, dict):
                raise ValueError
        except ValueError:
            raise InputError("live messages must be JSON objects such as {\"garment_id\": \"...\"}") from None
        category = config.get("category") or "auto"
        if config.get("garment_id"):
            item = service.catalog.get(str(config["garment_id"]))
            source = item.path
            if category == "auto" and item.category is not None:
                category = item.category.value
        elif config.get("garment"):
            try:
                source = base64.b64decode(str(config["garment"]).split(",")[-1], validate=True)
            except (binascii.Error, ValueError):
                raise InputError("'garment' must be a base64 image") from None
        else:
            raise InputError("send {\"garment_id\": ...} or {\"garment\": BASE64} to choose the garment")
        garment = await loop.run_in_executor(analyse_pool, session.set_garment, source, category)
        await send({"type": "ready", "category": garment.category.value})

    async def receive() -> None:
        seq = 0
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("text") is not None:
                try:
                    await configure(message["text"])
                except TryOnError as exc:
                    await send({"type": "error", "message": str(exc)})
            elif message.get("bytes") is not None:
                seq += 1
                newest["frame"] = Frame(seq, message["bytes"], time.perf_counter())
                arrived.set()

    async def analyse() -> None:
        while True:
            await arrived.wait()
            arrived.clear()
            frame, newest["frame"] = newest["frame"], None
            if frame is None:
                continue
            garment = session.garment
            if garment is None:
                await send({"type": "error", "frame": frame.seq, "message": "choose a garment first"})
                continue
            try:
                image, analysis, seconds = await loop.run_in_executor(analyse_pool, session.analyze, frame)
            except TryOnError as exc:
                await send({"type": "error", "frame": frame.seq, "message": str(exc)})
                continue
            await to_render.put((frame, image, analysis, garment, seconds))

    async def render() -> None:
        while True:
            frame, image, analysis, garment, seconds = await to_render.get()
            try:
                data, stages = await loop.run_in_executor(render_pool, session.render, image, analysis, garment)
            except TryOnError as exc:
                await send({"type": "error", "frame": frame.seq, "message": str(exc)})
                continue
            stages["analysis"] = seconds
            latency = time.perf_counter() - frame.received
            service.metrics.live_frames.inc()
            service.metrics.observe_stages(f"{session.engine.name}-live", {**stages, "total": latency})
            await send({"type": "frame", "frame": frame.seq, "latency_ms": round(latency * 1000, 1),
                        "stages_ms": {k: round(v * 1000, 1) for k, v in stages.items()}}, data)

    try:
        await ws.accept()
        session = await loop.run_in_executor(analyse_pool, LiveSession, service.settings.live_size, 0.5,
                                                 service.settings.live_engine)
        await send({"type": "hello", "width": session.size[0], "height": session.size[1]})
        tasks = [asyncio.create_task(c()) for c in (receive, analyse, render)]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect):
                raise exc
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away (RuntimeError: sending on a socket it closed)
    finally:
        if session is not None:
            await loop.run_in_executor(analyse_pool, session.close)
        analyse_pool.shutdown(wait=False)
        render_pool.shutdown(wait=False)
        slots.release()
