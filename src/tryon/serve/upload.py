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

#: Parts in one form: a try-on has about six; thousands of tiny parts are an attack on the parser.
MAX_PARTS = 16
#: Bytes of headers in one part: a real part's disposition and type fit in a few hundred.
MAX_PART_HEADER_BYTES = 16 * 1024


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
    too_large = f"request body is larger than {max_bytes / 2**20:g} MB"
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ImageTooLargeError(too_large)

    form = Form()
    state: dict = {"parts": 0}

    def on_part_begin() -> None:
        state.update(headers={}, field=b"", value=b"", data=bytearray(), header_bytes=0)
        state["parts"] += 1
        if state["parts"] > MAX_PARTS:
            raise FormError(f"too many form parts (at most {MAX_PARTS})")

    def header_bytes(data: bytes) -> bytes:
        state["header_bytes"] += len(data)
        if state["header_bytes"] > MAX_PART_HEADER_BYTES:
            raise FormError(f"a form part's headers are over {MAX_PART_HEADER_BYTES // 1024} KB")
        return data

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += header_bytes(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += header_bytes(data[start:end])

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
        if name in form.files or name in form.fields:
            raise FormError(f"the form gives {name!r} twice")
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
                raise ImageTooLargeError(too_large)
            parser.write(chunk)
        parser.finalize()
    except InputError:
        raise
    except Exception as exc:  # the parser's own errors on malformed bodies
        raise FormError(f"malformed multipart body ({exc})") from None
    return form
