"""Flat-lay product photos cut from evalset persons: made of the worn garment's own pixels, on white,
in the garment's colour, laid out at random but reproducibly."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from tryon.category import Category
from tryon.errors import InputError
from tryon.person.parsing import Label, of_labels
from tryon.garment.flatlay import FlatLayParams, flat_lay, garment_labels, worn_category

#: Studio photos covering the three categories under our parser: tops (IDM-VTON 00055, catvton-flux
#: 1), trousers (OOTDiffusion 05997), a skirt (FitDiT 8) and a dress (OOTDiffusion 052472).
PERSONS = ("IDM-VTON__00055_00.jpg", "catvton-flux__1.jpg", "OOTDiffusion__05997_00.jpg", "FitDiT__8.png",
           "OOTDiffusion__052472_0.jpg")
DRESSED = "OOTDiffusion__052472_0.jpg"
SIZE = (576, 768)

#: No randomness but the placement: the flat-lay is the cleaned cut-out, scaled.
PLAIN = FlatLayParams(perspective=0.0, scale_range=(0.8, 0.8), max_offset=0.0, brightness=0.0, contrast=0.0,
                      saturation=0.0, hue_degrees=0.0, feather_px=0)
#: The same without any cleaning: the parse's garment pixels as they are.
RAW = dataclasses.replace(PLAIN, body_colour_ratio=0.0, erode_px=0, strand_fraction=0.0, min_part_share=0.0)

#: RGB cells of 4 levels, matched one cell either way: a colour "is found" among others when one of
#: them lies within about 4-8 levels per channel (a few ΔE), which absorbs resampling and JPEG noise.
CELL = 4


@pytest.fixture(scope="module")
def persons(evalset, person_analysis):
    by_name = {e.path.name: e for e in evalset.of_kind("person", "studio")}
    missing = [n for n in PERSONS if n not in by_name]
    if missing:
        pytest.skip(f"evalset lacks {missing}")
    out = {}
    for name in PERSONS:
        analysis = person_analysis(by_name[name].path)
        out[name] = (analysis.image, analysis.parse)
    return out


def _palette(pixels: np.ndarray) -> np.ndarray:
    """The RGB cells holding any of ``pixels``, grown by one cell in every direction."""
    n = 256 // CELL
    cells = np.zeros((n + 2,) * 3, bool)
    q = pixels.astype(int) // CELL + 1
    cells[q[:, 0], q[:, 1], q[:, 2]] = True
    grown = np.zeros_like(cells)
    for shift in np.ndindex(3, 3, 3):
        grown |= np.roll(cells, np.array(shift) - 1, axis=(0, 1, 2))
    return grown


def _found(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    q = pixels.astype(int) // CELL + 1
    return palette[q[:, 0], q[:, 1], q[:, 2]]


def _mean_lab(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels.reshape(-1, 1, 3).astype(np.float32) / 255, cv2.COLOR_RGB2LAB).reshape(-1, 3).mean(0)


def _garment(parse: np.ndarray) -> np.ndarray:
    return of_labels(parse, garment_labels(worn_category(parse)))


def test_flat_lay_is_made_of_the_worn_garment_not_of_face_skin_or_background(persons):
    for name, (image, parse) in persons.items():
        garment = _garment(parse).astype(np.uint8)
        # Well inside the parse's garment (15 px from its edge) every pixel is garment: the
        # reference colours. Colours found only on the face, hair and skin, or only on the
        # background, are what a flat-lay must not show.
        interior = cv2.erode(garment, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))) > 0
        own = _palette(image[interior])
        body = of_labels(parse, (Label.HAIR, Label.NECK, Label.FACE, Label.LEFT_ARM, Label.RIGHT_ARM,
                                 Label.LEFT_LEG, Label.RIGHT_LEG))
        body_only = _palette(image[body]) & ~own
        background_only = _palette(image[parse == Label.BACKGROUND]) & ~own

        def shares(params):
            lay = flat_lay(image, parse, SIZE, np.random.default_rng(0), params=params)
            pixels = lay.image[lay.mask > 0]
            return [_found(pixels, p).mean() for p in (own, body_only, background_only)]

        own_share, body_share, background_share = shares(PLAIN)
        _, raw_body, raw_background = shares(RAW)
        # 95%: linear resampling mixes neighbouring colours at the edge and in fine prints, which
        # can leave the interior's palette; on these photos 98-100% of the pixels stay in it.
        assert own_share >= 0.95, (name, own_share)
        # What comes from elsewhere is a trace (the evalset's studio photos: at most 1.8%), and
        # the cleaning removes most of what the parse alone would bring along.
        assert body_share <= 0.025 and background_share <= 0.015, (name, body_share, background_share)
        assert body_share <= 0.5 * raw_body + 1e-3, (name, body_share, raw_body)
        assert background_share <= 0.5 * raw_background + 1e-3, (name, background_share, raw_background)


def test_canvas_is_white_outside_the_garment_and_the_garment_fills_the_scale_range(persons):
    params = FlatLayParams(perspective=0.0)
    for seed, (name, (image, parse)) in enumerate(persons.items()):
        lay = flat_lay(image, parse, SIZE, np.random.default_rng(seed), params=params)
        assert lay.image.shape == (SIZE[1], SIZE[0], 3) and lay.image.dtype == np.uint8
        assert lay.mask.shape == (SIZE[1], SIZE[0]) and set(np.unique(lay.mask)) == {0, 255}
        assert (lay.image[lay.mask == 0] == 255).all(), name
        # The garment, not the white, is what the jitter changed: it is not white itself.
        assert lay.image[lay.mask > 0].mean() < 250, name
        x, y, w, h = cv2.boundingRect(lay.mask)
        fill = max(w / SIZE[0], h / SIZE[1])
        lo, hi = params.scale_range
        assert lo - 0.01 <= fill <= hi + 0.01, (name, fill)
        assert x > 0 and y > 0 and x + w < SIZE[0] and y + h < SIZE[1], name


def test_category_is_the_worn_one(persons):
    for name, (image, parse) in persons.items():
        lay = flat_lay(image, parse, SIZE, np.random.default_rng(0))
        assert lay.category == worn_category(parse), name
    image, parse = persons[DRESSED]
    if not of_labels(parse, (Label.DRESS,)).any():
        pytest.skip(f"the parser finds no dress on {DRESSED}")
    assert worn_category(parse) == Category.DRESS
    # Asked for explicitly, a category the person does wear is laid flat as well.
    image, parse = persons["IDM-VTON__00055_00.jpg"]
    assert flat_lay(image, parse, SIZE, np.random.default_rng(0), Category.LOWER).category == Category.LOWER


def test_layout_is_random_but_reproducible(persons):
    image, parse = persons["IDM-VTON__00055_00.jpg"]
    first = flat_lay(image, parse, SIZE, np.random.default_rng(7))
    again = flat_lay(image, parse, SIZE, np.random.default_rng(7))
    assert np.array_equal(first.image, again.image) and np.array_equal(first.mask, again.mask)
    for seed in (8, 9, 10):
        other = flat_lay(image, parse, SIZE, np.random.default_rng(seed))
        a, b = first.mask > 0, other.mask > 0
        assert (a & b).sum() / (a | b).sum() < 0.97, seed


def test_colour_stays_close_to_the_worn_garment(persons):
    default = FlatLayParams()
    no_jitter = dataclasses.replace(default, brightness=0.0, contrast=0.0, saturation=0.0, hue_degrees=0.0)
    for name, (image, parse) in persons.items():
        worn = _mean_lab(image[_garment(parse)])
        # What the jitter can do to the mean: lightness by `brightness` of L, chroma by
        # `saturation` and the hue's rotation (an arc of C times the angle); 1 more for rounding
        # and clipping. For these garments that is 1.7 ΔE (black dress) to 8.7 (saturated red top),
        # where CIE76 overstates differences of saturated colours; jitter moved them by 0.5-5.2.
        chroma = float(np.hypot(worn[1], worn[2]))
        bound = np.hypot(default.brightness * worn[0],
                         chroma * (default.saturation + np.deg2rad(default.hue_degrees))) + 1.0
        for seed in range(3):
            lay = flat_lay(image, parse, SIZE, np.random.default_rng(seed))
            same_layout = flat_lay(image, parse, SIZE, np.random.default_rng(seed), params=no_jitter)
            assert np.array_equal(lay.mask, same_layout.mask)
            mean = _mean_lab(lay.image[lay.mask > 0])
            assert np.linalg.norm(mean - _mean_lab(same_layout.image[same_layout.mask > 0])) <= bound, (name, seed)
            # Against the photo: the jitter plus the parse's edge the cleaning drops (skin and
            # background mislabelled as garment move the photo's mean by up to 4 ΔE); observed up
            # to 5.4 (the red top), most garments under 4.
            assert np.linalg.norm(mean - worn) <= 8.0, (name, seed)


def test_no_garment_raises_input_error(persons):
    image, parse = persons["IDM-VTON__00055_00.jpg"]
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="no top, bottom or dress"):
        flat_lay(image, np.zeros_like(parse), SIZE, rng)
    # Only the person's head and skin, the clothes gone.
    bare = np.where(of_labels(parse, garment_labels(Category.UPPER) + garment_labels(Category.LOWER)), 0, parse)
    with pytest.raises(InputError):
        flat_lay(image, bare, SIZE, rng)
    assert worn_category(bare) is None
    # A garment asked for that the person does not wear, and one too small to be a product.
    with pytest.raises(InputError, match="no dress garment"):
        flat_lay(image, parse, SIZE, rng, Category.DRESS)
    speck = np.zeros_like(parse)
    speck[100:110, 100:110] = Label.UPPER_CLOTHES
    with pytest.raises(InputError):
        flat_lay(image, speck, SIZE, rng)


def test_closing_makes_a_lace_garment_whole_in_its_own_colours():
    """A parse that leaves holes and bites in a garment (lace, a sheer skirt over skin): with
    ``close_fraction`` the cut-out is whole, and what it closes takes the garment's colour, not the
    skin or background seen through it."""
    h, w = 400, 240
    image = np.full((h, w, 3), 245, np.uint8)
    parse = np.zeros((h, w), np.uint8)
    parse[40:380, 40:200] = Label.DRESS
    image[parse == Label.DRESS] = (30, 60, 150)
    skin = np.zeros((h, w), bool)
    skin[150:170, 100:130] = True  # a hole showing skin
    skin[250:265, 40:52] = True  # a bite at the side
    image[skin], parse[skin] = (220, 170, 140), Label.LEFT_LEG
    plain = dataclasses.replace(PLAIN, erode_px=0, strand_fraction=0.0, body_colour_ratio=0.0)
    holed = flat_lay(image, parse, (w, h), np.random.default_rng(0), Category.DRESS, plain)
    whole = flat_lay(image, parse, (w, h), np.random.default_rng(0), Category.DRESS,
                     dataclasses.replace(plain, close_fraction=0.1))
    box = cv2.boundingRect((whole.mask > 0).astype(np.uint8))
    x, y, bw, bh = box
    gaps = [(lay.mask[y:y + bh, x:x + bw] == 0).sum() for lay in (holed, whole)]
    assert gaps[0] > 300 and gaps[1] < 0.1 * gaps[0], gaps  # a rectangle again, but for rounded corners
    inside = whole.image[cv2.erode(whole.mask, np.ones((5, 5), np.uint8)) > 0].astype(int)  # not the outline
    assert np.abs(inside - (30, 60, 150)).max(axis=1).max() < 40  # no skin or background colour left
