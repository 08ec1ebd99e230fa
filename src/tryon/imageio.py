"""Safe image loading and saving used by every stage.

Images flow through the library as RGB ``uint8`` arrays of shape (H, W, 3) and masks as
``uint8`` arrays of shape (H, W) with 0/255 values. Loading checks the format by content,
applies EXIF orientation, flattens alpha on white, converts CMYK / 16-bit / palette images,
and refuses decompression bombs before decoding pixels.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tryon.errors import ImageTooLargeError, InputError, UnreadableImageError

#: Largest accepted image, in pixels (about 40 megapixels, e.g. 7300 x 5500).
MAX_PIXELS = int(os.environ.get("TRYON_MAX_PIXELS", 40_000_000))
#: Largest accepted file, in bytes.
MAX_BYTES = int(os.environ.get("TRYON_MAX_BYTES", 50 * 1024 * 1024))
#: Smallest accepted side, in pixels: below this no analysis is meaningful.
MIN_SIDE = 64

ImageSource = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]
_ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO"}


def _name(source: ImageSource) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "image"


def _open(source: ImageSource) -> Image.Image:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise ImageTooLargeError(f"{path}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_BYTES:
            raise ImageTooLargeError(f"image is larger than {MAX_BYTES // (1024 * 1024)} MB")
        data = bytes(source)
    else:
        raise TypeError(f"unsupported image source type {type(source).__name__}")
    try:
        # Image.open reads only the header: the size check below happens before decoding. Our own
        # pixel limit applies; Pillow's warning about it would only repeat it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"{_name(source)}: image is too large (decompression bomb refused)") from None
    except UnidentifiedImageError:
        raise UnreadableImageError(f"{_name(source)}: not an image (unrecognised content)") from None
    except Exception as exc:  # truncated headers and the like
        raise UnreadableImageError(f"{_name(source)}: unreadable image ({exc})") from None
    if img.format not in _ACCEPTED_FORMATS:
        raise UnreadableImageError(f"{_name(source)}: unsupported image format {img.format}")
    return img


def _check_size(width: int, height: int, name: str, max_pixels: int | None = None) -> None:
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if width * height > limit:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} is too large ({width * height / 1e6:.0f} MP > {limit / 1e6:.0f} MP)"
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"{name}: {width}x{height} is too small (sides must be at least {MIN_SIDE} px)")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB")


def load_image(source: ImageSource, max_pixels: int | None = None) -> np.ndarray:
    """Load any supported image as an RGB uint8 array, or raise :class:`InputError`.

    ``max_pixels`` lowers the limit (a server's own); it is checked on the header, before decoding."""
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise InputError(f"image array must be HxWx3 or HxWx4, got shape {source.shape}")
        _check_size(arr.shape[1], arr.shape[0], "image", max_pixels)
        if arr.dtype != np.uint8:
            raise InputError(f"image array must be uint8, got {arr.dtype}")
        return np.ascontiguousarray(arr[..., :3])
    name = _name(source)
    img = source if isinstance(source, Image.Image) else _open(source)
    _check_size(img.width, img.height, name, max_pixels)
    try:
        img = ImageOps.exif_transpose(img)
        rgb = _to_rgb(img)
        rgb.load()
    except InputError:
        raise
    except Exception as exc:  # truncated pixel data, broken compression
        raise UnreadableImageError(f"{name}: unreadable image ({exc})") from None
    _check_size(rgb.width, rgb.height, name, max_pixels)
    return np.asarray(rgb, dtype=np.uint8).copy()


def load_mask(source: ImageSource, size: tuple[int, int] | None = None) -> np.ndarray:
    """Load a mask image as 0/255 uint8 (anything above mid-grey is 255), resized to (W, H) if given."""
    if isinstance(source, np.ndarray) and source.ndim == 2:
        gray = source.astype(np.uint8)
    else:
        gray = load_image(source).max(axis=2)
    if size is not None and (gray.shape[1], gray.shape[0]) != tuple(size):
        gray = np.asarray(Image.fromarray(gray).resize(tuple(size), Image.NEAREST))
    return np.where(gray > 127, 255, 0).astype(np.uint8)


def shrink_to(image: np.ndarray, max_side: int) -> np.ndarray:
    """The image with its longer side at most ``max_side`` (area-averaged), or the image itself."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


#: Output formats by name and by file extension.
FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}


def encode_image(array: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """Encode an RGB/L array as PNG, JPEG or WebP bytes. No metadata (EXIF, GPS) is written."""
    name = FORMATS.get(fmt.lower().lstrip("."))
    if name is None:
        raise InputError(f"unsupported output format {fmt!r} (use png, jpeg or webp)")
    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(array))
    if name == "PNG":
        img.save(buf, name, compress_level=3)  # 3x faster than the default 6, files ~10% larger
    elif name == "WEBP":
        img.save(buf, name, quality=quality, method=2)  # half the time of the default method 4, ~1% larger
    else:
        img.save(buf, name, quality=quality)
    return buf.getvalue()


def save_image(array: np.ndarray, path: str | os.PathLike, quality: int = 95) -> Path:
    """Write an RGB/L array; the format follows the extension. No metadata is written."""
    path = Path(path)
    if path.suffix.lower().lstrip(".") not in FORMATS:
        raise InputError(f"{path}: unsupported output extension {path.suffix.lower()!r} (use .png, .jpg or .webp)")
    data = encode_image(array, path.suffix, quality)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
