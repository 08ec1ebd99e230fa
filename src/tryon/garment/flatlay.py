"""Flat-lay "product photos" cut from photos of dressed persons: self-supervised try-on pairs.

A try-on model learns from (person, product photo) pairs, and such pairs are scarce. Any photo of
a dressed person yields one: the garment the person wears, cut out along the human parse and laid
on white, stands in for its product photo. A cut-out keeps the exact outline, pose and placement
of the worn garment, which a model would learn to copy instead of learning to dress; so it is
warped by a random perspective, scaled and placed at random, and its colours are jittered. Only a
little: a brand's colour is the one thing a try-on must never change.

It lives with the garment analysis because the service uses the same cut-out, without jitter,
when a garment photo shows someone wearing the garment (:mod:`tryon.garment.worn`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import InputError
from tryon.person.parsing import Label, of_labels
from tryon.person.segmentation import components_in, largest_components

#: The least share of the photo a worn garment must cover to be laid flat: below it the parse
#: holds a sliver (a collar under a coat, a hem at the frame's edge), not a product.
MIN_GARMENT_FRACTION = 0.01

#: The person's own hair and skin: what the parse most often mistakes for a garment at its edge.
_BODY_LABELS = (Label.HAIR, Label.NECK, Label.FACE, Label.LEFT_ARM, Label.RIGHT_ARM, Label.LEFT_LEG, Label.RIGHT_LEG)

_GARMENT_LABELS: dict[Category, tuple[int, ...]] = {
    # A coat worn over a top comes with it: the parse cannot say which one is the product, and the
    # person photo shows both. A scarf is an accessory, not part of the top.
    Category.UPPER: (Label.UPPER_CLOTHES, Label.COAT),
    # Trousers, shorts and skirts are all bottoms (our Category.LOWER).
    Category.LOWER: (Label.PANTS, Label.SKIRT),
    # LIP labels the whole of a dress or jumpsuit DRESS, its top and its skirt alike.
    Category.DRESS: (Label.DRESS,),
}


def garment_labels(category: Category) -> tuple[int, ...]:
    """The LIP labels that together make up a worn garment of ``category``."""
    return _GARMENT_LABELS[Category.parse(category)]


def worn_category(parse: np.ndarray, min_fraction: float = MIN_GARMENT_FRACTION) -> Category | None:
    """The category of the garment the person wears most visibly, None if none covers
    ``min_fraction`` of the photo.

    Each category counts the pixels of its labels and the largest count wins. Dress against top
    needs no rule of its own: the parse labels a whole dress DRESS, top and skirt, so a dress
    outweighs a jacket worn over it unless the jacket hides most of it (then the jacket is the
    garment the photo shows).
    """
    counts = {c: int(of_labels(parse, garment_labels(c)).sum()) for c in Category}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] >= min_fraction * parse.size else None


@dataclass(frozen=True)
class FlatLayParams:
    """The tuning numbers of :func:`flat_lay`; all-zero jitter and perspective give a plain cut-out."""

    #: Largest displacement of each corner of the garment's box, as a fraction of the box's width
    #: (horizontally) and height (vertically): a garment photographed a little off-axis.
    perspective: float = 0.08
    #: The garment, fitted into the canvas, fills this range of the canvas along its limiting side
    #: (product photos leave a margin, which varies between shops).
    scale_range: tuple[float, float] = (0.7, 0.9)
    #: Largest shift of the garment from the canvas centre, as a fraction of the canvas side
    #: (never beyond the margin left by the scale).
    max_offset: float = 0.05
    #: Largest relative change of lightness (a studio's exposure).
    brightness: float = 0.05
    #: Largest relative change of lightness around the garment's mean (a studio's lighting).
    contrast: float = 0.05
    #: Largest relative change of chroma: larger ones change the garment's colour, which a try-on
    #: must keep.
    saturation: float = 0.05
    #: Largest rotation of the hue, in degrees (a white balance, not a different dye).
    hue_degrees: float = 3.0
    #: Blobs at the garment's edge whose colour is this many times more frequent among the person's
    #: skin and hair than in the garment are parse errors (a hand, a lock of hair); 0 keeps them.
    #: Background and other clothes are no such guide: a white shirt has a studio's colour.
    body_colour_ratio: float = 2.0
    #: Pixels eroded from the garment's edge: the parse's border is where it mislabels skin, hair
    #: and background as garment.
    erode_px: int = 3
    #: Strands of the garment thinner than this fraction of its size (the square root of its area)
    #: are cut off: where the parse errs it leaves such strands (locks of hair over a top, a bag's
    #: strap, skin at a hem), while sleeves and trouser legs are several times wider.
    strand_fraction: float = 0.05
    #: Width in pixels of the soft edge, inside the eroded garment, that blends it into the white.
    feather_px: int = 2
    #: The least share of the photo the cleaned garment must cover.
    min_area: float = MIN_GARMENT_FRACTION
    #: Parts of the garment smaller than this share of its largest part are parse errors (a patch
    #: of the background in the garment's colour), not a second trouser leg or half of an open coat.
    min_part_share: float = 0.1
    #: The least share of the parse's garment that must survive the cleaning: where more is cut
    #: away, the parse went wrong and what is left is no product (on the evalset's tuning half, the
    #: persons below it gave shards of a jacket, and a top mixed with a microphone and a lanyard;
    #: the studio photos kept 0.79 to 0.96).
    min_kept: float = 0.75
    #: Gaps narrower than this fraction of the garment's size (the square root of its area) are
    #: closed, and their colour drawn in from the garment around them; 0 leaves the parse's holes.
    #: Lace, a sheer skirt or a print in skin colours makes the parse leave holes and bites in a
    #: worn garment, which a product photo never shows (the service's cut-outs close them; training
    #: pairs keep the parse as it is).
    close_fraction: float = 0.0


@dataclass
class FlatLay:
    """A product photo made from a worn garment."""

    image: np.ndarray  # (H, W, 3) uint8 RGB, the garment on white
    mask: np.ndarray  # (H, W) uint8, 255 where the garment lies
    category: Category


def flat_lay(image: np.ndarray, parse: np.ndarray, size: tuple[int, int], rng: np.random.Generator,
             category: Category | None = None, params: FlatLayParams = FlatLayParams()) -> FlatLay:
    """The garment of ``category`` (by default the one worn most visibly) that the person in
    ``image`` wears, laid flat on a white canvas of ``size`` (W, H).

    Deterministic for a given ``rng`` state: it draws the same random numbers whatever the params.
    """
    category, mask = garment_cutout(image, parse, category, params)
    x, y, w, h = cv2.boundingRect(mask)
    mask, crop = mask[y:y + h, x:x + w], image[y:y + h, x:x + w]
    if params.close_fraction > 0:
        mask, crop = _closed(mask, crop, params.close_fraction)
    colour = _jittered(crop, mask.astype(bool), rng, params)
    alpha = mask.astype(np.float32)
    if params.feather_px > 0:
        alpha = np.minimum(cv2.distanceTransform(mask, cv2.DIST_L2, 3) / params.feather_px, 1.0)

    # The perspective first (in the crop's pixels), then the scale that fits its result into the
    # canvas, then a shift: one homography, applied once.
    W, H = size
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + rng.uniform(-1, 1, (4, 2)).astype(np.float32) * params.perspective * np.float32([w, h])
    moved -= moved.min(axis=0)
    span = moved.max(axis=0)
    scale = rng.uniform(*params.scale_range) * min(W / span[0], H / span[1])
    margin = (np.float32([W, H]) - scale * span) / 2
    shift = margin + rng.uniform(-1, 1, 2) * np.minimum(margin, params.max_offset * np.float32([W, H]))
    if scale < 1:  # shrink by area first: the perspective's bilinear sampling would alias
        colour, alpha = (cv2.resize(a, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) for a in (colour, alpha))
        corners = np.float32([[0, 0], [colour.shape[1], 0], [colour.shape[1], colour.shape[0]], [0, colour.shape[0]]])
    warp = cv2.getPerspectiveTransform(corners, (moved * scale + shift).astype(np.float32))
    # Warping the colour premultiplied by alpha keeps whatever lies outside the garment (skin,
    # background) out of the interpolation at its edge.
    premultiplied = cv2.warpPerspective(colour * alpha[..., None], warp, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(alpha, warp, size, flags=cv2.INTER_LINEAR)
    inside = alpha >= 0.5
    over_white = np.where(inside[..., None], premultiplied + (1.0 - alpha[..., None]), 1.0)
    return FlatLay(np.clip(over_white * 255 + 0.5, 0, 255).astype(np.uint8), inside.astype(np.uint8) * 255, category)


def _closed(mask: np.ndarray, image: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """The garment's mask with its narrow gaps and holes closed, and its photo with the closed
    pixels' colours drawn in from the garment around them."""
    from tryon.garment.segmentation import fill_holes

    side = max(3, round(fraction * float(np.sqrt(mask.sum()))) | 1)
    pad = side  # closing near the crop's edge needs room outside it
    padded = np.pad(mask, pad)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    closed = fill_holes(closed[pad:-pad, pad:-pad] > 0)
    if (closed & (mask == 0)).any():
        # Drawn from the garment alone: what lies around it (skin, background), as far as the gaps
        # are wide, is filled too, so it is no source.
        around = cv2.dilate(closed.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
        image = cv2.inpaint(image, (around & (mask == 0)).astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return closed.astype(np.uint8), image


def garment_cutout(image: np.ndarray, parse: np.ndarray, category: Category | None = None,
                   params: FlatLayParams = FlatLayParams()) -> tuple[Category, np.ndarray]:
    """The category and the cleaned garment mask (uint8 0/1) that :func:`flat_lay` lays flat, or
    :class:`InputError` saying why this person gives no product photo. No randomness: a photo
    that passes once always does, so training checks it once, when the data is analysed."""
    if image.shape[:2] != parse.shape[:2]:
        raise InputError(f"the photo is {image.shape[1]}x{image.shape[0]}, its parse {parse.shape[1]}x{parse.shape[0]}")
    category = worn_category(parse, params.min_area) if category is None else Category.parse(category)
    if category is None:
        raise InputError("the person wears no top, bottom or dress large enough to lay flat")
    mask = _cleaned(image, parse, category, params)
    if mask.sum() < params.min_area * mask.size:
        raise InputError(f"the person wears no {category.value} garment large enough to lay flat")
    kept = mask.sum() / max(1, of_labels(parse, garment_labels(category)).sum())
    if kept < params.min_kept:
        raise InputError(f"the parse of the {category.value} garment falls apart (only {kept:.0%} of it is garment-like)")
    return category, mask


def _cleaned(image: np.ndarray, parse: np.ndarray, category: Category, params: FlatLayParams) -> np.ndarray:
    """The garment's pixels (uint8 0/1) without what the parse wrongly gave it.

    The parse errs where the garment meets the body: a lock of hair over a top, a hand on
    trousers, the neck above a collar. Such blobs have the colour of the person's own skin and hair,
    learned from the pixels the parse gives those; thin strands (of hair, of a bag's strap) go by
    a morphological opening, the rim by an erosion.
    """
    garment = of_labels(parse, garment_labels(category))
    body = of_labels(parse, _BODY_LABELS)
    if params.body_colour_ratio > 0 and garment.any() and body.any():
        likelier = _frequency(image[body], image) > params.body_colour_ratio * _frequency(image[garment], image)
        # An opening keeps blobs, not the odd pixel of a print that happens to share a skin colour.
        blobs = cv2.morphologyEx((garment & likelier).astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
        # Only blobs that reach the garment's edge: one inside it is a print in skin or hair colour.
        _, blob_ids = cv2.connectedComponents(blobs)
        edge = garment & (cv2.erode(garment.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
        garment &= ~components_in(blob_ids, np.unique(blob_ids[edge & (blobs > 0)]))
    mask = garment.astype(np.uint8)
    if params.erode_px > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * params.erode_px + 1,) * 2))
    if params.strand_fraction > 0 and mask.any():
        side = max(3, round(params.strand_fraction * float(np.sqrt(mask.sum()))) | 1)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    return largest_components(mask, min_share=params.min_part_share).astype(np.uint8)


def _frequency(samples: np.ndarray, image: np.ndarray, bins: int = 16) -> np.ndarray:
    """How often each pixel's colour (in a ``bins``^3 RGB histogram) occurs among ``samples``."""
    def cell(rgb: np.ndarray) -> np.ndarray:
        q = rgb.astype(np.int32) * bins // 256
        return (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    return (np.bincount(cell(samples), minlength=bins**3) / max(len(samples), 1)).astype(np.float32)[cell(image)]


def _jittered(rgb: np.ndarray, garment: np.ndarray, rng: np.random.Generator, params: FlatLayParams) -> np.ndarray:
    """The crop in float32 RGB (0 to 1) with its colours moved a little, in Lab, where lightness,
    chroma and hue are separate and a step means about the same visible change in any colour."""
    brightness, contrast, saturation, hue = rng.uniform(-1, 1, 4) * np.array(
        [params.brightness, params.contrast, params.saturation, np.deg2rad(params.hue_degrees)])
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    lightness = lab[..., 0]
    mean = float(lightness[garment].mean())
    lab[..., 0] = (mean + (lightness - mean) * (1 + contrast)) * (1 + brightness)
    c, s = np.cos(hue) * (1 + saturation), np.sin(hue) * (1 + saturation)
    lab[..., 1:] = lab[..., 1:] @ np.float32([[c, s], [-s, c]])
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1)
