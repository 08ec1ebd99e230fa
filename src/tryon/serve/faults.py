"""Fault injection for the service's reliability checks: an engine that fails on request.

``register_faulty_engine()`` adds the engine ``faulty`` (never registered otherwise). It dresses the
person with the warp engine, unless the request's ``fault`` option asks it to fail: with a bug
(an unexpected exception: the request gets a 500 with its request id, the next ones succeed), a
GPU out of memory, missing weights, or to sleep first (``sleep_s``: requests in flight during a
shutdown, a deadline passing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tryon.engines.accelerator import OutOfMemoryError
from tryon.engines.base import Engine, TryOnResult
from tryon.engines.options import OptionError, option
from tryon.engines.registry import EngineSpec, register_engine
from tryon.engines.warp.engine import WarpEngine
from tryon.errors import OutfitError, WeightsError

FAULTS = ("none", "bug", "oom", "weights", "outfit")


class InjectedBug(RuntimeError):
    """The unexpected exception of ``fault=bug``: stands for a bug in an engine."""


@dataclass(frozen=True)
class FaultyOptions:
    fault: str = option("none", "What goes wrong: nothing, a bug (500), GPU out of memory (503), missing "
                                "weights (503), clothes that cannot be told apart (422).", choices=FAULTS,
                        per_request=True)
    sleep_s: float = option(0.0, "Seconds to sleep before the try-on (a slow model).", per_request=True)

    def check(self) -> None:
        if not 0.0 <= self.sleep_s <= 600.0:
            raise OptionError(f"sleep_s must be between 0 and 600, not {self.sleep_s}")


SPEC = EngineSpec(name="faulty", summary="The warp engine, failing on request (reliability checks only).",
                  options=FaultyOptions, factory="tryon.serve.faults:FaultyEngine",
                  weights_licence="none (test engine)")


def register_faulty_engine() -> None:
    register_engine(SPEC)


class FaultyEngine(Engine):
    name = "faulty"

    def __init__(self, options: FaultyOptions | None = None, person_analyzer=None, garment_analyzer=None):
        self.options = options or FaultyOptions()
        self.warp = WarpEngine(person_analyzer=person_analyzer, garment_analyzer=garment_analyzer)

    def run(self, person, garment, category="auto", *, mask=None, keypoints=None, person_analysis=None,
            garment_analysis=None, options: dict[str, Any] | None = None) -> TryOnResult:
        o = self.options_for(options)
        time.sleep(o.sleep_s)
        if o.fault == "bug":
            raise InjectedBug("injected bug (fault=bug)")
        if o.fault == "oom":
            raise OutOfMemoryError("injected: the GPU ran out of memory (fault=oom)")
        if o.fault == "weights":
            raise WeightsError("injected: the weights are missing (fault=weights)")
        if o.fault == "outfit":
            raise OutfitError("injected: the person's clothes could not be told apart (fault=outfit)")
        return self.warp.run(person, garment, category, mask=mask, keypoints=keypoints,
                             person_analysis=person_analysis, garment_analysis=garment_analysis)

    def close(self) -> None:
        self.warp.close()


@dataclass(frozen=True)
class Upload:
    """One request body for ``POST /v1/tryon``: its name, Content-Type header and bytes."""

    name: str
    content_type: str
    body: bytes


BOUNDARY = "tryonboundary"


def _part(name: str, data: bytes, filename: str | None = None, headers: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{headers}\r\n").encode() + data + b"\r\n"


def _form(*parts: bytes, end: bool = True) -> bytes:
    return b"".join(parts) + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def png_bomb(side: int = 12_000) -> bytes:
    """A valid grey PNG of ``side`` x ``side`` zeros: ~100 KB that would decode to side² bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row, out = zlib.compressobj(9), b"\0" * (side + 1), []
    for _ in range(side):
        out.append(packer.compress(row))
    out.append(packer.flush())
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", b"".join(out)) + chunk(b"IEND", b""))


def malformed_uploads(person: bytes, garment: bytes, max_upload_bytes: int) -> list[Upload]:
    """Broken or hostile try-on bodies, each of which must get a 4xx (and never a 5xx): truncated,
    wrong boundaries and types, huge headers, thousands of parts, duplicate fields, bombs."""
    ok = f"multipart/form-data; boundary={BOUNDARY}"
    good = _form(_part("person", person, "p.jpg"), _part("garment", garment, "g.jpg"))
    jpeg_header = person[:600]
    big_jpeg = bytearray(person)
    at = big_jpeg.find(b"\xff\xc0") if big_jpeg.find(b"\xff\xc0") >= 0 else big_jpeg.find(b"\xff\xc2")
    if at >= 0:  # the frame header's height and width set to 65000 x 65000
        big_jpeg[at + 5:at + 9] = (65000).to_bytes(2, "big") * 2
    return [
        Upload("truncated in a part", ok, good[: len(good) // 2]),
        Upload("truncated in a part's headers", ok, good[:40]),
        Upload("no closing boundary", ok, _form(_part("person", person, "p.jpg"), end=False)),
        Upload("another boundary in the body", "multipart/form-data; boundary=other", good),
        Upload("no boundary parameter", "multipart/form-data", good),
        Upload("empty body", ok, b""),
        Upload("text/plain type", "text/plain", good),
        Upload("urlencoded type", "application/x-www-form-urlencoded", b"person=abc&garment=def"),
        Upload("JSON type", "application/json", b'{"person": "abc"}'),
        Upload("no Content-Type", "", good),
        Upload("a 100 KB part header", ok, _form(_part("person", person, "p.jpg", "X-Pad: " + "a" * 100_000 + "\r\n"))),
        Upload("5,000 parts", ok, _form(*[_part(f"f{i}", b"x") for i in range(5000)])),
        Upload("1,000 empty parts", ok, _form(*[_part("", b"") for _ in range(1000)])),
        Upload("person given twice", ok, _form(_part("person", person, "a.jpg"), _part("person", person, "b.jpg"),
                                                _part("garment", garment, "g.jpg"))),
        Upload("category given twice", ok, _form(_part("person", person, "p.jpg"), _part("garment", garment, "g.jpg"),
                                                  _part("category", b"upper"), _part("category", b"lower"))),
        Upload("part without disposition", ok, f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode() + person
               + f"\r\n--{BOUNDARY}--\r\n".encode()),
        Upload("person as a text field", ok, _form(_part("person", b"not a file"), _part("garment", garment, "g.jpg"))),
        Upload("only a garment", ok, _form(_part("garment", garment, "g.jpg"))),
        Upload("empty person file", ok, _form(_part("person", b"", "p.jpg"), _part("garment", garment, "g.jpg"))),
        Upload("empty garment file", ok, _form(_part("person", person, "p.jpg"), _part("garment", b"", "g.jpg"))),
        Upload("truncated JPEG", ok, _form(_part("person", jpeg_header, "p.jpg"), _part("garment", garment, "g.jpg"))),
        Upload("random bytes as the person", ok, _form(_part("person", bytes(range(256)) * 64, "p.jpg"),
                                                       _part("garment", garment, "g.jpg"))),
        Upload("SVG as the person", ok, _form(_part("person", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "p.svg",
                                                    "Content-Type: image/svg+xml\r\n"), _part("garment", garment, "g.jpg"))),
        Upload("PDF as the garment", ok, _form(_part("person", person, "p.jpg"),
                                               _part("garment", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "g.pdf"))),
        Upload("text labelled image/png", ok, _form(_part("person", b"hello " * 100, "p.png", "Content-Type: image/png\r\n"),
                                                    _part("garment", garment, "g.jpg"))),
        Upload("PNG bomb (12,000 x 12,000)", ok, _form(_part("person", png_bomb(), "bomb.png"),
                                                       _part("garment", garment, "g.jpg"))),
        Upload("JPEG claiming 65,000 x 65,000", ok, _form(_part("person", bytes(big_jpeg), "big.jpg"),
                                                          _part("garment", garment, "g.jpg"))),
        Upload("tiny 8 x 8 PNG", ok, _form(_part("person", _tiny_png(), "p.png"), _part("garment", garment, "g.jpg"))),
        Upload("body over the upload limit", ok, _form(_part("person", b"\0" * (max_upload_bytes + 1), "p.jpg"))),
        Upload("a 1 MB category", ok, _form(_part("person", person, "p.jpg"), _part("garment", garment, "g.jpg"),
                                            _part("category", b"u" * 1_000_000))),
        Upload("unknown engine", ok, _form(_part("person", person, "p.jpg"), _part("garment", garment, "g.jpg"),
                                           _part("engine", b"../../etc/passwd"))),
        Upload("non-UTF-8 field name and value", ok, _form(_part("person", person, "p.jpg"), _part("garment", garment, "g.jpg"),
                                                          f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"\xff\xfe\"\r\n\r\n".encode("latin-1") + b"\xff\xfe\xfd\r\n")),
        Upload("a 200-character boundary", "multipart/form-data; boundary=" + "b" * 200, good),
        Upload("LF line endings only", ok, good.replace(b"\r\n", b"\n")),
        Upload("a nested multipart/mixed part", ok, _form(_part("person", b"--inner\r\n\r\nx\r\n--inner--", "p.jpg",
                                                                "Content-Type: multipart/mixed; boundary=inner\r\n"),
                                                          _part("garment", garment, "g.jpg"))),
    ]


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 80, 60)).save(out, "PNG")
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    """``python -m tryon.serve.faults --port P [--catalog DIR]``: the service with the ``faulty`` engine
    beside ``warp`` and JSON logs on stderr, for the reliability checks (benchmarks/service_reliability.py)."""
    import argparse
    from pathlib import Path

    from tryon.serve.logs import configure_json_logging
    from tryon.serve.runner import serve
    from tryon.serve.settings import ServeSettings

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--catalog", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=8)
    parser.add_argument("--deadline", type=float, default=30.0)
    args = parser.parse_args(argv)
    register_faulty_engine()
    configure_json_logging()
    serve(ServeSettings.from_env(port=args.port, catalog=args.catalog, engines=("warp", "faulty"),
                                 default_engine="warp", workers=args.workers, queue_size=args.queue,
                                 deadline_s=args.deadline))


if __name__ == "__main__":
    main()
