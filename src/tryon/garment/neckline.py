"""The inside of the back that a product photo shows through the neck opening.

Photographed flat, a top shows through its neck opening the inside of its back, often with the
care label. Worn, the neck hides it: a try-on must leave it out, or a grey bib with a label sits
under the chin. Two ways find it: a region clearly darker than the fabric joined to the collar's
middle (``dark_inside``: polos, shirts, dark tees), and the front neckline as a curve across the
opening with the shaded inside above it and the lit front below (``front_neckline``: crew necks
whose inside is only a little darker, as on white and light tees).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.garment.segmentation import fill_holes

#: The front neckline is looked for as symmetric curves about the collar's middle that meet the
#: garment's top edge at the opening's sides: half as wide as NECKLINE_WIDTHS (shares of the
#: expected half opening), as deep as NECKLINE_DEPTHS (likewise, at the middle, below the top edge
#: at the sides), and shaped (1 - u^p)^(1/q) for (p, q) in NECKLINE_SHAPES: a V, a U, a
#: flat-bottomed U, and an ellipse's half (a scoop neck, steep at its sides).
NECKLINE_WIDTHS = tuple(np.linspace(0.5, 2.5, 9))
NECKLINE_DEPTHS = tuple(np.arange(0.1, 1.5, 0.05))
NECKLINE_SHAPES = ((1.0, 1.0), (2.0, 1.0), (4.0, 1.0), (2.0, 2.0))
#: Along the neckline the photo is darker above than below (the shaded inside over the lit rib):
#: by more than NECKLINE_STEP grey levels over NECKLINE_REACH pixels each way, at NECKLINE_COVER
#: of the curve's columns at least (its ends, where it meets the top edge, left out: the inner
#: NECKLINE_INNER of its half width).
NECKLINE_STEP = 6.0
NECKLINE_REACH = 2
NECKLINE_COVER = 0.75
NECKLINE_INNER = 0.85
#: And the inside is darker as a whole: its median at least NECKLINE_CONTRAST grey levels below
#: the front's just under the curve (a band NECKLINE_BAND of the half opening deep)...
NECKLINE_CONTRAST = 8.0
NECKLINE_BAND = 0.25
#: ...where the front is plain: at most NECKLINE_BUSY of that band is an edge (absolute Laplacian
#: over NECKLINE_EDGE grey levels). Under a printed neckline the pattern's own curves pass the
#: tests above, and cut away they left a hole in the chest. Set on the tuning half's 38 tops and
#: dresses (its plain crew necks' fronts are at most 0.24 edges, its prints 0.37 and more).
NECKLINE_BUSY = 0.25
NECKLINE_EDGE = 8.0
#: How many of the curves that hold are checked against the shading, smallest first.
NECKLINE_TRIES = 60
#: Curves whose lowest points lie within this share of the half opening run along one neckline.
NECKLINE_SAME_BOTTOM = 0.05
#: Rows below the top edge that are never the neckline: the outline mixes garment and backdrop.
NECKLINE_SKIP = 3


#: The dark inside is looked for in a box below the collar's middle; a dark region over more than
#: this share of the box's bottom row goes on down the front and is the fabric's (set on the tuning
#: half: its insides touch at most 0.02 of that row, the black stripes of a striped wrap 0.49).
INSIDE_OPEN_BELOW = 0.25


@dataclass
class Neckline:
    """The front neckline across the opening: row ``ys`` at each of the columns ``xs``."""

    xs: np.ndarray
    ys: np.ndarray


def inside_back(image: np.ndarray, mask: np.ndarray, collar: np.ndarray, neck_half: float) -> np.ndarray:
    """What of the product photo is the inside of the back (bool, the photo's shape): the dark
    inside, and whatever lies between the top edge and the front neckline. ``collar``: the
    neckline's middle (x, y); ``neck_half``: about half the opening's width, in pixels."""
    out = dark_inside(image, mask, collar, neck_half)
    line = front_neckline(image, mask, collar, neck_half)
    if line is not None:
        rows = np.arange(mask.shape[0])[:, None]
        above = np.zeros(mask.shape, bool)
        above[:, line.xs] = rows < line.ys[None, :]
        out |= above & mask
    return out


def front_neckline(image: np.ndarray, mask: np.ndarray, collar: np.ndarray, neck_half: float) -> Neckline | None:
    """The front neckline below the inside of the back, or None where the photo shows no such
    curve (the top edge is the front's own neckline, or the fabric there is printed)."""
    # Worked in the box the curves and the band under them can reach: a try-on's milliseconds count.
    reach = max(NECKLINE_WIDTHS) * neck_half + 2
    x0, x1 = max(0, int(collar[0] - reach)), min(mask.shape[1], int(collar[0] + reach) + 1)
    cols = mask[:, x0:x1].any(axis=0)
    if not cols.any():
        return None
    lowest_top = int(np.argmax(mask[:, x0:x1], axis=0)[cols].max())
    y1 = min(mask.shape[0], lowest_top + int((max(NECKLINE_DEPTHS) + NECKLINE_BAND) * neck_half) + 8)
    line = _front_neckline(image[:y1, x0:x1], mask[:y1, x0:x1], float(collar[0]) - x0, neck_half)
    return None if line is None else Neckline(line.xs + x0, line.ys)


def _front_neckline(image: np.ndarray, mask: np.ndarray, cx: float, neck_half: float) -> Neckline | None:
    h, w = mask.shape
    lum = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    k = NECKLINE_REACH
    # Where the photo is darker above than below (the inside over the lit front), as 0/1.
    stepped = np.zeros((h + 1, w), np.uint8)  # the last row: off the photo
    stepped[k:h - k] = mask[2 * k:] & mask[:-2 * k] & (lum[2 * k:] - lum[:-2 * k] > NECKLINE_STEP)
    top = np.where(mask.any(axis=0), np.argmax(mask, axis=0), h)
    depths = np.array(NECKLINE_DEPTHS, np.float32)[:, None] * neck_half
    found: list[tuple[float, np.ndarray, np.ndarray]] = []  # (area above, columns, rows) of each curve that holds
    for width in NECKLINE_WIDTHS:
        half = width * neck_half
        xs = np.arange(int(np.ceil(cx - half)), int(cx + half) + 1)
        xs = xs[(xs >= 0) & (xs < w)]
        if len(xs) < 5:
            continue
        u = np.abs(xs - cx) / half
        inner = u < NECKLINE_INNER
        sides = float(top[xs[0]] + top[xs[-1]]) / 2
        xi, lowest = xs[inner], top[xs[inner]][None, :] + NECKLINE_SKIP
        for p, q in NECKLINE_SHAPES:
            f = (1 - u ** p) ** (1 / q)
            ys = (sides + depths * f[inner][None, :] + 0.5).astype(np.int32)  # (depths, inner columns)
            valid = (ys >= lowest) & (ys < h)
            hits = stepped[np.where(valid, ys, h), xi[None, :]]
            holds = (valid.mean(axis=1) >= NECKLINE_COVER) & (hits.mean(axis=1) >= NECKLINE_COVER)
            for i in np.flatnonzero(holds):
                whole = (sides + depths[i] * f + 0.5).astype(np.int32)
                found.append((float(np.clip(whole - top[xs], 0, None).sum()), xs, whole))
    # Smallest first: a care label's or the back collar's edge makes smaller curves, which the
    # shading refutes (the region above them is no darker); larger ones run under the front's rib
    # or round a polo's collar, and cut away the front with it.
    edges = np.abs(cv2.Laplacian(lum, cv2.CV_32F)) > NECKLINE_EDGE
    found.sort(key=lambda f: f[0])
    for _, xs, ys in found[:NECKLINE_TRIES]:
        if _shaded_over_plain(lum, edges, mask, top, Neckline(xs, ys), neck_half):
            break
    else:
        return None
    # A narrower curve can run along the neckline's bottom only: the widest one with the same
    # lowest point that the shading confirms is the whole neckline.
    bottom, tol = ys.max(), max(2.0, NECKLINE_SAME_BOTTOM * neck_half)
    wider = [f for f in found if len(f[1]) > len(xs) and abs(f[2].max() - bottom) <= tol]
    for _, wide_xs, wide_ys in wider[::-1][:NECKLINE_TRIES]:
        if _shaded_over_plain(lum, edges, mask, top, Neckline(wide_xs, wide_ys), neck_half):
            return Neckline(wide_xs, wide_ys)
    return Neckline(xs, ys)


def _shaded_over_plain(lum: np.ndarray, edges: np.ndarray, mask: np.ndarray, top: np.ndarray, line: Neckline,
                       neck_half: float) -> bool:
    """Whether the region above ``line`` is darker than the front under it, and that front plain."""
    band = max(2, int(NECKLINE_BAND * neck_half))
    r0, r1 = int(top[line.xs].min()), min(mask.shape[0], int(line.ys.max()) + band + 3)
    rows = np.arange(r0, r1)[:, None]
    ys = line.ys[None, :]
    inside = mask[r0:r1, line.xs]
    above = inside & (rows >= top[line.xs][None, :] + NECKLINE_SKIP) & (rows < ys - 2)
    below = inside & (rows > ys + 2) & (rows <= ys + 2 + band)
    if above.sum() < 10 or below.sum() < 10:
        return False
    window = lum[r0:r1, line.xs]
    if np.median(window[below]) - np.median(window[above]) < NECKLINE_CONTRAST:
        return False
    return float(edges[r0:r1, line.xs][below].mean()) <= NECKLINE_BUSY


def dark_inside(image: np.ndarray, mask: np.ndarray, collar: np.ndarray, neck_half: float) -> np.ndarray:
    """The inside of the back seen through the neck opening when the collar's top is the back
    (polos, shirts): a region clearly darker than the garment, joined to the collar's middle."""
    h, w = mask.shape
    y0, y1 = int(collar[1]), int(min(h, collar[1] + 2.2 * neck_half))
    x0, x1 = int(max(0, collar[0] - neck_half)), int(min(w, collar[0] + neck_half))
    out = np.zeros((h, w), bool)
    if y1 <= y0 + 2 or x1 <= x0 + 2:
        return out
    lum = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    # Clearly darker: 30 grey levels below the garment's median, or below half of it on a dark
    # garment (a navy tee's inside is nearly black, but no 30 levels below navy exist).
    median = float(np.median(lum[mask]))
    dark = (lum < max(median - 30, 0.5 * median)) & mask
    band = np.zeros((h, w), np.uint8)
    band[y0:y1, x0:x1] = dark[y0:y1, x0:x1]
    band = cv2.morphologyEx(band, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, labels = cv2.connectedComponents(band)
    seeds = labels[y0:y0 + max(2, (y1 - y0) // 4), int(collar[0]) - 2:int(collar[0]) + 3]
    top_edge = np.argmax(mask[:, x0:x1], axis=0)  # the garment's top row per column: the back collar there
    for lab in np.unique(seeds[seeds > 0]):
        region = labels == lab
        if region.sum() >= 0.6 * (y1 - y0) * (x1 - x0):  # a dark garment, not a neck opening
            continue
        # The front closes the opening below: a dark region across much of the search box's bottom
        # row runs on down the front, a stripe or panel of the fabric (a striped wrap's V).
        if region[y1 - 1, x0:x1].mean() > INSIDE_OPEN_BELOW:
            continue
        # Seen through the opening, the inside of the back reaches up to the back collar, a thin
        # band at the garment's top edge, across the opening. A dark motif of a print under the
        # neckline (a flower, a cabbage) lies below that band over most of its width: a hole cut
        # there would show skin in the middle of the chest.
        cols = np.flatnonzero(region.any(axis=0))
        below_collar = np.argmax(region[:, cols], axis=0) - top_edge[cols - x0]
        if np.mean(below_collar < 0.25 * neck_half) >= 0.5:
            out |= region
    if out.any():
        # On a mottled fabric (heather, knit) the dark test catches the opening in specks: the
        # opening is one solid piece, else skin would show through the garment in dots.
        k = max(5, int(0.15 * neck_half)) | 1
        out = fill_holes(cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((k, k), np.uint8)) > 0)
        out &= mask
    return out
