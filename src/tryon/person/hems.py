"""Where a garment of skin's colour ends on the legs.

Beige, camel and nude trousers, shorts and skirts have the colour of skin: a colour model
learned on the face accepts them, and the parse called them legs (a new skirt then left the old
trousers showing below it as "legs"). Colour cannot separate them: the face and such a garment
lie a few Lab units apart. Two things can:

- **Where**: the crotch is never bare in a photo someone dresses. When it is "skin", that skin
  is a garment (:func:`crotch_is_skin`).
- **How it ends**: a garment ends in a hem, where the limb's cross-section gets narrower (a
  shorts' leg or a skirt is wider than the thigh below it) or changes colour abruptly; shading
  on bare skin changes gradually (:func:`find_hem`, on a :class:`LimbProfile`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.person.keypoints import Joint as J
from tryon.person.keypoints import Keypoints


@dataclass(frozen=True)
class HemParams:
    """Skin-coloured lower garments: when to look for one and where its hems are.

    Sizes are shares of the shoulder distance (``sw``), of the neck-to-mid-hip length (``tl``) or
    of a leg's hip-to-ankle length. Set on the tuning half's two such photos (a beige knit skirt,
    beige shorts): see :func:`find_hem` for their figures."""

    #: The crotch patch: centred this far below the mid-hip (per tl), this wide and tall (half
    #: sizes, per sw and tl).
    crotch_drop: float = 0.12
    crotch_half_width: float = 0.15
    crotch_half_height: float = 0.08
    #: The crotch is "skin" when at least this share of its person pixels (hands excluded) is.
    crotch_skin_share: float = 0.5
    #: Hands near the crotch are skin: the forearm from its middle on and the hand, within this
    #: distance (per sw), are not looked at (shares of the elbow-to-wrist way).
    hand_span: tuple[float, float] = (0.5, 1.5)
    hand_reach: float = 0.2
    #: A leg's pixels lie within this distance of its hip-knee-ankle chain (per sw): wide
    #: trousers' legs measure up to 0.8 sw across.
    leg_reach: float = 0.45
    #: Above the hips the garment runs up the torso to its waistband: to the first edge across
    #: the torso (``min_across``), or where the skin ends (a top of another colour), at most this
    #: far (per tl; a high waist measures 0.35).
    max_waist: float = 0.45
    #: The profile's steps along the leg (its hip-to-ankle length in this many bins), the bins
    #: compared on each side of a step, and the fewest pixels a bin must hold to be compared.
    bins: int = 40
    window: int = 3
    min_bin_pixels: int = 5
    #: Hems are looked for below this share of the leg (the crotch, where the thighs part).
    from_share: float = 0.1
    #: A step's score: the width's drop as a power of ``width_drop`` plus the chroma's change as
    #: a share of ``chroma_step`` (Lab units); a hem scores 1 or more.
    width_drop: float = 1.6
    chroma_step: float = 8.0
    #: A hem is also an edge across the leg: in a bin around the step, at least ``min_across``
    #: of the pixels change by more than ``edge_step`` (Lab units per pixel, chroma weighted
    #: ``edge_chroma_weight`` times, after a Gaussian blur of ``edge_blur`` pixels) along the leg.
    min_across: float = 0.25
    edge_step: float = 5.0
    edge_chroma_weight: float = 2.0
    edge_blur: float = 1.0


@dataclass
class LimbProfile:
    """A limb's cross-sections along its joint chain: per bin of its length, the width (per sw),
    the median chroma (Lab a, b) and the share on an edge across the limb of the mask's pixels,
    and which pixels fall in each bin."""

    width: np.ndarray  # (bins,)
    chroma: np.ndarray  # (bins, 2); NaN where a bin holds too few pixels
    across: np.ndarray  # (bins,) share of the bin's pixels on an edge across the limb
    count: np.ndarray  # (bins,) pixels per bin
    position: np.ndarray  # (n,) each pixel's share of the way along the chain, 0..1
    pixels: tuple[np.ndarray, np.ndarray]  # (ys, xs) of the limb's pixels


def _chain_distance(points: np.ndarray, chain: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's distance to a polyline, its position along it (share of its length) and
    the unit direction of the polyline's nearest segment."""
    lengths = [max(float(np.linalg.norm(b - a)), 1e-6) for a, b in zip(chain, chain[1:])]
    total = sum(lengths)
    dist = np.full(len(points), np.inf)
    pos = np.zeros(len(points))
    direction = np.zeros((len(points), 2))
    done = 0.0
    for (a, b), length in zip(zip(chain, chain[1:]), lengths):
        ab = b - a
        u = np.clip(((points - a) @ ab) / (length * length), 0.0, 1.0)
        d = np.linalg.norm(points - (a + u[:, None] * ab), axis=1)
        nearer = d < dist
        dist[nearer] = d[nearer]
        pos[nearer] = (done + u[nearer] * length) / total
        direction[nearer] = ab / length
        done += length
    return dist, pos, direction


def lab_gradients(lab: np.ndarray, p: HemParams = HemParams()) -> np.ndarray:
    """The Lab image's change per pixel along x and y, (H, W, 3, 2), after a Gaussian blur of
    ``edge_blur`` pixels, the chroma channels weighted ``edge_chroma_weight`` times."""
    smooth = cv2.GaussianBlur(lab, (0, 0), p.edge_blur)
    weights = (1.0, p.edge_chroma_weight, p.edge_chroma_weight)
    # A 3x3 Sobel sums 8 times the step between neighbouring pixels.
    return np.stack([np.stack([cv2.Sobel(smooth[..., c], cv2.CV_32F, dx, 1 - dx, ksize=3) * (w / 8)
                               for dx in (1, 0)], axis=-1) for c, w in enumerate(weights)], axis=2)


def leg_profiles(mask: np.ndarray, lab: np.ndarray, gradients: np.ndarray, legs: list[list[np.ndarray]],
                 arms: list[list[np.ndarray]], shoulder_width: float, p: HemParams = HemParams()
                 ) -> list[LimbProfile]:
    """Profiles of the mask's pixels along each leg (a joint chain, hip first). A pixel belongs
    to the nearest of the legs and arms (a hand hanging beside the thigh is the arm's). A pixel
    is on an edge across the leg where its ``gradients`` (:func:`lab_gradients`) along the leg
    exceed ``edge_step``."""
    ys, xs = np.nonzero(mask)
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    legs = [c for c in legs if len(c) >= 2]
    if not legs or not len(points):
        return []
    measured = [_chain_distance(points, c) for c in legs]
    arm_dist = np.min([_chain_distance(points, c)[0] for c in arms if len(c) >= 2]
                      or [np.full(len(points), np.inf)], axis=0)
    nearest = np.argmin([m[0] for m in measured], axis=0)
    profiles = []
    for k, chain in enumerate(legs):
        dist, pos, direction = measured[k]
        mine = (nearest == k) & (dist < p.leg_reach * shoulder_width) & (dist < arm_dist)
        length = sum(float(np.linalg.norm(b - a)) for a, b in zip(chain, chain[1:]))
        bins = np.minimum((pos[mine] * p.bins).astype(int), p.bins - 1)
        count = np.bincount(bins, minlength=p.bins)
        width = count / max(length / p.bins, 1e-6) / shoulder_width
        along = np.einsum("ncd,nd->nc", gradients[ys[mine], xs[mine]], direction[mine])
        edges = np.linalg.norm(along, axis=1) > p.edge_step
        across = np.bincount(bins, weights=edges.astype(float), minlength=p.bins) / np.maximum(count, 1)
        chroma = np.full((p.bins, 2), np.nan)
        ab = lab[ys[mine], xs[mine]][:, 1:]
        for i in np.nonzero(count >= p.min_bin_pixels)[0]:
            chroma[i] = np.median(ab[bins == i], axis=0)
        profiles.append(LimbProfile(width, chroma, across, count, pos[mine], (ys[mine], xs[mine])))
    return profiles


def waist_rise(profile: LimbProfile, p: HemParams = HemParams()) -> float:
    """The share of the way up the torso (a profile from the hips up) at which a lower
    garment ends: its waistband's edge, or where the skin ends."""
    for i in range(1, len(profile.width)):
        if profile.count[i] < p.min_bin_pixels or profile.across[i] >= p.min_across:
            return i / len(profile.width)
    return 1.0


def find_hem(profile: LimbProfile, p: HemParams = HemParams()) -> float | None:
    """The share of the leg's way at which a garment covering its top ends, or None if it runs
    the whole way.

    A step between two windows of ``window`` bins scores the width's drop (before / after, as a
    power of ``width_drop``; widening does not count) plus the chroma's change (per
    ``chroma_step``). The hem is the best step among the first that score 1 or more and the
    next ``window``, where an edge crosses the leg (``min_across``). On the tuning half, a
    beige knit skirt's hems score 1.8 and 1.4 (the widths drop 2.0 and 1.55 times, the chroma
    changes 3 and 4 units) and beige shorts' 3.4 and 2.1, with 31-43 % of a bin's pixels on the
    edge across; the bare knees below them score up to 1.1 (shading and the knee's outline),
    but with 5 % at most on an edge across.
    """
    n, w = len(profile.width), p.window
    valid = profile.count >= p.min_bin_pixels
    scores = np.zeros(n)
    for i in range(max(w, int(np.ceil(p.from_share * n))), n - w):
        before, after = slice(i - w, i), slice(i + 1, i + 1 + w)
        if not (valid[before].all() and valid[after].all()):
            continue
        drop = np.log(max(profile.width[before].mean() / profile.width[after].mean(), 1.0)) / np.log(p.width_drop)
        step = profile.chroma[before].mean(axis=0) - profile.chroma[after].mean(axis=0)
        change = float(np.linalg.norm(step)) / p.chroma_step
        scores[i] = drop + change
    across = np.array([profile.across[max(0, i - 1):i + 2].max() for i in range(n)])
    hits = np.nonzero((scores >= 1.0) & (across >= p.min_across))[0]
    if not len(hits):
        return None
    near = hits[hits <= hits[0] + w]
    best = int(near[np.argmax(scores[near])])
    return (best + 0.5) / n


def crotch_is_skin(skin: np.ndarray, fg: np.ndarray, kp: Keypoints, shoulder_width: float, torso_length: float,
                   hands: np.ndarray, p: HemParams = HemParams()) -> bool:
    """Whether the crotch (below the mid-hip, between the thighs; ``hands`` left out) is mostly
    skin: then a lower garment has been taken for skin."""
    neck, mid = kp.point(J.NECK), kp.point(J.MID_HIP)
    if neck is None or mid is None:
        return False
    cx, cy = mid + p.crotch_drop * (mid - neck)
    h, w = skin.shape
    dy, dx = p.crotch_half_height * torso_length, p.crotch_half_width * shoulder_width
    y0, y1 = int(max(0, cy - dy)), int(min(h, cy + dy))
    x0, x1 = int(max(0, cx - dx)), int(min(w, cx + dx))
    person = fg[y0:y1, x0:x1] & ~hands[y0:y1, x0:x1]
    if person.sum() < p.min_bin_pixels:
        return False
    return bool((skin[y0:y1, x0:x1] & person).sum() >= p.crotch_skin_share * person.sum())


def skin_coloured_lower(skin: np.ndarray, fg: np.ndarray, lab: np.ndarray, kp: Keypoints, legs: list[list[np.ndarray]],
                        arms: list[list[np.ndarray]], shoulder_width: float, torso_length: float, hands: np.ndarray,
                        p: HemParams = HemParams()) -> np.ndarray:
    """The ``skin`` pixels that are a lower garment of skin's colour (empty unless the crotch is
    "skin"): up the torso from the hips to the waistband (:func:`waist_rise`), and down each leg
    (``legs``, joint chains from the hip; ``arms`` claim what is nearer them) to its hem, or all
    the way without one (trousers). ``hands`` stay skin."""
    none = np.zeros(skin.shape, bool)
    if not crotch_is_skin(skin, fg, kp, shoulder_width, torso_length, hands, p):
        return none
    neck, mid = kp.point(J.NECK), kp.point(J.MID_HIP)
    h, w = skin.shape
    yy, xx = np.mgrid[0:h, 0:w]
    down = (mid - neck) / max(float(np.linalg.norm(mid - neck)), 1e-6)
    below = ((xx - mid[0]) * down[0] + (yy - mid[1]) * down[1]) > 0
    candidates = skin & ~hands
    gradients = lab_gradients(lab, p)
    garment = none.copy()
    for profile in leg_profiles(candidates & below, lab, gradients, legs, arms, shoulder_width, p):
        hem = find_hem(profile, p)
        inside = np.ones(len(profile.position), bool) if hem is None else profile.position < hem
        garment[profile.pixels[0][inside], profile.pixels[1][inside]] = True
    waist = [mid, mid - down * p.max_waist * torso_length]
    for profile in leg_profiles(candidates & ~below, lab, gradients, [waist], arms, shoulder_width, p):
        inside = profile.position < waist_rise(profile, p)
        garment[profile.pixels[0][inside], profile.pixels[1][inside]] = True
    return garment
