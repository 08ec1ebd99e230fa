"""The rim of a person mask that is the plain backdrop's colour.

The person mask's outline is soft: the pose model's mask in particular runs on a few percent of
the photo's height past a sleeve or a leg. On a plain studio backdrop that rim is the backdrop's
colour, and beside a pale person's forearm it passes the skin model (its lightness and a loose
chroma): the parse called it an arm, and a try-on drew a pale, translucent arm from it. Here the
rim is told apart from the person by comparing it with the backdrop just outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BackdropParams:
    """Where the person mask's rim is the backdrop (sizes are shares of the photo's height)."""

    #: How deep into the mask the rim may reach: the widest halo seen, beside a coat's sleeve
    #: (multimodal-garment-designer 050915, tuning half), is about 0.03.
    rim_depth: float = 0.03
    #: The backdrop's colour beside a pixel is its mean over a square this wide...
    window: float = 0.08
    #: ...of the pixels at least this far outside the mask (the mask's own soft edge excluded)...
    gap: float = 0.005
    #: ...if they are at least this share of the square (else nothing is known of it there)...
    least_share: float = 0.15
    #: ...and the backdrop is plain there: every Lab channel's spread under this (a studio
    #: backdrop's is 1-2; a street, a room or a patterned wall is not plain, and nothing is done).
    max_spread: float = 4.0
    #: A rim pixel within this Lab distance of the backdrop's colour beside it is the backdrop
    #: (skin and garments an arm's width from a white or grey backdrop are 10 and more apart).
    same_by: float = 8.0
    #: A mixed rim: the outline's pixels within ``mix_reach`` pixels of the outside and of skin
    #: (or another ``inner`` region), whose colour is a mix of that region's and the backdrop's
    #: beside it (means over a square ``mix_window`` pixels wide): within ``mix_residual`` (Lab
    #: distance) of the line between the two, and at most ``mix_most`` of the way to the backdrop
    #: (nearer it, :func:`backdrop_rim` decides). A bare leg's outline against a white backdrop is
    #: such a pixel wide at the working size: neither skin nor backdrop, it was taken for garment
    #: (a rim of skirt down both legs of FitDiT 0347, tuning half, that a new dress redrew as a
    #: ragged edge).
    mix_reach: int = 2
    mix_window: int = 5
    mix_residual: float = 6.0
    mix_most: float = 0.85
    #: ...and nearer that line than the line from the garment's colour beside it (a square this
    #: many pixels wide) to the backdrop's: a pale pink shirt's outline beside the neck is a mix of
    #: pink and white, which lies near the line from skin to white too.
    mix_other_window: int = 9


def backdrop_rim(lab: np.ndarray, fg: np.ndarray, p: BackdropParams = BackdropParams()) -> np.ndarray:
    """The pixels of ``fg`` (person mask) near its outline whose colour is the plain backdrop's
    beside them, and joined to the outside through such pixels (a white garment's inside, cut
    off from the backdrop by its darker outline, is not taken). ``lab``: the photo, float Lab."""
    h = fg.shape[0]

    def disc(share: float) -> np.ndarray:
        r = max(1, round(share * h))
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    person = fg.astype(np.uint8)
    rim = fg & ~cv2.erode(person, disc(p.rim_depth)).astype(bool)
    outside = (~cv2.dilate(person, disc(p.gap)).astype(bool)).astype(np.float32)
    win = (2 * max(1, round(p.window * h / 2)) + 1,) * 2
    weight = cv2.blur(outside, win)
    ys, xs = np.nonzero(rim & (weight > p.least_share))
    # The backdrop's mean and spread beside each rim pixel (box sums of the outside's colour).
    safe = weight[ys, xs, None]
    mean = cv2.blur(lab * outside[..., None], win)[ys, xs] / safe
    square = cv2.blur(lab * lab * outside[..., None], win)[ys, xs] / safe
    spread = np.sqrt(np.maximum(square - mean * mean, 0)).max(axis=1)
    same = (spread < p.max_spread) & (np.linalg.norm(lab[ys, xs] - mean, axis=1) < p.same_by)
    like = np.zeros(fg.shape, bool)
    like[ys[same], xs[same]] = True
    n, comp = cv2.connectedComponents((like | ~fg).astype(np.uint8), connectivity=4)
    joined = np.zeros(n, bool)
    joined[comp[~fg]] = True  # the parts that hold some of the outside (0, the rest, holds none)
    return like & joined[comp]


def mixed_rim(lab: np.ndarray, fg: np.ndarray, inner: np.ndarray, p: BackdropParams = BackdropParams()) -> np.ndarray:
    """The pixels of ``fg`` (person mask) at its outline, beside ``inner`` (a mask inside it)
    and not in it, whose colour is a mix of ``inner``'s and the backdrop's beside them: the
    outline's anti-aliasing, which belongs to ``inner``. ``lab``: the photo, float Lab. The
    sizes are in pixels (the rim is a pixel or two wide at any photo size)."""
    reach = np.ones((2 * p.mix_reach + 1,) * 2, np.uint8)
    outside = ~fg
    rim = fg & cv2.dilate(outside.astype(np.uint8), reach).astype(bool)
    candidates = rim & ~inner & cv2.dilate(inner.astype(np.uint8), reach).astype(bool)
    ys, xs = np.nonzero(candidates)
    found = np.zeros(fg.shape, bool)
    if not len(ys):
        return found
    # Worked out in the box about the candidates (a boot's outline is a small part of the photo).
    r = max(p.mix_window, p.mix_other_window) // 2 + 1
    y0, x0 = max(0, ys.min() - r), max(0, xs.min() - r)
    box = np.s_[y0:ys.max() + r + 1, x0:xs.max() + r + 1]
    lab, fg, inner, candidates, outside = lab[box], fg[box], inner[box], candidates[box], outside[box]
    ys, xs = ys - y0, xs - x0
    px = lab[ys, xs]

    def mix_with_backdrop(mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Per candidate: how far along from ``mask``'s mean colour beside it (over a square ``side``
        # wide) to the backdrop's it lies, how far off that line, and how many pixels the mean had.
        def mean(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            m = m.astype(np.float32)
            count = cv2.boxFilter(m, -1, (side, side), normalize=False)[ys, xs]
            sums = cv2.boxFilter(lab * m[..., None], -1, (side, side), normalize=False)[ys, xs]
            return sums / np.maximum(count, 1.0)[:, None], count

        (own, n), (back, back_n) = mean(mask), mean(outside)
        way = back - own
        t = np.einsum("ij,ij->i", px - own, way) / np.maximum(np.einsum("ij,ij->i", way, way), 1e-6)
        off = np.linalg.norm(px - (own + np.clip(t, 0.0, 1.0)[:, None] * way), axis=1)
        return t, np.where(back_n > 0, off, np.inf), n

    t, off, n = mix_with_backdrop(inner, p.mix_window)
    mixed = (n > 0) & (t <= p.mix_most) & (off < p.mix_residual)
    # A garment beside the skin whose own mix with the backdrop the pixel is as near (a pale pink
    # shirt's outline lies on the line from skin to white too) keeps it.
    _, other_off, other_n = mix_with_backdrop(fg & ~inner & ~candidates, p.mix_other_window)
    mixed &= (other_n == 0) | (off < other_off)
    found[ys[mixed] + y0, xs[mixed] + x0] = True
    return found
