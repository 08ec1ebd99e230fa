"""Safe loading: content sniffing, EXIF orientation, odd modes, limits."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tryon.errors import InputError
from tryon.imageio import load_image, load_mask, save_image


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_orientation_is_applied(tmp_path):
    # A 200x100 landscape picture stored with "rotate 90" (orientation 6) must load as 100x200.
    img = Image.new("RGB", (200, 100), (10, 20, 30))
    img.paste((250, 0, 0), (0, 0, 20, 20))  # red square at the top-left
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_bytes(img, "JPEG", exif=exif, quality=95))
    arr = load_image(path)
    assert arr.shape == (200, 100, 3)
    assert arr[5, -5, 0] > 200 and arr[5, 5, 0] < 60  # the red corner is now top-right


def test_format_is_read_from_content_not_name(tmp_path):
    path = tmp_path / "photo.png"  # JPEG bytes behind a .png name
    path.write_bytes(_bytes(Image.new("RGB", (80, 80), (1, 2, 3)), "JPEG"))
    assert load_image(path).shape == (80, 80, 3)
    fake = tmp_path / "fake.jpg"
    fake.write_text("this is text")
    with pytest.raises(InputError, match="not an image"):
        load_image(fake)


@pytest.mark.parametrize("mode", ["CMYK", "P", "RGBA", "LA", "L", "I;16"])
def test_modes_become_rgb(mode):
    if mode == "I;16":
        img = Image.fromarray(np.full((70, 90), 40000, np.uint16))
        data = _bytes(img, "PNG")
    else:
        img = Image.new(mode, (90, 70))
        data = _bytes(img, "TIFF" if mode == "CMYK" else "PNG")
    arr = load_image(data)
    assert arr.shape == (70, 90, 3) and arr.dtype == np.uint8


def test_transparent_pixels_become_white():
    img = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    assert (load_image(_bytes(img, "PNG")) == 255).all()


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (10000, 9000)).save(path)  # 90 MP in a few kilobytes
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match="too large"):
        load_image(path)
    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 10000)).save(huge)  # 200 MP: past Pillow's own hard limit too
    with pytest.raises(InputError, match="too large"):
        load_image(huge)


def test_truncated_and_missing_files(tmp_path):
    data = _bytes(Image.new("RGB", (300, 300), (9, 9, 9)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError):
        load_image(path)
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "absent.jpg")


def test_tiny_images_refused():
    with pytest.raises(InputError, match="too small"):
        load_image(_bytes(Image.new("RGB", (20, 20)), "PNG"))


def test_save_writes_no_metadata_and_mask_roundtrip(tmp_path):
    arr = np.zeros((64, 64), np.uint8)
    arr[10:30, 10:30] = 255
    path = save_image(arr, tmp_path / "m.png")
    assert (load_mask(path) == arr).all()
    jpg = save_image(np.zeros((64, 64, 3), np.uint8), tmp_path / "x.jpg")
    assert not Image.open(jpg).getexif()
    with pytest.raises(InputError, match="extension"):
        save_image(arr, tmp_path / "x.gif")


def test_shrink_to_keeps_the_aspect_and_leaves_small_images_alone():
    from tryon.imageio import shrink_to

    big = np.zeros((1750, 1535, 3), np.uint8)
    big[:, 700:] = 200
    small = shrink_to(big, 1024)
    assert small.shape == (1024, 898, 3)
    assert abs(small[:, 450:].mean() - 200) < 1 and small[:, :400].max() == 0  # area-averaged, no ringing
    tiny = np.zeros((300, 200, 3), np.uint8)
    assert shrink_to(tiny, 1024) is tiny
