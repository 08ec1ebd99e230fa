"""The service's errors as one table: which exception gives which HTTP status, code and wording.

The table is data: :func:`error_response` reads it, the documentation's table is written from it
(:func:`errors_markdown`), and a test sends a request for every row and checks the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tryon.engines.accelerator import OutOfMemoryError
from tryon.engines.options import OptionError
from tryon.engines.registry import UnknownEngineError
from tryon.errors import (GarmentError, ImageTooLargeError, InputError, ModelUnavailableError, MultiplePersonsError,
                          NoPersonError, OutfitError, PoseError, TryOnError, UnreadableImageError, WeightsError)
from tryon.serve.catalog import NoOutfitError, NotIndexedError, UnknownGarmentError
from tryon.serve.pool import BusyError, DeadlineError
from tryon.serve.service import FieldError
from tryon.serve.upload import FormError

REQUEST_ID_HEADER = "X-Request-ID"


class NotReadyError(TryOnError):
    """The models are still loading (or failed to load)."""


class ShuttingDownError(TryOnError):
    """The server received SIGTERM: requests in flight finish, new ones are turned away."""


class AuthError(TryOnError):
    """No API key, or a wrong one."""


class RouteNotFoundError(TryOnError):
    """No such route (Starlette's own 404, answered in the service's format)."""


class MethodError(TryOnError):
    """The route exists, but not for this method."""


class UploadTimeoutError(InputError):
    """The request body did not arrive within the upload time limit (a stalled or trickling client)."""


class InternalError(Exception):
    """A bug: anything that is not one of the errors above."""


@dataclass(frozen=True)
class ErrorKind:
    status: int
    code: str
    when: str  # the documentation's wording
    errors: tuple[type[BaseException], ...]


#: Most specific first: the first row an error is an instance of decides the answer.
ERRORS: tuple[ErrorKind, ...] = (
    ErrorKind(401, "unauthorized", "no API key, or a wrong one (`X-API-Key` or `Authorization: Bearer`)", (AuthError,)),
    ErrorKind(404, "not_found", "an unknown catalog `garment_id`, or no such route",
              (UnknownGarmentError, RouteNotFoundError)),
    ErrorKind(405, "method_not_allowed", "the route exists, but not for this method", (MethodError,)),
    ErrorKind(408, "slow_upload", "the body did not arrive within the upload time limit (`TRYON_SERVE_UPLOAD_TIMEOUT_S`, 60 s)",
              (UploadTimeoutError,)),
    ErrorKind(409, "not_indexed", "similar, recommend or search before `tryon catalog index` (or search without "
              "`--clip`)", (NotIndexedError,)),
    ErrorKind(413, "too_large", "the body is over the upload limit, or an image over the pixel limit "
              "(decompression bombs among them)", (ImageTooLargeError,)),
    ErrorKind(422, "no_person", "no person with visible head and shoulders in the person photo", (NoPersonError,)),
    ErrorKind(422, "several_persons", "several persons fill the photo and none clearly dominates",
              (MultiplePersonsError,)),
    ErrorKind(422, "bad_pose", "the person's pose hides what the garment needs (knees for trousers...)",
              (PoseError,)),
    ErrorKind(422, "outfit_unclear", "the person's clothes cannot be told apart where the new garment goes (two "
              "garments read as one): it would be hidden under what the try-on keeps", (OutfitError,)),
    ErrorKind(422, "bad_garment", "no garment outline in the garment photo, or a photo of a person from which no "
              "garment of the category could be cut out", (GarmentError,)),
    ErrorKind(422, "no_outfit", "`POST /v1/recommend` with a person who wears no garment we can see",
              (NoOutfitError,)),
    ErrorKind(422, "bad_field", "a missing or empty part, or a field with a value the service cannot use (an "
              "unknown engine, option, category or format, `k` outside 1..100)",
              (FieldError, UnknownEngineError, OptionError, RequestValidationError)),
    ErrorKind(400, "bad_image", "an uploaded file is not a readable image (JPEG, PNG, WebP, BMP, TIFF, GIF)",
              (UnreadableImageError,)),
    ErrorKind(400, "bad_request", "the body is not a multipart form, or a malformed one", (FormError,)),
    ErrorKind(422, "bad_input", "any other problem with the photos (an image under 64 px a side...)", (InputError,)),
    ErrorKind(429, "busy", "every worker is busy and the queue is full (see `Retry-After`)", (BusyError,)),
    ErrorKind(503, "not_ready", "the models are still loading, or failed to load", (NotReadyError,)),
    ErrorKind(503, "shutting_down", "the server is stopping: requests in flight finish, new ones get this",
              (ShuttingDownError,)),
    ErrorKind(503, "out_of_memory", "the GPU ran out of memory for this request", (OutOfMemoryError,)),
    ErrorKind(504, "deadline", "the request waited or ran past the deadline (`--deadline`)", (DeadlineError,)),
    # Last but the bugs: any other error of ours is a set-up problem (a missing package or device).
    ErrorKind(503, "model_unavailable", "the engine's weights, a package or the device it needs is missing",
              (ModelUnavailableError, WeightsError, TryOnError)),
    ErrorKind(500, "internal", "a bug: the log has the traceback under the request id", (InternalError,)),
)


def error_kind(exc: BaseException) -> ErrorKind:
    """The table's row for ``exc``; anything the table does not name is a bug (500)."""
    if isinstance(exc, HTTPException):  # Starlette's own: unknown routes and methods
        exc = RouteNotFoundError() if exc.status_code == 404 else MethodError()
    for kind in ERRORS:
        if isinstance(exc, kind.errors):
            return kind
    return ERRORS[-1]


def error_response(exc: BaseException, request_id: str | None = None) -> JSONResponse:
    """``{"error": code, "message": ..., "request_id": ...}`` with the table's status."""
    kind = error_kind(exc)
    if kind.code == "internal":
        message = "internal error; it has been logged"
    elif kind.code == "not_found" and not isinstance(exc, UnknownGarmentError):
        message = "no such route; the API is described at /docs"
    elif kind.code == "method_not_allowed":
        message = "this route does not take that method; the API is described at /docs"
    elif isinstance(exc, RequestValidationError):
        message = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}" for e in exc.errors())
    else:
        message = str(exc)
    body = {"error": kind.code, "message": message}
    headers = {}
    if request_id:
        body["request_id"] = request_id
        headers[REQUEST_ID_HEADER] = request_id
    if isinstance(exc, BusyError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, ShuttingDownError):
        headers["Connection"] = "close"
    return JSONResponse(body, status_code=kind.status, headers=headers)


def errors_markdown() -> str:
    """The documentation's table of statuses and codes (docs/service.md holds it between markers)."""
    rows = ["| status | `error` | when |", "|---|---|---|"]
    rows += [f"| {k.status} | `{k.code}` | {k.when} |" for k in sorted(ERRORS, key=lambda k: k.status)]
    return "\n".join(rows)


if __name__ == "__main__":  # the table for docs/service.md
    print(errors_markdown())
