"""Inputs that ship with the installation, for `tryon demo`."""

from __future__ import annotations

import numpy as np

from tryon.errors import TryOnError


#: The demo photo's rows: scikit-image's astronaut from the top down to just above the helmet she
#: holds in front of her. The warp engine cannot tell an object held in front of the body from the
#: garment (README, "what to expect"): it erased the helmet into a dark smear, the first thing a
#: visitor saw. The cut shows her from the chest up.
DEMO_ROWS = 336


def demo_person() -> np.ndarray:
    """scikit-image's astronaut.png (public domain, NASA, bundled in the scikit-image wheel), cut
    above the helmet she holds (:data:`DEMO_ROWS`)."""
    try:
        from skimage import data
    except ImportError:
        raise TryOnError("the demo photo comes with scikit-image: pip install 'tryon[demo]'") from None
    return np.ascontiguousarray(data.astronaut()[:DEMO_ROWS])


def demo_garment(width: int = 768, height: int = 1024) -> np.ndarray:
    """A striped long-sleeved top with a plain mock neck, product shot drawn by the project
    (Apache-2.0, like the code).

    Long sleeves and a mock neck: the demo photo's arms are in a spacesuit's sleeves and her neck
    in a black turtleneck, and a garment that covers what the person wears now is what the warp
    engine does well (short sleeves or a crew neck would need bare arms and a bare neck it can only
    draw as smooth shapes)."""
    from PIL import Image, ImageDraw

    s = width / 768
    img = Image.new("RGB", (width, height), (255, 255, 255))
    shirt = [(270, 120), (322, 106), (322, 80), (446, 80), (446, 106), (498, 120), (640, 190), (705, 440),
             (742, 880), (662, 895), (603, 450), (585, 380), (585, 900), (183, 900), (183, 380), (165, 450),
             (106, 895), (26, 880), (63, 440), (128, 190)]
    shirt = [(x * s, y * s) for x, y in shirt]
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).polygon(shirt, fill=255)
    pattern = Image.new("RGB", (width, height), (28, 92, 168))
    draw = ImageDraw.Draw(pattern)
    for y in range(int(118 * s), height, int(56 * s)):  # below the neck band, which stays plain
        draw.rectangle([0, y, width, y + int(18 * s)], fill=(245, 245, 240))
    draw.rectangle([300 * s, 300 * s, 468 * s, 420 * s], fill=(230, 70, 40))
    draw.ellipse([350 * s, 325 * s, 418 * s, 393 * s], fill=(255, 220, 60))
    cloth = _fabric(np.asarray(pattern, np.float32), np.asarray(mask) > 0, s)
    img.paste(Image.fromarray(cloth), (0, 0), mask)
    ImageDraw.Draw(img).line(shirt + [shirt[0]], fill=(20, 60, 120), width=max(2, int(3 * s)))
    return np.asarray(img)


#: The drawn top looks like a photographed one, not a flat graphic: its rim turns away from the
#: light (darker by RIM_SHADE within about RIM_WIDTH pixels at 768 wide), soft vertical folds
#: (FOLD_SHADE deep, FOLD_PERIOD apart), ribbed cuffs and hem (RIB_PERIOD), and a knit's fine grain
#: (KNIT_GRAIN grey levels). The try-on carries them: a flat graphic read as a paper cut-out.
RIM_SHADE, RIM_WIDTH = 0.14, 14.0
FOLD_SHADE, FOLD_PERIOD = 0.05, 95.0
RIB_PERIOD, RIB_SHADE = 7.0, 0.08
KNIT_GRAIN = 3.0


def _fabric(pattern: np.ndarray, mask: np.ndarray, s: float) -> np.ndarray:
    """The flat ``pattern`` (RGB float) shaded and grained like a photographed knit inside ``mask``."""
    import cv2

    h, w = mask.shape
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    shade = 1.0 - RIM_SHADE * np.exp(-inside / (RIM_WIDTH * s))
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    # Folds run down the body, wavering a little, fading out towards the shoulders.
    waver = 6.0 * s * np.sin(ys / (140.0 * s))
    folds = 0.5 + 0.5 * np.cos(2 * np.pi * (xs + waver) / (FOLD_PERIOD * s))
    shade *= 1.0 - FOLD_SHADE * folds * np.clip((ys - 200 * s) / (300 * s), 0.0, 1.0)
    # Ribbed cuffs and hem: the last rows of the top and of each sleeve.
    rib = (ys > 862 * s) | ((ys > 820 * s) & ((xs < 170 * s) | (xs > 598 * s)))
    shade *= 1.0 - RIB_SHADE * rib * (np.cos(2 * np.pi * xs / (RIB_PERIOD * s)) > 0.3)
    grain = cv2.GaussianBlur(np.random.default_rng(7).standard_normal((h, w)).astype(np.float32), (0, 0), 0.7)
    out = pattern * shade[..., None] + KNIT_GRAIN * grain[..., None] / max(float(grain.std()), 1e-6)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
