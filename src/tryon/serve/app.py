"""The HTTP shell: FastAPI routes over :class:`TryOnService`, errors as JSON with the right status."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import threading
import time
import uuid
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from tryon.engines.registry import engine_options, engine_spec
from tryon.errors import InputError, TryOnError
from tryon.serve.errors import (REQUEST_ID_HEADER, AuthError, InternalError, NotReadyError, ShuttingDownError,
                                UploadTimeoutError, error_kind, error_response)
from tryon.serve.live import TRY_AGAIN_LATER, live_endpoint
from tryon.serve.metrics import Metrics
from tryon.serve.pool import DeadlineError
from tryon.serve.service import FieldError, TryOnService
from tryon.serve.settings import ServeSettings
from tryon.serve.upload import read_form

log = logging.getLogger("tryon.serve")


class Traffic:
    """Requests in flight, and since when the server drains (SIGTERM received; see tryon.serve.runner).

    Only the event loop's thread touches it: no lock."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.draining_since: float | None = None

    def drain(self) -> None:
        if self.draining_since is None:
            self.draining_since = time.monotonic()


#: A request id a client sends (X-Request-ID) is kept when it looks like one; otherwise one is made.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


_FORM_SCHEMA = {
    "person": {"type": "string", "format": "binary", "description": "Photo of one person (JPEG, PNG, WebP)."},
    "garment": {"type": "string", "format": "binary", "description": "Product photo of the garment."},
    "garment_id": {"type": "string", "description": "A garment of the catalog, instead of 'garment'."},
    "category": {"type": "string", "enum": ["auto", "upper", "lower", "dress"], "default": "auto"},
}


#: The try-on form's own fields; any other field is a per-request option of the chosen engine.
_TRYON_FIELDS = {"garment_id", "category", "engine", "format", "anonymize"}
_JSON_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string", "size": "string"}


def request_option_fields(engines: tuple[str, ...]) -> dict:
    """The per-request options of the served engines, as form fields for the OpenAPI document."""
    fields: dict = {}
    for name in engines:
        for info in engine_spec(name).describe_options():
            if info.per_request:
                entry = fields.setdefault(info.name, {"type": _JSON_TYPES[info.kind], "description": ""})
                entry["description"] += f"{name}: {info.help} (default {info.shown_default()}). "
                if info.choices:
                    entry["enum"] = list(info.choices)
    return fields


def _form_doc(extra: dict, required: list[str]) -> dict:
    schema = {"type": "object", "properties": {**_FORM_SCHEMA, **extra}, "required": required}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def _count(value: object) -> int:
    """``k`` of a catalog request, checked as the catalog checks it, but a 422 (a bad field)."""
    from tryon.catalog.recommend import check_count

    try:
        k = int(str(value))
        check_count(k)
    except (ValueError, InputError) as exc:
        raise FieldError(str(exc) if isinstance(exc, InputError) else "k must be a whole number") from None
    return k


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The service's ASGI app. Models load in the background; /readyz says when they are loaded."""
    settings = settings or ServeSettings.from_env()
    metrics = Metrics()
    state: dict = {"service": None, "error": None}
    live_slots = threading.BoundedSemaphore(settings.workers)

    def load() -> None:
        try:
            state["service"] = TryOnService(settings, metrics)
        except TryOnError as exc:  # a set-up problem (missing weights...): said in one line, and by /readyz
            log.error("the service failed to start: %s", exc)
            state["error"] = exc
        except Exception as exc:  # a bug: the traceback is for us
            log.exception("the service failed to start")
            state["error"] = exc

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loader = threading.Thread(target=load, name="tryon-load", daemon=True)
        loader.start()
        yield
        await asyncio.to_thread(loader.join)
        if state["service"] is not None:
            await asyncio.to_thread(state["service"].close)

    app = FastAPI(title="tryon", version=_version(), lifespan=lifespan,
                  description="Virtual try-on: a person photo and a garment photo in, the person wearing it out.")
    app.state.tryon = state  # {"service": TryOnService | None, "error": ...}, for operators' hooks and tests
    traffic = app.state.traffic = Traffic()  # read by tryon.serve.runner on SIGTERM

    def service() -> TryOnService:
        if state["service"] is None:
            reason = f"the service failed to start: {state['error']}" if state["error"] else "models are loading"
            raise NotReadyError(reason)
        return state["service"]

    def check_key(headers, query) -> None:
        if not settings.api_keys:
            return
        given = headers.get("x-api-key") or query.get("key") or ""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not any(hmac.compare_digest(given.encode(), k.encode()) for k in settings.api_keys):
            raise AuthError("a valid API key is required (X-API-Key header or Authorization: Bearer)")

    #: Paths still answered while draining: the load balancer's probes.
    probes = ("/healthz", "/readyz", "/metrics")

    @app.middleware("http")
    async def observe(request: Request, call_next):
        """Request id, API key, draining, errors as JSON, metrics and one JSON log line per request."""
        t = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        request.state.request_id = request_id
        traffic.in_flight += 1
        failure: BaseException | None = None
        try:
            if traffic.draining_since is not None and request.url.path not in probes:
                raise ShuttingDownError("the server is shutting down; try again shortly (another replica)")
            if request.url.path.startswith("/v1/"):
                check_key(request.headers, request.query_params)
            response = await call_next(request)
        except TryOnError as exc:
            failure, response = exc, error_response(exc, request_id)
        except Exception as exc:  # a bug: the traceback goes to the log under the request id
            failure, response = exc, error_response(InternalError(), request_id)
        finally:
            traffic.in_flight -= 1
        response.headers[REQUEST_ID_HEADER] = request_id
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        seconds = time.perf_counter() - t
        metrics.requests.labels(path, request.method, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(seconds)
        if response.status_code in (401, 413, 429, 503):
            metrics.rejections.labels(str(response.status_code)).inc()
        fields = {"request_id": request_id, "method": request.method, "route": path,
                  "status": response.status_code, "duration_ms": round(seconds * 1000, 1)}
        if route is None:  # no route template: the path itself (at most 200 characters)
            fields["path"] = request.url.path[:200]
        engine = response.headers.get("X-Tryon-Engine") or getattr(request.state, "engine", None)
        if engine:
            fields["engine"] = engine
        failed = error_kind(failure).code if failure is not None else None
        error = getattr(request.state, "error", None) or failed
        if error:
            fields["error"] = error
        if failed == "internal":
            log.error("request failed", extra={"fields": fields},
                      exc_info=(type(failure), failure, failure.__traceback__))
        else:
            log.info("request", extra={"fields": fields})  # never bodies nor image data
        return response

    if settings.cors_origins:  # added last, so outermost: error answers carry the CORS headers too
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type", REQUEST_ID_HEADER],
                           expose_headers=["Server-Timing", "X-Tryon-Engine", "X-Tryon-Category",
                                           "X-Tryon-Person-Cache", "Retry-After", REQUEST_ID_HEADER])

    def answer(request: Request, exc: Exception) -> JSONResponse:
        """An error raised in a route: the table's answer, its code kept for the log line."""
        request.state.error = error_kind(exc).code
        return error_response(exc, getattr(request.state, "request_id", None))

    for kind in (TryOnError, HTTPException, RequestValidationError):
        app.add_exception_handler(kind, answer)

    async def wait(future) -> object:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout=settings.deadline_s)
        except asyncio.TimeoutError:
            future.cancel()
            raise DeadlineError(f"the request did not finish within {settings.deadline_s:g} s") from None

    max_body = int(settings.max_upload_mb * 1024 * 1024)

    async def form_of(request: Request):
        """The request's form, or 408 when the body trickles in slower than the upload limit allows."""
        try:
            return await asyncio.wait_for(read_form(request, max_body), settings.upload_timeout_s)
        except asyncio.TimeoutError:
            raise UploadTimeoutError(f"the upload did not arrive within {settings.upload_timeout_s:g} s") from None

    @app.post("/v1/tryon", tags=["try-on"], response_class=Response, openapi_extra=_form_doc({
        "engine": {"type": "string", "default": settings.default_engine, "enum": list(settings.engines)},
        "format": {"type": "string", "enum": ["webp", "png", "jpeg"], "default": "webp"},
        "anonymize": {"type": "boolean", "default": False, "description": "Blur the face in the result."},
        **request_option_fields(settings.engines),
    }, ["person"]), responses={200: {"content": {"image/webp": {}, "image/png": {}, "image/jpeg": {}},
                                     "description": "The try-on picture; stage timings in Server-Timing."}})
    async def tryon(request: Request) -> Response:
        """Dress the person in the garment. The picture has the person photo's size and no metadata."""
        svc = service()
        form = await form_of(request)
        request.state.engine = form.text("engine") or settings.default_engine
        future = svc.submit_tryon(form.files.get("person"), form.files.get("garment"), form.text("garment_id"),
                                  form.text("category", "auto"), form.text("engine"), form.text("format", "webp"),
                                  form.flag("anonymize"),
                                  {k: v for k, v in form.fields.items() if k not in _TRYON_FIELDS and v != ""})
        out = await wait(future)
        timing = ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in out.timings.items())
        return Response(out.image, media_type=out.media_type, headers={
            "Server-Timing": timing, "X-Tryon-Engine": out.engine, "X-Tryon-Category": out.category.value,
            "X-Tryon-Person-Cache": "hit" if out.person_cached else "miss", "Cache-Control": "no-store"})

    @app.post("/v1/analyze", tags=["analysis"], openapi_extra=_form_doc({}, []))
    async def analyze(request: Request) -> JSONResponse:
        """Keypoints (BODY_25 and COCO-18), face box, person mask, parsing and agnostic masks of a person
        photo, and the category, landmarks and mask of a garment. Masks are PNG data URLs."""
        svc = service()
        form = await form_of(request)
        future = svc.submit_analyze(form.files.get("person"), form.files.get("garment"), form.text("garment_id"),
                                    form.text("category", "auto"))
        return JSONResponse(await wait(future), headers={"Cache-Control": "no-store"})

    @app.get("/v1/garments", tags=["catalog"])
    async def garments() -> dict:
        """The catalog's garments with links to their photos and thumbnails; ``search``: whether text search
        is on (GET /v1/search)."""
        return {"garments": [g.describe() for g in service().catalog.list()], "search": settings.clip is not None}

    @app.get("/v1/search", tags=["catalog"])
    async def search(q: str = "", k: str = "8") -> dict:
        """Garments matching a text query ("red silk V-neck dress"), by the CLIP model the server was started
        with (``--clip``) and the catalog indexed with; 409 when text search is off."""
        if not q.strip():
            raise FieldError("q (the search text) is required")
        return {"garments": await asyncio.to_thread(service().catalog.search, q, _count(k))}

    @app.get("/v1/garments/{garment_id}/image", tags=["catalog"], response_class=Response)
    async def garment_image(garment_id: str, size: str = "full") -> Response:
        """A catalog photo as stored (``size=full``) or a WebP thumbnail (``size=thumb``)."""
        catalog = service().catalog
        if size == "thumb":
            data = await asyncio.to_thread(catalog.thumbnail, garment_id)
            return Response(data, media_type="image/webp", headers={"Cache-Control": "public, max-age=3600"})
        if size != "full":
            raise FieldError("size must be full or thumb")
        item = catalog.get(garment_id)
        media = {".png": "image/png", ".webp": "image/webp"}.get(item.path.suffix.lower(), "image/jpeg")
        data = await asyncio.to_thread(item.path.read_bytes)
        return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/v1/garments/{garment_id}/similar", tags=["catalog"])
    async def similar_garments(garment_id: str, k: str = "8") -> dict:
        """Garments like this one (the catalog's search index, ``tryon catalog index``), best first, with
        their names, prices and each part of their similarity."""
        return {"garments": await asyncio.to_thread(service().catalog.similar, garment_id, _count(k))}

    @app.post("/v1/recommend", tags=["catalog"], openapi_extra={"requestBody": {"content": {
        "application/json": {"schema": {"type": "object", "required": ["garment_id"], "properties": {
            "garment_id": {"type": "string"}, "k": {"type": "integer", "default": 8, "minimum": 1, "maximum": 100},
            "liked": {"type": "array", "items": {"type": "string"},
                      "description": "Garments the shopper liked: their interest vector."}}}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["person"], "properties": {
            "person": {"type": "string", "format": "binary", "description": "A photo: what goes with what they wear."},
            "wearing": {"type": "string", "enum": ["upper", "lower"], "description": "Default: the most visible."},
            "k": {"type": "integer", "default": 8}, "liked": {"type": "string", "description": "Comma-separated ids."}}}}}}})
    async def recommend(request: Request) -> dict:
        """Complete the look: garments of the complementary category that go with ``garment_id`` (JSON), or with
        the garment a person wears in a photo (multipart ``person``), best first, each score explained."""
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await form_of(request)
            if "person" not in form.files:
                raise FieldError("send a person photo as the 'person' part (or JSON with a garment_id)")
            liked = tuple(x for x in (form.text("liked") or "").split(",") if x)
            if form.text("wearing") not in (None, "upper", "lower", "dress"):
                raise FieldError("wearing must be upper, lower or dress")
            return await asyncio.to_thread(service().catalog.goes_with_outfit, form.files["person"],
                                           form.text("wearing"), _count(form.text("k", "8")), liked)
        try:
            body = await request.json()
        except ValueError:
            raise FieldError("the body must be JSON: {\"garment_id\": ..., \"k\": 8, \"liked\": [...]}, or a "
                             "multipart form with a person photo") from None
        if not isinstance(body, dict) or not isinstance(body.get("garment_id"), str):
            raise FieldError("garment_id (a string) is required")
        liked = body.get("liked", [])
        if not isinstance(liked, list) or not all(isinstance(x, str) for x in liked):
            raise FieldError("liked must be a list of garment ids")
        looks = await asyncio.to_thread(service().catalog.goes_with, body["garment_id"], _count(body.get("k", 8)),
                                        tuple(liked))
        return {"garments": looks}

    @app.get("/v1/engines", tags=["try-on"])
    async def engines() -> dict:
        """The engines served here: the licence of their weights, how many requests they batch, and their
        options as this server runs them (set by TRYON_<ENGINE>_* or the config file, from each engine's
        declaration)."""
        out = []
        for name in settings.engines:
            spec, options = engine_spec(name), engine_options(name)
            out.append({"name": name, "default": name == settings.default_engine, "summary": spec.summary,
                        "weights_licence": spec.weights_licence, "max_batch": spec.max_batch,
                        "options": [{"name": i.name, "kind": i.kind, "value": getattr(options, i.name),
                                     "default": i.default, "help": i.help, "choices": i.choices,
                                     "per_request": i.per_request}
                                    for i in spec.describe_options()]})
        return {"engines": out, "live_engine": settings.live_engine}

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> dict:
        """The models are loaded and requests will be served (503 while loading and while shutting down)."""
        if traffic.draining_since is not None:
            raise ShuttingDownError("the server is shutting down")
        svc = service()
        return {"status": "ready", "engines": list(settings.engines), "garments": len(svc.catalog),
                "queue": {name: lane.depth for name, lane in svc.lanes.items()}}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics: requests, latency per route, engine and stage, queue depth, rejections."""
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        try:
            if traffic.draining_since is not None:
                raise ShuttingDownError("the server is shutting down")
            check_key(ws.headers, ws.query_params)
            svc = service()
        except TryOnError as exc:
            await ws.close(code=1008 if isinstance(exc, AuthError) else TRY_AGAIN_LATER, reason=str(exc))
            return
        await live_endpoint(ws, svc, live_slots)

    static = resources.files("tryon.serve") / "static"

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it whatever the page links
        return Response((static / "favicon.svg").read_bytes(), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tryon")
    except PackageNotFoundError:
        return "0"
