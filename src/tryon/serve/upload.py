"""Multipart forms read wholly in memory, with a byte limit enforced while the body streams in.

Starlette's own form parser spools files over 1 MB to a temporary file; uploaded photos must
never touch the disk, so the service parses forms itself (with python-multipart's streaming
parser) into bytes it keeps in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from tryon.errors import ImageTooLargeError, InputError

MAX_PARTS = 16


class FormError(InputError):
    """The request body is not a usable multipart form."""


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.fields.get(name)
        return default if value is None or value == "" else value

    def flag(self, name: str) -> bool:
        return (self.fields.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


async def read_form(request: Request, max_bytes: int) -> Form:
    """Parse a ``multipart/form-data`` body; a part with a filename is a file, others are fields."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise FormError("send the request as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ImageTooLargeError(f"request body is larger than {max_bytes / 1e6:.0f} MB")

    form = Form()
    state: dict = {"parts": 0}

    def on_part_begin() -> None:
        state.update(headers={}, field=b"", value=b"", data=bytearray())
        state["parts"] += 1
        if state["parts"] > MAX_PARTS:
            raise FormError(f"too many form parts (at most {MAX_PARTS})")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"] += data[start:end]

    def on_part_end() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            return
        if b"filename" in disposition:
            form.files[name] = bytes(state["data"])
        else:
            form.fields[name] = state["data"].decode("utf-8", "replace")

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise ImageTooLargeError(f"request body is larger than {max_bytes / 1e6:.0f} MB")
            parser.write(chunk)
        parser.finalize()
    except InputError:
        raise
    except Exception as exc:  # the parser's own errors on malformed bodies
        raise FormError(f"malformed multipart body ({exc})") from None
    return form
