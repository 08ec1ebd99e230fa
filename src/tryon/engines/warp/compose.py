"""Fill the regenerated region: background, the person's own skin, then the garment on top.

Inside the region the old garment is gone. What the new garment does not cover becomes either
background (filled smoothly from the photo's own background) or skin (the person's skin colour, with
round shading along the limbs), then the warped garment parts are laid over in depth order.
The light of the photo can be kept on the new garment: the low-frequency brightness of the old
garment (folds, shadows) multiplies the new one. Outside the region nothing changes.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Callable, TypeVar

import cv2
import numpy as np

from tryon.category import Category
from tryon.colour import channel_mean, colour_distance, to_lab
from tryon.engines.warp.fill import mirrored_detail, push_pull
from tryon.engines.warp.mapping import Layer, polyline_coords, polyline_points, rounded
from tryon.garment.shape import row_extents
from tryon.person.agnostic import NECK_WIDTH, chin_point, head_skin, jaw_rows, neck_top, skirt_of_dress
from tryon.person.face import Face
from tryon.person.keypoints import FOREARMS, L_ARM, L_LEG, R_ARM, R_LEG, Keypoints
from tryon.person.keypoints import Joint as J
from tryon.person.parsing import ARMS, LEGS, LOWER_GARMENT, SHOES, UPPER_GARMENT, Label, lightness_spread, of_labels
from tryon.person.segmentation import components_in, components_touching


#: Radii of a synthesised arm (top of the upper arm, elbow, the forearm's widest, wrist, hand) as
#: shares of the shoulder-joint distance; the median bare forearm in the evalset is 0.17 of it
#: across. The forearm is widest FOREARM_WIDEST of the way down from the elbow (its muscles) and
#: narrows to the wrist: a cone from the elbow down read as a tube.
ARM_RADII = (0.12, 0.095, 0.1, 0.072, 0.07)
FOREARM_WIDEST = 0.25
#: An upper arm met below a short sleeve (``sleeve_ends``) is drawn at the canon's widths scaled to
#: the measured one, within these bounds (a cross-section the parse cut short, or widened by a
#: hand or the torso beside it, is not the arm's).
SLEEVE_CUT_SCALE = (0.75, 1.5)
#: Where a synthesised arm begins, as a share of the way from the shoulder joint to the elbow:
#: under a sleeve a little below the joint (the sleeve's cap is the shoulder: an arm begun higher
#: peeked out above a tee's shoulders); a bare arm (a sleeveless garment) higher, so that its round
#: top is the shoulder's, about 0.07 of the shoulder distance above the joint (from 0.15 it hung
#: from nothing, with background where the shoulder should be; from the joint, the shoulder rose
#: where the photos show background).
ARM_START = 0.15
BARE_ARM_START = 0.06


#: How far (share of the photo's height) from the old garment's parsed outline the background is
#: filled rather than kept: the parse's outline is a few pixels off (about 5 px at 1024 px high).
OLD_EDGE_MARGIN = 0.005
#: The filled background's texture (``fill.mirrored_detail``): what is finer than this blur (sigma,
#: share of the photo's height) is mirrored in from the backdrop beside the hole, up to this far
#: (share of the height) from it; beyond, the fill stays smooth (a mirror that far would copy
#: whatever stands there). Only where skin and garment cover less than BACKGROUND_DETAIL_COVER.
BACKGROUND_DETAIL_SIGMA = 0.01
BACKGROUND_DETAIL_REACH = 0.1
BACKGROUND_DETAIL_COVER = 0.95


@dataclass
class ComposeOptions:
    shading: float = 0.5  # 0 = flat studio light, 1 = the old garment's light fully kept
    wrinkles: float = 0.3  # share of the old garment's folds added to the new one
    feather: float = 0.004  # seam feather, as a share of the image height
    # The picture may change a little past the region: hair falling over the replaced garment shows
    # the new one between its strands, and the trousers a shorter top uncovers run over the old
    # hem's last pixels. Off for a user's mask, which is kept to exactly.
    past_region: bool = True


def background_plate(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """The photo with ``unknown`` pixels filled smoothly from the known ones (at 256 px, then up).

    Shrunk as the known pixels' own average: a plain shrink mixed the person into the backdrop
    beside them, and the fill between dark legs came out a grey box on a white backdrop."""
    h, w = unknown.shape
    s = min(1.0, 256 / max(h, w))
    size = (max(1, int(w * s)), max(1, int(h * s)))
    weight = (~unknown).astype(np.float32)
    share = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    small = cv2.resize(image.astype(np.float32) * weight[..., None], size, interpolation=cv2.INTER_AREA)
    small /= np.maximum(share, 1e-6)[..., None]
    known = cv2.erode((share > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    filled = cv2.GaussianBlur(push_pull(small, known), (0, 0), 1.5)
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)


def _capsules(shape: tuple[int, int], chain: list[np.ndarray], radii: list[float]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[slice, slice]]:
    """Coverage, normalised distance to the axis (0 on the axis, 1 at the edge) and its sideways
    share (from -1 at the edge towards -x to +1 at the edge towards +x; 0 across a level limb,
    whose two sides face up and down) of tapered capsules, and the box (rows, columns) outside
    which they leave the distance at 2 and the share at 0."""
    h, w = shape
    ratio = np.full((h, w), 2.0, np.float32)
    side = np.zeros((h, w), np.float32)
    ys0, xs0, ys1, xs1 = h, w, 0, 0
    xs = np.arange(w, dtype=np.float32)[None, :]
    ys = np.arange(h, dtype=np.float32)[:, None]
    for (a, b), (ra, rb) in zip(zip(chain, chain[1:]), zip(radii, radii[1:])):
        lo = np.floor(np.minimum(a, b) - max(ra, rb)).astype(int)
        hi = np.ceil(np.maximum(a, b) + max(ra, rb)).astype(int)
        x0, y0 = max(lo[0], 0), max(lo[1], 0)
        x1, y1 = min(hi[0] + 1, w), min(hi[1] + 1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        ys0, xs0, ys1, xs1 = min(ys0, y0), min(xs0, x0), max(ys1, y1), max(xs1, x1)
        seg = b - a
        length2 = max(float(seg @ seg), 1e-6)
        px, py = xs[:, x0:x1] - a[0], ys[y0:y1] - a[1]
        t = np.clip((px * seg[0] + py * seg[1]) / length2, 0, 1)
        dx, dy = px - t * seg[0], py - t * seg[1]
        d = np.sqrt(dx * dx + dy * dy)
        r = np.maximum(ra + t * (rb - ra), 1e-3)
        q = d / r
        closer = q < ratio[y0:y1, x0:x1]
        ratio[y0:y1, x0:x1] = np.where(closer, q, ratio[y0:y1, x0:x1])
        side[y0:y1, x0:x1] = np.where(closer, dx / r, side[y0:y1, x0:x1])
    return ratio <= 1.0, ratio, side, (slice(ys0, max(ys0, ys1)), slice(xs0, max(xs0, xs1)))


def parts_for(category: Category, region: np.ndarray | None = None, kp: Keypoints | None = None,
              parse: np.ndarray | None = None) -> tuple[str, ...]:
    """Body parts that may show bare in the region. A top that replaces a dress leaves the legs
    the dress covered: when the region reaches well below the hips, legs are part of it too,
    unless the photo shows trousers or a skirt below it (a long coat's skirt hung over them: the
    trousers run on up under it, ``_trousers_below``). A lower garment worn lower than the one it
    replaces bares the waist above it: the torso's lower part (the region keeps to that band), not
    the round tops of the thighs."""
    parts = {Category.UPPER: ("arms", "torso"), Category.LOWER: ("torso", "legs"),
             Category.DRESS: ("arms", "torso", "legs")}[category]
    if category == Category.UPPER and region is not None and kp is not None and all(
            kp.seen(j) for j in (J.R_SHOULDER, J.L_SHOULDER, J.R_HIP, J.L_HIP)):
        hips = float(max(kp.xy[J.R_HIP][1], kp.xy[J.L_HIP][1]))
        sw = np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER])
        start = min(region.shape[0], int(hips + 0.5 * sw))
        below = region[start:]
        worn = 0 if parse is None else int((of_labels(parse[start:], LOWER_GARMENT) & ~below).sum())
        if below.any() and worn < TROUSERS_SHOWN * sw * sw:
            parts += ("legs",)
    return parts


#: Trousers or a skirt showing below a top's region over at least this many squared shoulder
#: distances: the legs under the old top are theirs, not bare. Counted in the box compose works
#: in, which reaches 3 % of the picture's height below the region: a full-length photo's two
#: trouser legs show about 0.15 there under a closed coat.
TROUSERS_SHOWN = 0.1


def _crossing(along: np.ndarray, across: np.ndarray, length: float) -> tuple[float, float, float] | None:
    """The crossing furthest down a limb of the region's edge pixels on its visible skin, given
    as their positions ``along`` and ``across`` the limb's axis: (along, middle across, half width)."""
    if len(along) < 5:
        return None
    far = float(np.percentile(along, 95))
    near = along > far - 0.12 * length
    lo, hi = np.percentile(across[near], [2, 98])
    return float(np.median(along[near])), float(lo + hi) / 2, float(hi - lo + 1) / 2


def _edge_skin(parse: np.ndarray, visible: np.ndarray, region: np.ndarray, labels: tuple[int, ...],
               below: bool = False) -> np.ndarray:
    """(x, y) of the skin with ``labels`` the photo shows just outside the region (with ``below``,
    only just below it: under a hem, not above a shoe)."""
    if below:  # spread 4 px downwards only (a column kernel anchored at its bottom)
        near_region = cv2.dilate(region.astype(np.uint8), np.ones((5, 1), np.uint8), anchor=(0, 4)).astype(bool)
    else:
        near_region = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ys, xs = np.nonzero(near_region & ~region & visible & of_labels(parse, labels))
    return np.c_[xs, ys].astype(np.float64)


def _limb_frame(pts: np.ndarray, start: np.ndarray, end: np.ndarray, origin: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """``pts`` (N, 2) as positions along and across the limb from joint ``start`` to ``end``,
    measured from ``origin``: (along, across, the unit vectors along and across, the length)."""
    d = np.asarray(end, np.float64) - start
    length = float(np.linalg.norm(d))
    d = d / max(length, 1e-6)
    n = np.array([-d[1], d[0]])
    rel = pts - np.asarray(origin, np.float64)
    return rel @ d, rel @ n, d, n, length


def arm_ends(kp: Keypoints, parse: np.ndarray, visible: np.ndarray, region: np.ndarray
             ) -> dict[int, tuple[np.ndarray, float]]:
    """Where each forearm leaves the region into skin the photo shows (a hand, a bare wrist):
    the middle and half width of that cross-section, by wrist joint. A synthesised arm that ends
    there meets the visible hand at the right place and width instead of a guessed one."""
    pts = _edge_skin(parse, visible, region, ARMS)
    arms = [(e, w) for e, w in FOREARMS if kp.seen(e) and kp.seen(w)]
    if len(pts) < 5 or not arms:
        return {}
    nearest = np.argmin([np.linalg.norm(pts - kp.xy[w], axis=1) for _, w in arms], axis=0)
    ends = {}
    for k, (e, w) in enumerate(arms):
        along, across, d, n, length = _limb_frame(pts[nearest == k], kp.xy[e], kp.xy[w], kp.xy[w])
        if length < 1:
            continue
        near = (np.abs(along) < 0.5 * length) & (np.abs(across) < 0.5 * length)
        cut = _crossing(along[near], across[near], length)
        if cut is not None:
            ends[w] = (kp.xy[w] + cut[0] * d + cut[1] * n, cut[2])
    return ends


def sleeve_ends(kp: Keypoints, parse: np.ndarray, visible: np.ndarray, old: np.ndarray
                ) -> dict[int, tuple[np.ndarray, float]]:
    """Where each upper arm leaves the ``old`` garment into the arm skin the photo shows (below a
    short sleeve): the middle and half width of that cross-section, by elbow joint. A synthesised
    upper arm passes through it: drawn at the canon's width, it met the photo's wider arm below
    with a step on both sides.

    The crossing is the topmost edge skin along the upper arm (the old sleeve's hem), over
    :data:`SLEEVE_CUT_DEPTH` of its length: further down, an arm beside the old top's body meets
    it along its inner side. Only between :data:`SLEEVE_CUT_SPAN` of the way from the shoulder
    joint to the elbow."""
    pts = _edge_skin(parse, visible, old, ARMS)
    arms = [(s_, e_) for s_, e_, _ in (R_ARM, L_ARM) if kp.seen(s_) and kp.seen(e_)]
    if len(pts) < 5 or not arms:
        return {}
    gaps = []
    for s_, e_ in arms:
        a, b = kp.xy[s_].astype(np.float64), kp.xy[e_].astype(np.float64)
        t = np.clip((pts - a) @ (b - a) / max(float((b - a) @ (b - a)), 1.0), 0, 1)
        gaps.append(np.linalg.norm(pts - (a + t[:, None] * (b - a)), axis=1))
    nearest = np.argmin(gaps, axis=0)
    ends = {}
    for k, (s_, e_) in enumerate(arms):
        along, across, d, n, length = _limb_frame(pts[nearest == k], kp.xy[s_], kp.xy[e_], kp.xy[s_])
        if length < 8:
            continue
        near = (along > SLEEVE_CUT_SPAN[0] * length) & (along < SLEEVE_CUT_SPAN[1] * length) & (np.abs(across) < 0.5 * length)
        if near.sum() < 5:
            continue
        top = float(np.percentile(along[near], 5))
        cut = near & (along < top + SLEEVE_CUT_DEPTH * length)
        lo, hi = np.percentile(across[cut], [2, 98])
        ends[e_] = (kp.xy[s_] + float(np.median(along[cut])) * d + float(lo + hi) / 2 * n, float(hi - lo + 1) / 2)
    return ends


def cuff_ends(kp: Keypoints, sleeves: np.ndarray, frame: Frame) -> dict[int, tuple[np.ndarray, float]]:
    """Where each forearm's old sleeve (``sleeves``: the replaced top in the region) ends on the
    forearm's axis, by wrist joint, where that is past the wrist (CUFF_REACH): the arm is in the
    sleeve down to its cuff. For a wrist the pose does not see, the axis runs on from the upper
    arm, and the end counts past HIDDEN_FOREARM of it. At the canon's wrist width. A sleeve the
    picture's edge cuts off runs on past it, as a limb whose next joint is out of frame does
    (stopped at the edge, the forearm ended in a round cap just inside it)."""
    hips = _hips(kp, frame)
    if hips is None or not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return {}
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]))
    # Where a forearm does not run on: off the old top, and over the torso's quadrilateral.
    off = (~sleeves).astype(np.uint8)
    cv2.fillPoly(off, [np.round([kp.xy[J.R_SHOULDER], kp.xy[J.L_SHOULDER], hips[1], hips[0]]).astype(np.int32)], 1)
    ends = {}
    for s_, e_, w_ in (R_ARM, L_ARM):
        if not (kp.seen(s_) and kp.seen(e_)):
            continue
        elbow = kp.xy[e_].astype(np.float64)
        if kp.seen(w_):
            start, d = kp.xy[w_].astype(np.float64), kp.xy[w_] - elbow
            least, length = 0.0, float(np.linalg.norm(d))
        else:
            start, d = elbow, elbow - kp.xy[s_]
            least = HIDDEN_FOREARM * float(np.linalg.norm(d))
            length = least
        if length < 1:
            continue
        d = d / np.linalg.norm(d)
        ts = np.arange(0.0, least + CUFF_REACH * length, 1.0)
        stop = clear_steps(off > 0, start, d, ts, 0.0)
        if stop and ts[stop - 1] > least + CUFF_LEAST * length:
            ends[w_] = (start + ts[stop - 1] * d, ARM_RADII[3] * sw)
    return ends


#: A rebuilt forearm reaches as far down the old long sleeve as the arm was in it: the pose's wrist
#: on a loose sleeve lies short of the cuff (tuning half: FitDiT 0083's, by two thirds of a
#: forearm), and drawn to it, the forearm ended mid-sleeve with the fill's background between it
#: and the hand below the cuff. Past the wrist the forearm's axis is followed while it stays on
#: the old top outside the torso's quadrilateral (shoulder and hip joints: a forearm across the
#: body lies over the top's own front), for at most CUFF_REACH of the forearm; it counts from
#: CUFF_LEAST of it (a cuff just past the wrist joint is the hand's start).
CUFF_REACH = 0.8
CUFF_LEAST = 0.1


#: ``sleeve_ends``: the crossing is looked for between these shares of the way from the shoulder
#: joint to the elbow (above, the skin is a bare shoulder's; below, the forearm's), and is the edge
#: skin within SLEEVE_CUT_DEPTH of the upper arm's length of the topmost.
SLEEVE_CUT_SPAN = (0.3, 0.95)
SLEEVE_CUT_DEPTH = 0.12


#: The share of a rebuilt forearm, nearest the wrist, over which its colour turns from the lit
#: skin's (the face's) to that of the hand the photo shows: the two meet without a step (the face
#: is often lighter and pinker than the hands, made up and in front light). A look, not a fit:
#: the middle of the forearm keeps the lit skin's colour (tests/test_engine.py measures it there).
HAND_BLEND = 0.35
#: How far from the wrist joint the hand's pixels are looked for, as a share of the forearm.
HAND_REACH = 0.5
#: The hand's tone is given in full within HAND_WIDTH of the forearm's length of its axis (a hand
#: is about that wide) and up to that far past the wrist, then fades to none at HAND_REACH. Cut off
#: there instead, it drew a straight step across whatever skin was near: the other forearm
#: crossing in front, a bare waist beside a hand on the hip.
HAND_WIDTH = 0.2


def _box(centre: np.ndarray, radius: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end exclusive: the square of ``radius`` around ``centre``, within ``shape``."""
    r = int(np.ceil(radius))
    x, y = int(centre[0]), int(centre[1])
    return max(0, x - r), max(0, y - r), min(shape[1], x + r + 1), min(shape[0], y + r + 1)


def _points_box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end exclusive: the box around ``points`` (N, 2) widened by ``margin``,
    within ``shape``; empty (x1 <= x0 or y1 <= y0) when it lies outside."""
    x0, y0 = np.maximum(np.floor(points.min(axis=0) - margin).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0) + margin).astype(int) + 1, (shape[1], shape[0]))
    return int(x0), int(y0), int(x1), int(y1)


def _hand_tones(image: np.ndarray, parse: np.ndarray, visible: np.ndarray, kp: Keypoints,
                skin: np.ndarray, bases: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """What to add to the lit ``skin`` colour (H, W, 3, or zeros to broadcast) so that each rebuilt
    forearm takes the tone of the hand the photo shows (arm skin in ``visible`` near the wrist)
    over its last HAND_BLEND, and keeps it over the hand, fading out beside and beyond it
    (HAND_WIDTH); a hand shown by under 50 lit pixels changes nothing. ``bases`` (by wrist
    joint, from ``arm_tones``): an arm given its own tone turns from that one to its hand's."""
    h, w = parse.shape
    bases = bases or {}
    out = np.zeros((1, 1, 3), np.float32)
    for elbow, wrist in FOREARMS:
        if not (kp.seen(elbow) and kp.seen(wrist)):
            continue
        e, d = kp.xy[elbow].astype(np.float64), (kp.xy[wrist] - kp.xy[elbow]).astype(np.float64)
        length = float(np.linalg.norm(d))
        if length < 1:
            continue
        x0, y0, x1, y1 = _box(kp.xy[wrist], HAND_REACH * length, (h, w))
        if x1 <= x0 or y1 <= y0:
            continue
        # The hand's interior: its outline mixes it with what lies behind it.
        hand = (visible[y0:y1, x0:x1] & of_labels(parse[y0:y1, x0:x1], ARMS)).astype(np.uint8)
        tone = _lit_skin(image[y0:y1, x0:x1], cv2.erode(hand, np.ones((3, 3), np.uint8)) > 0)
        if tone is None:
            continue
        d /= length
        # Worked out in the box that holds the blend and the hand only.
        x0, y0, x1, y1 = _box(kp.xy[wrist], np.hypot(max(HAND_BLEND, HAND_REACH), HAND_REACH) * length, (h, w))
        ys, xs = (g.astype(np.float32) for g in np.ogrid[y0:y1, x0:x1])
        along = ((xs - e[0]) * d[0] + (ys - e[1]) * d[1]) / length
        across = np.abs((xs - e[0]) * -d[1] + (ys - e[1]) * d[0]) / length
        share = np.clip((along - (1.0 - HAND_BLEND)) / HAND_BLEND, 0.0, 1.0)
        fade = HAND_REACH - HAND_WIDTH
        share *= np.clip((HAND_REACH - across) / fade, 0.0, 1.0) * np.clip((1.0 + HAND_REACH - along) / fade, 0.0, 1.0)
        if out.shape[0] == 1:
            out = np.zeros((h, w, 3), np.float32)
        base = bases.get(wrist, skin)
        out[y0:y1, x0:x1] += (tone - base).astype(np.float32)[None, None, :] * share[..., None]
    return out


#: An upper arm rebuilt above the bare forearm the photo shows below a short sleeve takes that
#: arm's tone rather than the face's: over the evalset's persons with bare arms, the lit colour
#: of an arm's forearm and hand is nearer its upper arm's than the face's is (mean Lab distance
#: 5.3 against 6.9 on the tuning half, 16 arms; 3.4 against 7.9 on the checking half, 42 arms),
#: and a man's shaded face drew his rebuilt upper arms 40 grey levels darker than the forearms
#: below them (FitDiT 0303). Read from the arm's skin just below the sleeve's hem (within
#: ARM_TONE_SAMPLE of its half width of the crossing, ``sleeve_ends``): where the step would
#: be. An arm whose skin the photo shows only as a hand, or through a sheer or lace sleeve, keeps
#: the face's: read there, it was the hand's shade or the lace's grey. Given in full from
#: ARM_TONE_FROM of the way from the shoulder joint to the elbow on, turning from the torso's
#: towards the shoulder (a bare shoulder is the torso's skin), within ARM_TONE_WIDTH shoulder
#: distances of the arm's axis, fading to none at ARM_TONE_REACH.
ARM_TONE_SAMPLE = 2.0
ARM_TONE_FROM = 0.5
ARM_TONE_WIDTH = 0.2
ARM_TONE_REACH = 0.35


def arm_tones(image: np.ndarray, parse: np.ndarray, visible: np.ndarray, kp: Keypoints, skin: np.ndarray,
              sw: float, cuts: dict[int, tuple[np.ndarray, float]]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """What to add to the lit ``skin`` colour (H, W, 3, or zeros to broadcast) so that each
    rebuilt arm that leaves an old short sleeve (``cuts``, by elbow joint: ``sleeve_ends``) takes
    the tone of its skin below it (``ARM_TONE_FROM``), and those tones by wrist joint. Where the
    photo shows 50 lit pixels of it or fewer (in ``visible``, labelled that arm), the arm keeps
    the lit skin's colour; ``sw`` is the shoulder joints' distance."""
    h, w = parse.shape
    out, den = np.zeros((1, 1, 3), np.float32), np.zeros((1, 1), np.float32)
    boxes = []
    tones: dict[int, np.ndarray] = {}
    for (s_, e_, w_), label in ((R_ARM, Label.RIGHT_ARM), (L_ARM, Label.LEFT_ARM)):
        if not (kp.seen(s_) and kp.seen(e_)) or sw < 1 or e_ not in cuts:
            continue
        chain = [kp.xy[j].astype(np.float64) for j in (s_, e_, w_) if kp.seen(j)]
        x0, y0, x1, y1 = _points_box(np.array(chain), ARM_TONE_REACH * sw, (h, w))
        if x1 <= x0 or y1 <= y0:
            continue
        # Worked out at the centres of the arm's box's 4x4 cells: the share is smooth.
        ys, xs = np.mgrid[y0:y1:4, x0:x1:4] + 1.5
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        along, _, gap = polyline_coords(cells, np.array(chain))
        # Past the wrist (or the elbow, without one) the distance is to that joint, not to the
        # line run on past it.
        last = along > sum(float(np.linalg.norm(b - a)) for a, b in zip(chain[:-1], chain[1:]))
        gap[last] = np.linalg.norm(cells[last] - chain[-1], axis=1)
        along, gap = (v.reshape(ys.shape) for v in (along / float(np.linalg.norm(chain[1] - chain[0])), gap))
        centre, half = cuts[e_]
        near = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.circle(near, (int(round(centre[0])) - x0, int(round(centre[1])) - y0),
                   max(1, int(round(ARM_TONE_SAMPLE * half))), 1, -1)
        tone = _lit_skin(image[y0:y1, x0:x1], (near > 0) & visible[y0:y1, x0:x1] & (parse[y0:y1, x0:x1] == label))
        if tone is None:
            continue
        tones[w_] = tone
        share = (np.clip(along / ARM_TONE_FROM, 0.0, 1.0)
                 * np.clip((ARM_TONE_REACH * sw - gap) / ((ARM_TONE_REACH - ARM_TONE_WIDTH) * sw), 0.0, 1.0))
        share = cv2.resize(share.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        if out.shape[0] == 1:
            out, den = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
        out[y0:y1, x0:x1] += (tone - skin).astype(np.float32)[None, None, :] * share[..., None]
        den[y0:y1, x0:x1] += share
        boxes.append((x0, y0, x1, y1))
    if len(boxes) == 2:
        # Where the two arms' shares overlap (hands clasped), their tones are averaged, not added.
        x0, y0 = max(boxes[0][0], boxes[1][0]), max(boxes[0][1], boxes[1][1])
        x1, y1 = min(boxes[0][2], boxes[1][2]), min(boxes[0][3], boxes[1][3])
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] /= np.maximum(den[y0:y1, x0:x1], 1.0)[..., None]
    return out, tones


#: A bare leg's radii as shares of the hip joints' distance, at the hip joint, mid-thigh, the
#: knee, the calf (three tenths down the shin) and the ankle. Bare legs in the evalset's studio
#: photos measure (medians across): 0.8 mid-thigh, 0.57 at the knee, 0.58 at the calf, 0.42
#: seven tenths down the shin.
LEG_RADII = (0.5, 0.4, 0.28, 0.29, 0.16)


def _leg_axis(leg: np.ndarray) -> np.ndarray:
    """The points ``LEG_RADII`` is given at: hip, mid-thigh, knee, calf, ankle (``leg``: hip,
    knee, ankle)."""
    hip, knee, ankle = leg.astype(np.float64)
    return np.array([hip, hip + 0.5 * (knee - hip), knee, knee + 0.3 * (ankle - knee), ankle])


def leg_ends(kp: Keypoints, parse: np.ndarray, visible: np.ndarray, region: np.ndarray, below: bool = False
             ) -> dict[int, tuple[np.ndarray, float]]:
    """Where each leg leaves the region into skin the photo shows (below a skirt's or a dress's
    hem, shorts' legs): the middle and half width of that cross-section, by ankle joint. With
    ``below``, only where the region lies above the skin (``_edge_skin``)."""
    pts = _edge_skin(parse, visible, region, LEGS, below)
    legs = [j for j in (R_LEG, L_LEG) if all(kp.seen(v) for v in j)]
    if len(pts) < 5 or not legs:
        return {}
    axes = [_leg_axis(kp.xy[list(j)]) for j in legs]
    coords = [polyline_coords(pts, axis) for axis in axes]
    nearest = np.argmin([c[2] for c in coords], axis=0)
    hip_w = float(np.linalg.norm(kp.xy[J.R_HIP] - kp.xy[J.L_HIP]))
    ends = {}
    for k, (joints, axis) in enumerate(zip(legs, axes)):
        u, v, dist = coords[k]
        length = float(np.linalg.norm(np.diff(axis, axis=0), axis=1).sum())
        mine = (nearest == k) & (dist < hip_w) & (u > 0.25 * length) & (u < length)
        cut = _crossing(u[mine], v[mine], length)
        if cut is not None:
            middle, half = _leg_below(parse, visible, region, axes, k, cut, length, hip_w) or cut[1:]
            ends[joints[2]] = (polyline_points(axis, np.array([cut[0]]), np.array([middle]))[0], half)
    return ends


#: A leg's width where it leaves the region is the photo's own leg's just past there, over this
#: share of the leg's length (``_leg_below``).
LEG_END_BAND = 0.03


def _leg_below(parse: np.ndarray, visible: np.ndarray, region: np.ndarray, axes: list[np.ndarray], k: int,
               cut: tuple[float, float, float], length: float, reach: float) -> tuple[float, float] | None:
    """The middle and half width across leg ``k``'s axis (of ``axes``) of the leg skin the photo
    shows just past the ``cut`` (:data:`LEG_END_BAND`), within ``reach`` of the axis and nearer it
    than the other's. The region's edge points hold more than the leg's own outline there (the
    shade between the legs under a skirt, a hand beside it): measured on them, a slim thigh was
    drawn half again as wide as the knee it met, with a step at the old hem. None with too few."""
    band = LEG_END_BAND * length
    at = polyline_points(axes[k], np.array([cut[0], cut[0] + band]), np.zeros(2))
    y0, y1 = (int(np.clip(y, 0, parse.shape[0])) for y in (at[:, 1].min() - band, at[:, 1].max() + band + 1))
    ys, xs = np.nonzero(of_labels(parse[y0:y1], LEGS) & visible[y0:y1] & ~region[y0:y1])
    pts = np.c_[xs, ys + y0].astype(np.float64)
    if len(pts) < 5:
        return None
    coords = [polyline_coords(pts, axis) for axis in axes]
    u, v, dist = coords[k]
    mine = ((np.argmin([c[2] for c in coords], axis=0) == k) & (dist < reach)
            & (u >= cut[0]) & (u <= cut[0] + band))
    if mine.sum() < 5:
        return None
    lo, hi = np.percentile(v[mine], [2, 98])
    return float(lo + hi) / 2, float(hi - lo + 1) / 2


#: A hem the legs leave (``_bare_below``) is one when at most this share of the way from it down
#: to the ankle is clothed (the parse's specks: FitDiT 7 has 3 % where her boot begins). A leg
#: parsed in patches as trousers (skin-toned tights: FitDiT 0347 has 12-19 %) has no hem at its
#: first patch, and a leg drawn only down to there left the patches below to the backdrop.
HEM_CLOTHED_MAX = 0.05


def _bare_below(point: np.ndarray, ankle: np.ndarray, clothed: np.ndarray) -> bool:
    """Whether the leg runs bare (``HEM_CLOTHED_MAX``; ``clothed``, a mask) from ``point`` down to
    the ``ankle``."""
    way = np.asarray(ankle, np.float64) - point
    ts = np.linspace(0.0, 1.0, max(2, int(np.linalg.norm(way))))[3:, None]  # from a few px below the hem
    on = mask_at(clothed, np.asarray(point, np.float64) + ts * way)[1]
    return len(on) == 0 or float(on.mean()) <= HEM_CLOTHED_MAX


def _leg(axis: np.ndarray, radii: list[float], end: tuple[np.ndarray, float] | None,
         heel: np.ndarray | None = None) -> tuple[list[np.ndarray], list[float]]:
    """A leg's capsule chain (points, radii): down to the ankle and on as far down the shin's line
    as the ``heel`` lies (the shoe drawn over it: ended at the ankle joint, the leg stopped short
    of a trainer's top, and the backdrop showed between them where the trousers' hem had been;
    bent to the heel itself, it drew a foot turned aside over the shoe's tongue), or, given the
    ``end`` where it leaves the region, down to that point and tapered to that width from the
    hip on."""
    shin = axis[-1] - axis[-2]
    shin = shin / max(float(np.linalg.norm(shin)), 1e-6)
    on = axis[-1] + 0.1 * (axis[-1] - axis[-2])
    if end is None and heel is not None:
        on = axis[-1] + shin * max(float(np.dot(heel - axis[-1], shin)), float(np.dot(on - axis[-1], shin)))
    pts = list(axis) + [on]
    radii = list(radii) + [radii[-1]]
    if end is None:
        return pts, radii
    point, half = end
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(axis, axis=0), axis=1))]
    u = float(polyline_coords(point[None], axis)[0][0])
    if u <= 0:
        return pts, radii
    there = float(np.interp(u, arc, radii[:-1]))  # the radius the leg would have at its end
    k = float(np.clip(half / there, 0.6, 1.5))
    keep = [i for i in range(len(axis)) if arc[i] < u - 1.0]
    pts = [axis[i] for i in keep] + [point]
    radii = [radii[i] * (1 + (k - 1) * arc[i] / u) for i in keep] + [there * k]
    return pts + [point + 0.1 * (point - pts[-2])], radii + [radii[-1]]


#: Neck-to-hip drop as a share of the shoulder joints' distance (adults, seen from the front).
TORSO_DROP = 1.5
#: Shoulder-to-elbow length, likewise.
UPPER_ARM = 0.8
#: An elbow the pose does not see hangs below the frame (a close-up cut at the chest) when the
#: frame's edge is within this many upper arms (``UPPER_ARM``) below its shoulder. Over 1: seen
#: turned aside, the shoulders are nearer together and the upper arm longer for them (a selfie's,
#: DreamO man2, is 1.03 of their distance long, the elbow just past the frame), and the pose does
#: not see an elbow at the frame's very edge either. An elbow hidden higher up (behind the body,
#: a bag) still has no arm drawn down to the frame.
HANG_REACH = 1.5


#: The picture's extent (left, top, right, bottom) in the coordinates of the keypoints.
Frame = tuple[float, float, float, float]


def _down(kp: Keypoints) -> np.ndarray:
    """Unit vector down the body: square to the shoulder line (both shoulders seen)."""
    across = (kp.xy[J.L_SHOULDER] - kp.xy[J.R_SHOULDER]).astype(np.float64)
    down = np.array([-across[1], across[0]]) * np.sign(across[0] or 1.0)
    return down / max(float(np.linalg.norm(down)), 1e-6)


def _hips(kp: Keypoints, frame: Frame) -> tuple[np.ndarray, np.ndarray] | None:
    """The (right, left) hip joints; in a close-up cut off above the waist, where they would be
    below the frame. None when the shoulders are unknown, or the hips should be in the picture
    but are not seen (hidden: nothing to guess from)."""
    if kp.seen(J.R_HIP) and kp.seen(J.L_HIP):
        return kp.xy[J.R_HIP], kp.xy[J.L_HIP]
    if not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return None
    drop = _down(kp) * TORSO_DROP * float(np.linalg.norm(kp.xy[J.L_SHOULDER] - kp.xy[J.R_SHOULDER]))
    right, left = kp.xy[J.R_SHOULDER] + drop, kp.xy[J.L_SHOULDER] + drop
    return (right, left) if min(right[1], left[1]) > frame[3] else None


def _to_edge(pos: float, step: float, lo: float, hi: float) -> float:
    """How far along a unit ``step`` (one axis of it) ``pos`` is from the edge ``lo`` or ``hi``."""
    if step > 0:
        return (hi - 1 - pos) / step
    return (lo - pos) / step if step < 0 else np.inf


def mask_at(mask: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points ((x, y), N x 2): whether each lies in the picture, and the ``mask`` there (False
    outside it)."""
    h, w = mask.shape
    xy = np.round(pts).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    return inside, inside & mask[np.clip(xy[:, 1], 0, h - 1), np.clip(xy[:, 0], 0, w - 1)]


def _off_frame(a: np.ndarray, b: np.ndarray, frame: Frame, background: np.ndarray | None = None) -> list[np.ndarray]:
    """Where a limb running from ``a`` through its last seen joint ``b`` leaves the picture, if
    it does within one more segment's length and not across ``background`` the photo shows (the
    next joint is then out of frame, not folded back or hidden): a point just outside the
    frame, else nothing."""
    d = np.asarray(b, np.float64) - a
    length = float(np.linalg.norm(d))
    if length < 1:
        return []
    d /= length
    t = min(_to_edge(b[0], d[0], frame[0], frame[2]), _to_edge(b[1], d[1], frame[1], frame[3]))
    if t > length:
        return []
    if background is not None:
        ts = np.linspace(0.0, max(t, 0.0), 16)
        inside, on = mask_at(background, np.asarray(b, np.float64)[None] + ts[:, None] * d)
        if inside.any() and on[inside].mean() > 0.5:
            return []
    return [np.asarray(b, np.float64) + d * (t + 0.05 * length)]


#: A forearm whose wrist the pose does not see (a hand in a pocket, on a bag, behind the body) is
#: drawn on along the upper arm's line for this share of the upper arm's length (the forearm is
#: about five sixths of it), as far as the photo shows no background or hand across its width (a
#: hand the photo shows is where the forearm ends): drawn as far as the elbow only, it ended as a
#: stump halfway down the old sleeve. Where that is less than HIDDEN_FOREARM_LEAST of the way, the
#: forearm is bent away (to a pocket, or a fist raised beside it) and is not drawn on: a short
#: straight piece of it hung below the sleeve.
HIDDEN_FOREARM = 0.85
HIDDEN_FOREARM_LEAST = 0.6


def _hidden_forearm(body: BodyDrawing, shoulder: np.ndarray, elbow: np.ndarray, radius: float) -> list[np.ndarray]:
    """The end of a forearm whose wrist is not seen (HIDDEN_FOREARM): straight on from the upper
    arm, stopped before what ``body`` blocks (background, hands) on its axis or at its sides
    (``radius`` from it); nothing if that is before HIDDEN_FOREARM_LEAST of the way.

    Where the background stops it (an arm hanging beside the body), bent towards the hips by
    each of HIDDEN_FOREARM_BENDS in turn, if it then ends in ``body.pockets`` (the new garment):
    a hand in a pocket. Not where a hand the photo shows stops it: that forearm lies elsewhere
    (arms crossed), and bent, it drew a third arm."""
    elbow = np.asarray(elbow, np.float64)
    d = elbow - shoulder
    length = HIDDEN_FOREARM * float(np.linalg.norm(d))
    if length < 1:
        return []
    d /= np.linalg.norm(d)
    blocked = body.blocked()
    if blocked is None:
        return [elbow + d * length]
    ts = np.linspace(0.0, length, 24)
    stop = clear_steps(blocked, elbow, d, ts, radius)
    if ts[max(stop - 1, 0)] >= HIDDEN_FOREARM_LEAST * length:
        return [elbow + d * ts[max(stop - 1, 0)]]
    hips = _hips(body.kp, body.frame)
    if hips is None or body.pockets is None or body.background is None \
            or clear_steps(body.background, elbow, d, ts, radius) != stop:
        return []  # stopped by a hand the photo shows, or nowhere to bend to
    end = turned_to_hips(elbow, d, ts, blocked, radius, (hips[0] + hips[1]) / 2, body.pockets)
    return [] if end is None else [end]


def turned_to_hips(elbow: np.ndarray, d: np.ndarray, ts: np.ndarray, blocked: np.ndarray, radius: float,
                   hips: np.ndarray, pockets: np.ndarray) -> np.ndarray | None:
    """The end of a hidden forearm that cannot go on straight from the elbow (along ``d``, the
    steps ``ts``): turned towards the ``hips`` by each of HIDDEN_FOREARM_BENDS in turn, the first
    that runs clear of ``blocked`` for HIDDEN_FOREARM_LEAST of the way and ends in ``pockets``;
    None if none does. The engine's fit lays a sleeve down the same turned forearm that compose
    draws under it."""
    off = hips - elbow
    inward = float(np.sign(d[0] * off[1] - d[1] * off[0]))  # the turn (image axes) towards the hips
    for bend in np.radians(HIDDEN_FOREARM_BENDS) * inward:
        turned = np.array([d[0] * np.cos(bend) - d[1] * np.sin(bend), d[0] * np.sin(bend) + d[1] * np.cos(bend)])
        reach = ts[max(clear_steps(blocked, elbow, turned, ts, radius) - 1, 0)]
        end = elbow + turned * reach
        if reach >= HIDDEN_FOREARM_LEAST * ts[-1] and mask_at(pockets, end[None])[1][0]:
            return end
    return None


def clear_steps(blocked: np.ndarray, start: np.ndarray, d: np.ndarray, ts: np.ndarray, radius: float) -> int:
    """How many of the steps ``ts`` along ``d`` from ``start`` are clear of ``blocked`` on the axis
    and ``radius`` to either side of it, before the first that is not."""
    n = np.array([-d[1], d[0]])
    lines = [start[None] + ts[:, None] * d + offset * n for offset in (0.0, -radius, radius)]
    clear = np.all([~mask_at(blocked, line)[1] for line in lines], axis=0)
    return int(np.argmin(clear)) if not clear.all() else len(ts)


#: The turns (degrees) towards the hips tried in order for a hidden forearm that cannot go on
#: straight (``_hidden_forearm``). Set on the tuning half: FitDiT 0179's hand in his trouser
#: pocket turns his forearm by about 23 degrees from the upper arm's line; not drawn, his arm
#: ended as a stump at the elbow.
HIDDEN_FOREARM_BENDS = (15.0, 30.0, 45.0)
#: A hidden forearm's end (the hand it hides) goes under the new garment within this share of
#: the forearm's length of its end (``_compose``): drawn over it, it was a round stump on the
#: garment; tucked under it, the hand is in a pocket or behind the hip.
HIDDEN_HAND_TUCK = 0.3


#: The bare torso's outline on one side of the body, from the neck down to the hip, as (across,
#: down) shares of the shoulder joints' distance from the shoulders' midpoint; the waist and hip
#: rows are placed by the drop to the hips instead (``torso_outline``). Adult proportions seen
#: from the front: the neck's side, the trapezius falling to the shoulder's round top, the
#: deltoid, the armpit, then the flank narrowing to the waist.
TORSO_SIDE = ((0.15, -0.2), (0.3, -0.15), (0.44, -0.1), (0.53, -0.02), (0.55, 0.1), (0.47, 0.35))
#: Half the waist (at WAIST_AT of the drop from the shoulders to the hips) and of the hips, likewise.
WAIST_HALF, HIP_HALF = 0.38, 0.46
WAIST_AT = 0.55


def torso_outline(kp: Keypoints, hips: tuple[np.ndarray, np.ndarray],
                  flanks: tuple[np.ndarray, np.ndarray] | None = None, tail: float = 0.0) -> np.ndarray:
    """The bare torso as a closed polygon (N, 2) from the shoulder joints and ``hips`` (right,
    left): sloping shoulders and a waist, not the box between the four joints, which shows as a
    cardboard cut-out wherever a top leaves the shoulders or the midriff bare.

    ``flanks`` (right, left points; from ``trousers_top``): where the photo shows the body's
    sides, lower down. A side the proportions draw narrower than that is widened from the waist
    down to pass through it (by up to :data:`FLANK_WIDEN_MAX`): a woman's hips are wider than the
    canon's, and the trousers' waistband stood out past a narrow midriff as a block. ``tail``:
    the outline runs on straight below the hips by this share of its drop to them."""
    right, left = kp.xy[J.R_SHOULDER].astype(np.float64), kp.xy[J.L_SHOULDER].astype(np.float64)
    sw = float(np.linalg.norm(left - right))
    mid = (right + left) / 2
    across = (left - right) / max(sw, 1e-6)  # from the image's right shoulder joint to its left
    down = _down(kp)
    hip_mid = (np.asarray(hips[0], np.float64) + np.asarray(hips[1], np.float64)) / 2
    drop = max(float((hip_mid - mid) @ down), 0.5 * sw)
    hip_half = max(HIP_HALF * sw, 0.8 * float(np.linalg.norm(np.asarray(hips[1]) - hips[0])))
    side = [(a * sw, d * sw) for a, d in TORSO_SIDE] + [(WAIST_HALF * sw, WAIST_AT * drop), (hip_half, drop)]

    def centre(d: float) -> np.ndarray:  # the body's axis bends from the shoulders' to the hips' middle
        return mid + d * down if d <= 0 else mid + (hip_mid - mid) * min(d / drop, 1.0) + max(d - drop, 0.0) * down

    sides = {-1: side, 1: side}
    for sign, point in zip((-1, 1), flanks or ()):
        d = float((np.asarray(point, np.float64) - mid) @ down)
        if d < WAIST_AT * drop:
            continue
        d = min(d, drop)
        reach = sign * float((np.asarray(point, np.float64) - centre(d)) @ across)
        drawn = float(np.interp(d, [WAIST_AT * drop, drop], [WAIST_HALF * sw, hip_half]))
        widen = float(np.clip(reach - drawn, 0.0, FLANK_WIDEN_MAX * sw))
        sides[sign] = side[:-2] + [(a + widen, d_) for a, d_ in side[-2:]]
    if tail > 0:
        sides = {sign: half + [(half[-1][0], (1 + tail) * drop)] for sign, half in sides.items()}
    pts = [centre(d) + sign * a * across for sign, half in ((-1, sides[-1][::-1]), (1, sides[1])) for a, d in half]
    return rounded(np.array(pts), closed=True)


#: Drawn over trousers, the torso runs on below the hip joints by this share of its drop to them.
TORSO_TAIL = 0.2
#: ``torso_outline`` widens a side to the body's seen flank by at most this share of the shoulder
#: joints' distance: wide trousers' waistband, or a coat's skirt taken for them, is not the body.
FLANK_WIDEN_MAX = 0.2


def _torso_mask(kp: Keypoints, hips: tuple[np.ndarray, np.ndarray], shape: tuple[int, int],
                flanks: tuple[np.ndarray, np.ndarray] | None = None, tail: float = 0.0) -> np.ndarray:
    """``torso_outline`` filled, as a boolean mask of ``shape``."""
    torso = np.zeros(shape, np.uint8)
    cv2.fillPoly(torso, [np.round(torso_outline(kp, hips, flanks, tail)).astype(np.int32)], 1)
    return torso > 0


@dataclass
class BodyDrawing:
    """The bare body being drawn (``body_shape``): coverage, the round-shading terms (``ratio``: 0
    on a limb's axis, 1 at its edge, 2 where no limb is; ``side``: its sideways share, see
    ``_capsules``), and what a limb cut off by the picture's edge needs to run on past it (the
    frame, the background the photo shows)."""

    kp: Keypoints
    sw: float  # the shoulder joints' distance, the scale of every radius
    frame: Frame
    background: np.ndarray | None
    inside: np.ndarray
    ratio: np.ndarray
    side: np.ndarray
    arm_start: float = ARM_START
    hands: np.ndarray | None = None  # arm skin the photo keeps: a forearm whose wrist is unseen ends there
    arms: np.ndarray | None = None  # where the arms alone are drawn, when they are
    flanks: tuple[np.ndarray, np.ndarray] | None = None  # the body's sides seen lower down (``trousers_top``)
    # Each arm's first capsule's centre and radius (its round top), for the shoulders' outline.
    arm_tops: list[tuple[np.ndarray, float]] = field(default_factory=list)
    # Where a forearm whose hand the photo hides ends, and how much of it to tuck under the garment.
    hidden_hands: list[tuple[np.ndarray, float]] = field(default_factory=list)
    pockets: np.ndarray | None = None  # where a hidden hand may be (the new garment): see ``_hidden_forearm``
    # Each forearm drawn: where its wrist may be (the seen joint, where the forearm was ended), and
    # its coverage from the elbow to the hand.
    forearms: list[tuple[list[np.ndarray], np.ndarray]] = field(default_factory=list)
    neck: float = 0.0  # the neck's least width (pixels): see ``NECK_PER_FACE``

    def blocked(self) -> np.ndarray | None:
        """Where no limb is drawn on to: the background and the hands the photo shows."""
        if self.hands is None:
            return self.background
        return self.hands if self.background is None else self.background | self.hands

    def add_capsules(self, pts: list[np.ndarray], radii: list[float]) -> np.ndarray:
        """Tapered capsules along ``pts`` (a radius per point) added; their own shading term returned."""
        i, r, side, box = _capsules(self.inside.shape, [np.asarray(p, np.float64) for p in pts], radii[: len(pts)])
        # Only in the capsules' box: outside it they change nothing, and the drawing is the crop's size.
        self.inside[box] |= i[box]
        self.side[box] = np.where(r[box] < self.ratio[box], side[box], self.side[box])
        self.ratio[box] = np.minimum(self.ratio[box], r[box])
        return r

    def add_joints(self, joints: tuple[int, ...], radii: tuple[float, ...]) -> None:
        """Capsules along the seen ``joints`` (radii as shares of ``sw``); a limb cut off by the
        frame runs on to it."""
        pts = []
        for j in joints:
            if not self.kp.seen(j):
                if len(pts) >= 2:
                    pts += _off_frame(pts[-2], pts[-1], self.frame, self.background)
                break
            pts.append(self.kp.xy[j].astype(np.float64))
        if len(pts) >= 2:
            self.add_capsules(pts, [self.sw * x for x in radii])


def body_shape(kp: Keypoints, parts: tuple[str, ...], shape: tuple[int, int],
               ends: dict[int, tuple[np.ndarray, float]] | None = None,
               chin: np.ndarray | None = None, frame: Frame | None = None,
               background: np.ndarray | None = None, bare_arms: bool = False,
               hands: np.ndarray | None = None, flanks: tuple[np.ndarray, np.ndarray] | None = None,
               pockets: np.ndarray | None = None, bare_shoulders: bool | None = None, neck: float = 0.0
               ) -> BodyDrawing:
    """Where bare body would be (``parts``: arms, torso with neck, legs with pelvis) and its
    round-shading terms (``BodyDrawing``). ``ends`` (from ``arm_ends`` and
    ``leg_ends``) fixes where and how wide a forearm or a leg ends; the neck runs up to ``chin``
    (``chin_point`` of ``head_skin``) when given, else towards the nose. ``frame``: the whole picture when
    ``shape`` is a crop of it; limbs and a torso that it cuts off run on past its edges, unless
    the photo shows ``background`` (a mask) where they would run. ``bare_arms``: no sleeve covers
    the shoulders (the arms begin at :data:`BARE_ARM_START`). ``hands``: arm skin the photo keeps
    (a mask), where a forearm whose wrist is not seen ends. ``flanks``: the body's sides the photo
    shows below the torso (``trousers_top``), which the torso is widened to reach. ``pockets``:
    where a forearm whose hand is hidden may end bent (the new garment, a mask). ``bare_shoulders``:
    the shoulders' round is drawn over the arms' tops (``_shoulders``); by default where the arms
    are bare, also under an off-shoulder neckline. ``neck``: the neck's least width (pixels)."""
    h, w = shape
    frame = frame or (0.0, 0.0, float(w), float(h))
    shoulders = kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER])) if shoulders else 0.25 * w
    body = BodyDrawing(kp, sw, frame, background, np.zeros((h, w), bool), np.full((h, w), 2.0, np.float32),
                       np.zeros((h, w), np.float32), BARE_ARM_START if bare_arms else ARM_START, hands,
                       flanks=flanks, pockets=pockets, neck=neck)
    ends = ends or {}
    if "arms" in parts:
        for arm in (R_ARM, L_ARM):
            _draw_arm(body, arm, ends.get(arm[2]), ends.get(arm[1]))
        body.arms = body.inside.copy()
    arm_terms = (body.ratio.copy(), body.side.copy()) if "arms" in parts and "torso" in parts else None
    if "torso" in parts:
        top = _draw_neck(body, chin)
        _draw_torso(body, shoulders=bare_arms if bare_shoulders is None else bare_shoulders)
        if top is not None:
            _neck_fillets(body, top)
        if arm_terms is not None:
            _arms_in_front(body, *arm_terms)
    if "legs" in parts:
        _draw_legs(body, ends)
        _draw_pelvis(body)
    return body


def _draw_arm(body: BodyDrawing, arm: tuple[int, int, int], end: tuple[np.ndarray, float] | None,
              cut: tuple[np.ndarray, float] | None = None) -> None:
    """An arm (shoulder, elbow, wrist joints) from a little below the shoulder joint (the
    shoulder's top is the torso's outline), ending at ``end`` (where and how wide the forearm
    leaves the region) when given; its upper arm passes through ``cut`` (where and how wide it
    leaves the old short sleeve, ``sleeve_ends``) when given, the canon's widths scaled to it."""
    kp, sw = body.kp, body.sw
    s_, e_, w_ = arm
    if kp.seen(s_) and not kp.seen(e_) and kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER):
        # An elbow that would be below the frame (a close-up): the arm hangs out of it. Seen
        # as a limb arriving at the shoulder from HANG_REACH upper arms above, it leaves the frame
        # within that length when the hanging elbow would be outside it, or nearly.
        upper = _down(kp) * UPPER_ARM * sw
        hang = _off_frame(kp.xy[s_] - HANG_REACH * upper, kp.xy[s_], body.frame, body.background)
        if hang:
            body.add_capsules([kp.xy[s_] + ARM_START * upper, *hang], [sw * ARM_RADII[0], sw * ARM_RADII[1]])
            body.arm_tops.append((kp.xy[s_] + ARM_START * upper, sw * ARM_RADII[0]))
    if kp.seen(s_) and kp.seen(e_):
        start, elbow = kp.xy[s_] + body.arm_start * (kp.xy[e_] - kp.xy[s_]), kp.xy[e_].astype(np.float64)
        top, at_elbow, widest, at_wrist, hand = (sw * x for x in ARM_RADII)
        upper: list[tuple[np.ndarray, float]] = []  # points between the start and the elbow
        if cut is not None:
            t = float((cut[0] - start) @ (elbow - start)) / max(float((elbow - start) @ (elbow - start)), 1.0)
            if 0.05 < t < 0.95:
                k = float(np.clip(cut[1] / (top + (at_elbow - top) * t), *SLEEVE_CUT_SCALE))
                top, at_elbow = top * k, at_elbow * k
                upper = [(np.asarray(cut[0], np.float64), top + (at_elbow - top) * t)]
        body.arm_tops.append((start, top))
        if end is not None:
            # The forearm tapers to the measured end; the upper arm keeps its width.
            wrist, r_end = end
            k = float(np.clip(r_end / at_wrist, 0.75, 1.4))
            at_elbow, widest, at_wrist, hand = at_elbow * (1 + k) / 2, widest * (1 + k) / 2, at_wrist * k, hand * k
            after = wrist + 0.1 * (wrist - elbow)
        else:
            found = [kp.xy[w_]] if kp.seen(w_) else _off_frame(start, elbow, body.frame, body.background)
            if not found:
                found = _hidden_forearm(body, kp.xy[s_], elbow, at_wrist)
                if found:
                    body.hidden_hands.append((np.asarray(found[0], np.float64),
                                              HIDDEN_HAND_TUCK * float(np.linalg.norm(found[0] - elbow))))
            if not found:
                body.add_capsules([start, *(p for p, _ in upper), elbow], [top, *(r for _, r in upper), at_elbow])
                return
            wrist = np.asarray(found[0], np.float64)
            after = wrist + 0.2 * (wrist - elbow)
        body.add_capsules([start, *(p for p, _ in upper), elbow], [top, *(r for _, r in upper), at_elbow])
        fore = body.add_capsules([elbow, elbow + FOREARM_WIDEST * (wrist - elbow), wrist, after],
                                 [at_elbow, widest, at_wrist, hand])
        joint = [kp.xy[w_].astype(np.float64)] if kp.seen(w_) else []
        body.forearms.append(([wrist, *joint], fore <= 1.0))


#: A forearm whose wrist lies wholly inside the torso's outline, its half width (the canon's
#: wrist radius, a share of the shoulder joints' distance) from the edge, crosses in front of the
#: body (a hand on the belly, clasped hands); hands hanging beside the hips do not. The outline
#: runs on below the hip joints (``TORSO_TAIL``): hands clasped in front of the crotch are there.
FRONT_WRIST_DEPTH = ARM_RADII[3]


def forearms_in_front(drawing: BodyDrawing, hips: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Where the forearms drawn cross in front of the torso (a mask): a new top with short
    sleeves lies behind them, where it hid them under its front as if the hands floated on it."""
    out = np.zeros(drawing.inside.shape, bool)
    if hips is None or not drawing.forearms:
        return out
    torso = _torso_mask(drawing.kp, hips, out.shape, tail=TORSO_TAIL)
    depth = None
    h, w = out.shape
    for wrists, coverage in drawing.forearms:
        for x, y in (np.round(p).astype(int) for p in wrists):
            if not (0 <= x < w and 0 <= y < h and torso[y, x]):
                continue
            if depth is None:
                depth = cv2.distanceTransform(torso.astype(np.uint8), cv2.DIST_L2, 3)
            if depth[y, x] >= FRONT_WRIST_DEPTH * drawing.sw:
                out |= coverage
                break
    return out


#: A neck is at least this share of the face's width across its lower half (``face_width``). A
#: body turned aside draws its shoulder joints close together, and a neck drawn from their distance
#: alone (``NECK_WIDTH``) was a stalk under the head. Over the evalset's persons that share of the
#: shoulders is 0.42-1.3 of the face's width; under 0.6 are bodies turned aside (a selfie, a seated
#: 3/4 portrait, 0.44-0.57) and narrow-shouldered women, whose necks their photos mostly show (a
#: drawn neck shows where a collar hid the photo's).
NECK_PER_FACE = 0.6
#: ``face_width`` measures the face mask's rows over this span of its height, from its top.
FACE_WIDTH_ROWS = (0.6, 0.8)


def face_width(face: np.ndarray) -> float:
    """The ``face`` mask's width across its lower half (the median of its rows' widths over
    :data:`FACE_WIDTH_ROWS` of its height), 0 for none."""
    rows = np.flatnonzero(face.any(axis=1))
    if len(rows) < 10:
        return 0.0
    top, span = rows[0], rows[-1] - rows[0]
    has, left, right = row_extents(face[top + int(FACE_WIDTH_ROWS[0] * span): top + int(FACE_WIDTH_ROWS[1] * span) + 1])
    return float(np.median(right[has] - left[has] + 1)) if has.any() else 0.0


def _draw_neck(body: BodyDrawing, chin: np.ndarray | None) -> float | None:
    """A neck is about ``NECK_WIDTH`` of the shoulder joints' distance across, and at least
    ``body.neck`` (from the face's width, ``NECK_PER_FACE``). It rises to the
    chin (``neck_top``): the nose leaves the neck's axis when the head turns or tilts. Returns
    the height (y) of its axis's top, None when none is drawn."""
    kp = body.kp
    if chin is not None and kp.seen(J.NECK):
        width = max(NECK_WIDTH * body.sw, body.neck)
        top = neck_top(chin, width)
        body.add_capsules([kp.xy[J.NECK], top], [width / 2] * 2)
        return float(top[1])
    if kp.seen(J.NECK) and kp.seen(J.NOSE):
        body.add_joints((J.NECK, J.NOSE), (NECK_WIDTH / 2, NECK_WIDTH / 2))
        return float(kp.xy[J.NOSE][1])
    return None


#: Where the neck meets the shoulders (``_neck_fillets``), the outline turns through a round of
#: this radius (a share of the shoulder joints' distance): the muscles from the neck to the
#: shoulders' top. Looked for up to NECK_FILLET_REACH shoulder distances to each side of the neck.
NECK_FILLET = 0.08
NECK_FILLET_REACH = 0.5


def _neck_fillets(body: BodyDrawing, top: float) -> None:
    """Round the corners where the neck's column stands on the torso's top: a morphological
    closing of the drawing between the neck's ``top`` (y) and the shoulders' line. Under a collar the
    neck and the shoulders are drawn whole, and the column met the shoulders' line at a square
    corner, a doll's neck; a real neck widens into them. The rounds' shading terms continue the
    drawing's around them."""
    kp, sw = body.kp, body.sw
    if not (kp.seen(J.NECK) and kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)) or sw < 1:
        return
    h, w = body.inside.shape
    r = max(1, round(NECK_FILLET * sw))
    y0, y1 = max(0, int(top) - r), min(h, int(max(kp.xy[J.R_SHOULDER][1], kp.xy[J.L_SHOULDER][1])) + r + 1)
    x0 = max(0, int(kp.xy[J.NECK][0] - NECK_FILLET_REACH * sw) - r)
    x1 = min(w, int(kp.xy[J.NECK][0] + NECK_FILLET_REACH * sw) + r + 1)
    if y1 <= y0 + 2 * r or x1 <= x0 + 2 * r:
        return
    box = body.inside[y0:y1, x0:x1]
    # The closing by a disc as two exact distance transforms (five times faster than cv2's
    # elliptic kernel of this size).
    padded = cv2.copyMakeBorder(box.astype(np.uint8), r, r, r, r, cv2.BORDER_REPLICATE)
    grown = (cv2.distanceTransform(1 - padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) <= r).astype(np.uint8)
    added = (cv2.distanceTransform(grown, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[r:-r, r:-r] > r) & ~box
    if not added.any():
        return
    # Stack blur: a Gaussian of standard deviation about r, at a cost that does not grow with r.
    side = 2 * round(2.5 * r) + 1
    weight = cv2.stackBlur(box.astype(np.float32), (side, side))
    for term in (body.ratio, body.side):
        part = term[y0:y1, x0:x1]
        spread = cv2.stackBlur(np.where(box, part, 0).astype(np.float32), (side, side))
        part[added] = (spread / np.maximum(weight, 1e-6))[added]
    box |= added


def _draw_torso(body: BodyDrawing, shoulders: bool = False) -> None:
    """The torso's outline (``torso_outline``), round across like a flattened cylinder: darker
    towards the flanks, less so than a limb. ``shoulders``: bare shoulders, whose outline runs
    on over the arms' round tops (``_shoulders``)."""
    kp = body.kp
    hips = _hips(kp, body.frame)
    if hips is None:
        return
    # Over trousers it runs on under their waistband, which its rounded end would notch.
    torso = _torso_mask(kp, hips, body.inside.shape, body.flanks, TORSO_TAIL if body.flanks is not None else 0.0)
    if shoulders:
        torso |= _shoulders(body)
    body.inside |= torso
    top, bottom = (kp.xy[J.R_SHOULDER] + kp.xy[J.L_SHOULDER]) / 2, (hips[0] + hips[1]) / 2
    _, across, side, _ = _capsules(body.inside.shape, [top, bottom],
                                   [0.55 * body.sw, 0.55 * float(np.linalg.norm(hips[0] - hips[1]))])
    flatter = torso & (0.8 * across < body.ratio)
    body.side = np.where(flatter, 0.8 * side, body.side)
    body.ratio = np.where(flatter, 0.8 * across, body.ratio)


#: Bare shoulders (``_shoulders``): the torso's outline points from this far out from its middle
#: (shares of the shoulder joints' distance, ``TORSO_SIDE``) and above the joints' line join the
#: hull over each arm's round top. From nearer in, the hull would reach up the neck's sides.
SHOULDER_FROM = 0.3


def _shoulders(body: BodyDrawing) -> np.ndarray:
    """Each bare shoulder as the convex hull of the torso's sloping top and the upper half of the
    arm's round top below it. Drawn apart, the arm's top stood out beside the torso's slope as
    a pad, a ball joint, with a notch where the two met; a shoulder is one round outline from
    the neck over the arm."""
    kp, sw = body.kp, body.sw
    out = np.zeros(body.inside.shape, np.uint8)
    if not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)) or sw < 1:
        return out > 0
    right, left = kp.xy[J.R_SHOULDER].astype(np.float64), kp.xy[J.L_SHOULDER].astype(np.float64)
    mid, across, down = (right + left) / 2, (left - right) / sw, _down(kp)
    turn = np.linspace(0.0, 2 * np.pi, 36, endpoint=False)
    circle = np.stack([np.cos(turn), np.sin(turn)], axis=1)
    for centre, radius in body.arm_tops:
        sign = 1.0 if float((centre - mid) @ across) >= 0 else -1.0
        slope = [mid + d * sw * down + sign * a * sw * across for a, d in TORSO_SIDE if d <= 0 and a >= SHOULDER_FROM]
        ring = centre + radius * circle
        ring = ring[(ring - centre) @ down <= 0]
        cv2.fillConvexPoly(out, cv2.convexHull(np.round(np.vstack([slope, ring])).astype(np.int32)), 1)
    return out > 0


#: Arms in front of the torso (``_arms_in_front``): from ARM_FRONT_FROM below the shoulder joints'
#: line (a share of their distance; the armpit is about 0.25 below it), fully by ARM_FRONT_FULL,
#: an arm keeps its own round shading over the torso, and the torso darkens like a limb's edge
#: within ARM_CREASE (a share of the arm's radius) outside the arm's outline. Above, the arm
#: runs into the shoulder without a line.
ARM_FRONT_FROM = 0.2
ARM_FRONT_FULL = 0.35
ARM_CREASE = 0.3


def _arms_in_front(body: BodyDrawing, arm_ratio: np.ndarray, arm_side: np.ndarray) -> None:
    """Seen from the front, an arm hanging beside the body lies in front of the torso's side. The
    torso drawn under it took the arm's pixels into its own roundness (the smaller shading term
    wins), and arm and torso became one flat slab from one arm's outer edge to the other's, with
    no line where the arm lies against the body. ``arm_ratio`` and ``arm_side``: the shading terms
    of the arms alone, before the torso was drawn."""
    kp, sw = body.kp, body.sw
    if not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)) or sw < 1:
        return
    near = arm_ratio < 1.0 + ARM_CREASE
    ys, xs = np.nonzero(near)
    if not len(ys):
        return
    mid, down = (kp.xy[J.R_SHOULDER] + kp.xy[J.L_SHOULDER]) / 2, _down(kp)
    drop = ((xs - mid[0]) * down[0] + (ys - mid[1]) * down[1]) / sw
    weight = np.clip((drop - ARM_FRONT_FROM) / (ARM_FRONT_FULL - ARM_FRONT_FROM), 0.0, 1.0).astype(np.float32)
    q, ratio, side = arm_ratio[ys, xs], body.ratio[ys, xs], body.side[ys, xs]
    arm = q <= 1.0
    # On the arm, its own terms; beside it on the torso, a crease as dark as a limb's edge at the outline.
    crease = np.maximum(ratio, 1.0 - (q - 1.0) / ARM_CREASE)
    body.ratio[ys, xs] = ratio + (np.where(arm, q, crease) - ratio) * weight
    body.side[ys, xs] = side + (np.where(arm, arm_side[ys, xs], side) - side) * weight


#: Arm skin the photo shows goes over a sleeveless garment when it lies within ARM_SKIN_REACH (a
#: share of the shoulder joints' distance; the keypoints' arm lies off the photo's by up to about
#: 0.14 of it) of the arms drawn (not what runs on further, even joined to it), or when a piece of
#: it apart from them is at least ARM_SKIN_LEAST (a share of that distance squared): a hand is
#: about 0.3 of it long and 0.12 across, 0.036.
ARM_SKIN_REACH = 0.1
ARM_SKIN_LEAST = 0.01


def _arm_skin(real_arms: np.ndarray, bare: BodyDrawing) -> np.ndarray:
    """The photo's arm skin that is an arm's: the parse's arm label also takes in scraps of bare
    midriff or chest beside the old garment, and drawn over the new one they stood on it as
    skin-coloured patches."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(real_arms.astype(np.uint8))
    near = _within(bare.inside, max(1, round(ARM_SKIN_REACH * bare.sw)))
    touching = set(np.unique(labels[near]).tolist())
    least = ARM_SKIN_LEAST * bare.sw ** 2
    apart = [i for i in range(1, len(stats)) if i not in touching and stats[i, cv2.CC_STAT_AREA] >= least]
    # Near the arms drawn, only what is near them: the parse's arm can run on from a hand into
    # trousers of skin's colour beside it, and that strip stood on the new garment at the hip.
    return (real_arms & near) | components_in(labels, apart)


def _draw_legs(body: BodyDrawing, ends: dict[int, tuple[np.ndarray, float]]) -> None:
    """Both legs (``LEG_RADII``, ending at ``ends`` by ankle joint when given); thighs that
    touch meet in a crease, shaded like a limb's edge, where each is as far out of its own leg
    as of the other."""
    kp, sw = body.kp, body.sw
    hips_seen = kp.seen(J.R_HIP) and kp.seen(J.L_HIP)
    hip = float(np.linalg.norm(kp.xy[J.R_HIP] - kp.xy[J.L_HIP])) / max(sw, 1.0) if hips_seen else 0.6
    across = []
    for joints in (R_LEG, L_LEG):
        # A leg the frame cuts off above the knee runs on where a standing leg's would (the
        # picture clips it): else the thighs below new shorts or a skirt were not drawn at all.
        leg = kp.standing_leg(joints) if not kp.seen(joints[1]) else None
        if leg is not None or all(kp.seen(j) for j in joints):
            axis = _leg_axis(kp.xy[list(joints)] if leg is None else leg)
            heel = {J.R_ANKLE: J.R_HEEL, J.L_ANKLE: J.L_HEEL}[joints[2]]
            pts, radii = _leg(axis, [sw * hip * r for r in LEG_RADII], ends.get(joints[2]),
                              kp.xy[heel] if leg is None and kp.seen(heel) else None)
            across.append(body.add_capsules(pts, radii))
        else:  # a leg cut off by the frame below the knee
            body.add_joints(joints, tuple(hip * r for r in LEG_RADII[::2]) + (hip * LEG_RADII[-1],))
    if len(across) == 2:
        both = (across[0] < 1) & (across[1] < 1)
        crease = 1.0 - np.abs(across[0] - across[1]) / 0.4
        body.ratio = np.where(both, np.maximum(body.ratio, crease), body.ratio)


#: The pelvis is as wide as the hip joints' line widened by this share of their distance on each side.
PELVIS_WIDEN = 0.4


def _draw_pelvis(body: BodyDrawing) -> None:
    """The pelvis: the hip joints' line, widened by :data:`PELVIS_WIDEN` on each side, down to
    0.3 of the shoulder distance below them (it fills in between the thighs' round tops)."""
    kp, sw = body.kp, body.sw
    if not all(kp.seen(j) for j in (J.R_HIP, J.L_HIP, J.MID_HIP)):
        return
    rh, lh = kp.xy[J.R_HIP], kp.xy[J.L_HIP]
    poly = np.round(np.array([rh + (rh - lh) * PELVIS_WIDEN, lh + (lh - rh) * PELVIS_WIDEN, lh + [0, 0.3 * sw],
                              rh + [0, 0.3 * sw]])).astype(np.int32)
    pelvis = np.zeros(body.inside.shape, np.uint8)
    cv2.fillPoly(pelvis, [poly], 1)
    body.inside |= pelvis.astype(bool)
    body.ratio = np.where(pelvis > 0, np.minimum(body.ratio, 0.4), body.ratio)


#: Where a dress worn now shows under a new top that is shorter than the dress's bodice: from this
#: share of the neck-to-hip length below the neck (under the bust).
DRESS_SHOWS_FROM = 0.35

#: Over how much of the photo's height (sigma) the photo's own skin fades into synthesised skin.
REAL_SKIN_FADE = 0.004
#: The photo's own skin this near (share of the height) to the garment the region replaces, and
#: patterned (a local spread of lightness over this many grey levels), is taken for a remnant
#: of that garment (``_mixed_border``): the houndstooth hem band labelled legs was about 0.8 %
#: of the height; bare skin spreads by 2.8 levels in the median tuning-half photo and 10.2 in the
#: grainiest (``parsing.fine_grain``), a pattern or an edge by 15 and more.
MIXED_BORDER = 0.01
MIXED_BORDER_SPREAD = 10.0
#: Gaps in the photo's own skin narrower than this (share of the photo's height) are skin.
SKIN_GAP = 0.02
#: How soft (sigma, share of the photo's height) synthesised skin's outline is: a photo's edges
#: are a pixel or two wide; at 0.002 a rebuilt arm looked out of focus against the backdrop.
SKIN_EDGE = 0.0007

#: The neck in the head's shade (``_shaded_neck``): the largest hue turn (degrees) from the lit skin,
#: the least and the most chroma (times the lit skin's) and how much darker (Lab lightness, 0-255)
#: it may be; looked for within SHADE_NECK_HALF shoulder distances of the chin, down SHADE_NECK_DROP
#: of the jaw-to-shoulder drop. Set on one checking-half photo (OOTDiffusion__01861_00: the shaded
#: neck turns by 2 degrees, is 1.7 times as saturated and 77 darker than the face's lit skin); the
#: least chroma on two tuning-half photos, whose necks are in the cool shade of an overcast day or
#: a dim room (IDM-VTON sam1_1 and Any2anyTryon model1: 0.6 and 0.7 times as saturated, turned by
#: 3.5 degrees): shade can also take colour out of skin.
SHADE_HUE = 8.0
SHADE_CHROMA_MIN = 0.5
SHADE_CHROMA = 2.0
SHADE_DARKER = 100.0
SHADE_NECK_HALF = 0.15
SHADE_NECK_DROP = 0.5

#: How much darker synthesised skin is just under the jaw (the head's shadow on the neck).
CHIN_SHADOW = 0.25

#: Synthesised skin beside the photo's own takes on its tone (``_toward_real_skin``): the
#: difference fades over this share of the photo's height (e-folding); pixels that differ by
#: SKIN_MATCH_MAX grey levels or more in a channel are taken for no skin and not matched.
SKIN_MATCH_REACH = 0.04
SKIN_MATCH_MAX = 60.0


def skin_colour(image: np.ndarray, parse: np.ndarray, readable: np.ndarray, face: Face | None = None) -> np.ndarray:
    """The person's skin colour (RGB float) where light falls on it, from pixels we may read.

    The face mesh's cheek and forehead points come first: they are bare, lit skin in nearly
    every photo. Skin the parse labels is only the fallback: it is mostly hands (in shade, their
    outline mixed with what is behind) and takes in beige or white trousers next to them.
    """
    if face is not None:
        px = face.skin_samples(image, readable=readable).astype(np.float32)
        if len(px) >= 25:
            return px.mean(axis=0)
    for labels in (ARMS + LEGS + (Label.NECK,), (Label.FACE,)):
        colour = _lit_skin(image, of_labels(parse, labels) & readable)
        if colour is not None:
            return colour
    return np.array([200.0, 160.0, 135.0], np.float32)


def _lit_skin(image: np.ndarray, pick: np.ndarray) -> np.ndarray | None:
    """Mean colour (RGB float) of the ``pick``ed skin pixels, their shade (the darkest fifth:
    outlines, creases) and highlights (the brightest tenth) left out; None for under 50 pixels."""
    if pick.sum() <= 50:
        return None
    px = image[pick].astype(np.float32)
    lum = px.mean(axis=1)
    keep = (lum > np.percentile(lum, 20)) & (lum < np.percentile(lum, 90))
    return px[keep].mean(axis=0) if keep.any() else px.mean(axis=0)


#: Synthesised skin takes the light of the skin the photo shows: a slope fitted to its lightness
#: across the picture (brighter on the lit side), relative to its mean. Its gain is kept within
#: these bounds (a few pixels of real skin say little about the far side of the body). Only across:
#: down the body, the skin the photo shows is mostly the hands, in shade, and a slope from the face
#: to them made rebuilt forearms darker than the photo's (tests/test_engine.py measures it).
SKIN_LIGHT_RANGE = (0.85, 1.1)
#: Least real skin pixels to fit that slope from, and to measure the skin's grain on.
MIN_SKIN_PIXELS = 400
#: The strongest grain given to synthesised skin (grey levels, standard deviation), and the share
#: of the grain measured on the photo's skin it gets (what is measured includes the JPEG's noise,
#: which looks like sand on a smooth surface).
MAX_GRAIN = 2.0
GRAIN_SHARE = 0.6
#: Body skin's grain as a share of the face's (the same measure over the face label, eyes and
#: brows and all), for photos that show no bare body skin to measure: 0.68 in the median
#: tuning-half photo (28 that show both), 0.49 in the checking half's (42). The face predicts it
#: only loosely (the ratio spreads by about a factor of 1.5 either way), but better than none.
BODY_GRAIN_PER_FACE = 0.68
#: Skin is mottled: between blurs of these sigmas (pixels; of the skin alone) its lightness varies
#: by a robust spread of 2.05 grey levels in the median tuning-half photo (2.15 in the checking
#: half's; folds, knuckles, the JPEG's blocks and the parse's strays included). Synthesised skin
#: gets MOTTLE_SHARE of it (as GRAIN_SHARE), at most MAX_MOTTLE: fine grain alone left a rebuilt
#: chest smooth as plastic beside a real neck; blurs of 1.5 and 6 gave it a sponge's blotches.
#: Body skin's is BODY_MOTTLE_PER_FACE of the face's in the median tuning-half photo (26 that show
#: both; 0.39 in the checking half's 37), for photos with no bare body skin to measure.
MOTTLE_SIGMAS = (1.0, 3.0)
MOTTLE_SHARE = 0.6
MAX_MOTTLE = 2.5
BODY_MOTTLE_PER_FACE = 0.51
#: A limb lit from one side is lighter on that side. How much, the face tells: the lightness of
#: its right half less its left half's, relative to its median (``SkinLight.lateral``), times
#: LATERAL_PER_FACE is the rebuilt limb's gain change at its edge (one side up, the other down).
#: Measured on the tuning half's real bare arms (12 photos; ``benchmarks/warp_engine.py --only
#: light`` checks both halves): the step in lightness from 0.6-0.9 of the way out on one side to
#: the other is 0.62 x the face's asymmetry (correlation 0.79), which a gain of 1 + 0.45 q gives
#: under the round shade (0.62 / (1.5 x about 0.9)). A face turned away shows shade that is not
#: light: its asymmetry is kept within FACE_ASYMMETRY_MAX.
LATERAL_PER_FACE = 0.45
FACE_ASYMMETRY_MAX = 0.4
#: How far (sigma, share of the photo's height) that side light is softened across the body.
LATERAL_SOFT = 0.01
#: Round shading of a rebuilt limb: darker by this share of the lightness at its edge (times the
#: squared distance from its axis). The tuning half's real bare arms are 0.03, 0.05 and 0.11
#: darker at 0.4, 0.6 and 0.8 of the way out, which 0.17 fits (the checking half's: 0.02, 0.05,
#: 0.10); it was 0.22, set by eye.
ROUND_SHADE = 0.17


@dataclass(frozen=True)
class SkinLight:
    """How the photo's skin is lit and how grainy it is, for synthesised skin (:func:`skin_light`)."""

    slope: float  # change of the skin's lightness per pixel across the photo (grey levels)
    centre: float  # the x where the skin has its mean lightness
    mean: float  # that mean lightness
    grain: float  # standard deviation (grey levels) of the skin's fine-scale texture and noise
    lateral: float = 0.0  # gain change at a limb's +x edge from the light's side (LATERAL_PER_FACE)
    mottle: float = 0.0  # standard deviation (grey levels) of its mottling (MOTTLE_SIGMAS)

    def gain(self, shape: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
        """Light gain (H, W) of a crop of ``shape`` whose top-left pixel is ``origin`` (x, y) of the photo."""
        xs = np.arange(origin[0], origin[0] + shape[1], dtype=np.float32)
        row = np.clip(1.0 + self.slope * (xs - self.centre) / max(self.mean, 1.0), *SKIN_LIGHT_RANGE)
        return np.broadcast_to(row.astype(np.float32), shape)

    def texture(self, shape: tuple[int, int]) -> np.ndarray:
        """The skin's texture (H, W, 1) relative to its colour (a share to add to one): fine grain and
        mottling of the measured strengths, the same in every run (fixed seeds)."""
        rng = np.random.default_rng(0)
        noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), 1.0)
        out = noise * (self.grain / max(float(noise.std()), 1e-6))
        if self.mottle > 0:
            # Band-limited like the measure: white noise between the two blurs.
            out += self.mottle * _band_noise(rng, shape, *MOTTLE_SIGMAS)
        return (out / max(self.mean, 1.0))[..., None]


def _band_noise(rng: np.random.Generator, shape: tuple[int, int], fine: float, coarse: float) -> np.ndarray:
    """Noise (H, W) of unit standard deviation between two blurs (sigmas, pixels)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    band = cv2.GaussianBlur(noise, (0, 0), fine) - cv2.GaussianBlur(noise, (0, 0), coarse)
    return band / max(float(band.std()), 1e-6)


def skin_light(image: np.ndarray, parse: np.ndarray, readable: np.ndarray) -> SkinLight | None:
    """The light and grain of the skin the photo shows (arms, legs, neck, face), or None where it
    shows too little of it."""
    real = of_labels(parse, ARMS + LEGS + (Label.NECK, Label.FACE)) & readable
    # The interior: outlines mix skin with whatever lies behind it, and eyes and lips are no skin.
    real = cv2.erode(real.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if real.sum() < MIN_SKIN_PIXELS:
        return None
    ys, xs = np.nonzero(real)
    # Worked in the skin's box only (a try-on's every millisecond counts), with the blurs' reach
    # around it: the photo's own pixels there, not the box's edge mirrored.
    reach = int(3 * max(MOTTLE_SIGMAS))
    y0, x0 = max(0, ys.min() - reach), max(0, xs.min() - reach)
    box = (slice(y0, ys.max() + reach + 1), slice(x0, xs.max() + reach + 1))
    lum = channel_mean(image[box])
    real, parse = real[box], parse[box]
    values = lum[ys - y0, xs - x0]
    # Lit skin only, as for the colour: creases, shade and highlights say little about the light.
    keep = (values >= np.percentile(values, 20)) & (values <= np.percentile(values, 90))
    xs, values = xs[keep].astype(np.float64), values[keep].astype(np.float64)
    slope = float(np.polyfit(xs, values, 1)[0]) if np.ptp(xs) > 0 else 0.0
    # The grain of bare body skin (not the face: eyes, brows and lips are no grain), robustly: the
    # median absolute deviation leaves out moles, hairs and the odd edge. Where the photo shows
    # too little of it outside the region (a close-up whose neck and arms the new garment
    # replaces), the face's, scaled (BODY_GRAIN_PER_FACE): without, that skin was smooth plastic.
    body = real & (parse != Label.FACE)
    from_face = body.sum() < MIN_SKIN_PIXELS
    fine = (lum - cv2.GaussianBlur(lum, (0, 0), 1.5))[real & (parse == Label.FACE) if from_face else body]
    mad = 1.4826 * float(np.median(np.abs(fine - np.median(fine)))) if len(fine) else 0.0
    grain = min(GRAIN_SHARE * mad * (BODY_GRAIN_PER_FACE if from_face else 1.0), MAX_GRAIN)
    # Its mottling, the same way, between two blurs of the skin alone: the slimmest limbs are not
    # much wider than the blurs' reach, and their outlines' contrast is no mottling.
    where = real & (parse == Label.FACE) if from_face else body
    inside = where.astype(np.float32)
    fine_blur, coarse_blur = (cv2.GaussianBlur(lum * inside, (0, 0), s)[where]
                              / np.maximum(cv2.GaussianBlur(inside, (0, 0), s)[where], 1e-3) for s in MOTTLE_SIGMAS)
    band = fine_blur - coarse_blur
    spread = 1.4826 * float(np.median(np.abs(band - np.median(band)))) if len(band) else 0.0
    mottle = min(MOTTLE_SHARE * spread * (BODY_MOTTLE_PER_FACE if from_face else 1.0), MAX_MOTTLE)
    # Relative to the skin's mean lightness: the colour is the skin colour's, the light only varies it.
    return SkinLight(slope, float(xs.mean()), float(values.mean()), grain, _lateral(lum, real & (parse == Label.FACE)),
                     mottle)


def _lateral(lum: np.ndarray, face: np.ndarray) -> float:
    """The light's side, from the face's two halves (see LATERAL_PER_FACE); 0 without a face."""
    ys, xs = np.nonzero(face)
    if len(xs) < MIN_SKIN_PIXELS // 2:
        return 0.0
    values = lum[ys, xs]
    middle = np.median(xs)
    right, left = values[xs > middle], values[xs < middle]
    if not len(right) or not len(left):
        return 0.0
    asymmetry = (float(np.median(right)) - float(np.median(left))) / max(float(np.median(values)), 1.0)
    return LATERAL_PER_FACE * float(np.clip(asymmetry, -FACE_ASYMMETRY_MAX, FACE_ASYMMETRY_MAX))


#: The old garment's median lightness (grey levels) below which the light read off it counts for
#: less, in proportion (a black garment's relative light is mostly noise and ribbing).
DARK_GARMENT_LUM = 70.0

#: Light is read only off the old garment's own ground colour (``_ground_tone``): pixels whose
#: chromaticity (r, g over r + g + b, which shade leaves unchanged) lies within GROUND_CHROMATICITY
#: of the garment's median, and whose lightness is within GROUND_LIGHTNESS times the median's (the
#: shade and highlights of one cloth), and whose lightness spread over 3 x 3 pixels of the
#: quarter-size photo is at most GROUND_GRAIN times the median lightness (shade is smooth; a check,
#: a tweed or denim's weave is not). A print, a logo or a colour block of the same hue lies
#: outside: read as light, a tee's dark band or a black camisole's lace was stamped onto a new
#: white dress as a grey ghost, and a grey check shirt as a lattice. The light under them is
#: filled in from the ground around them, and it counts in full only where the ground is at least
#: GROUND_SHARE of the old garment, in proportion below (a patterned garment's few smooth pixels
#: say little about its light). Set on the tuning half: plain tees spread 0.01-0.02 of their
#: lightness, a grey check shirt and a herringbone coat 0.11.
GROUND_CHROMATICITY = 0.02
GROUND_LIGHTNESS = (0.5, 1.6)
GROUND_GRAIN = 0.06
GROUND_SHARE = 0.5
#: Fewer ground pixels (of the quarter-size photo) than this say nothing about a garment's light.
MIN_GROUND = 25


def _ground_tone(rgb: np.ndarray, lum: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Pixels of ``inside`` in the garment's ground colour, its shade included (GROUND_*)."""
    pixels = rgb.astype(np.float32)
    total = pixels.sum(axis=2)
    chromaticity = pixels[..., :2] / np.maximum(total, 30.0)[..., None]
    centre = np.median(chromaticity[inside], axis=0)
    lightness = total / max(float(np.median(total[inside])), 1.0)
    lo, hi = GROUND_LIGHTNESS
    near = np.abs(chromaticity - centre).max(axis=2) <= GROUND_CHROMATICITY
    smooth = lightness_spread(lum, 3) <= GROUND_GRAIN * max(float(np.median(lum[inside])), 1.0)
    return inside & near & smooth & (lightness >= lo) & (lightness <= hi)


def _piece_light(rgb_s: np.ndarray, lum_s: np.ndarray, piece_s: np.ndarray, opts: ComposeOptions,
                 h: int) -> tuple[np.ndarray, np.ndarray, float] | None:
    """One old garment's light at the quarter size: the gain's departure from 1 (its strength
    applied) everywhere, filled in from the garment's ground; that ground; and how plain the
    garment is (0-1, the share of its folds worth copying). None where it shows too little ground."""
    if piece_s.sum() < MIN_GROUND:
        return None
    ground = _ground_tone(rgb_s, lum_s, piece_s)
    if ground.sum() < MIN_GROUND:
        return None
    steady = min(1.0, float(ground.sum()) / max(GROUND_SHARE * float(piece_s.sum()), 1.0))
    weight = ground.astype(np.float32)
    sigma = max(1.0, 0.005 * h)
    num = cv2.GaussianBlur(lum_s * weight, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    known = den > 0.05
    low = push_pull(np.where(known, num / np.maximum(den, 1e-3), 0.0).astype(np.float32), known)
    mean = float(np.median(lum_s[ground]))
    # Light can only be read off a plain garment: a print's dark and bright areas are not folds.
    # The strength falls with the garment's colour spread.
    chroma = cv2.cvtColor(rgb_s[piece_s][None], cv2.COLOR_RGB2LAB)[0, :, 1:].astype(np.float32)
    plain = float(np.clip(1.0 - (chroma.std(axis=0).mean() - 3.0) / 9.0, 0.0, 1.0))
    # Nor off a near-black one: a few grey levels of noise or ribbing are a large share of its
    # lightness, and its "light" darkened a new red cardigan by a fifth in a blotch.
    lit = float(np.clip(mean / DARK_GARMENT_LUM, 0.0, 1.0))
    gain = np.clip(low / max(mean, 1.0), 0.7, 1.25)
    return opts.shading * plain * lit * steady * (gain - 1.0), ground, plain


def shading_gain(image: np.ndarray, pieces: list[np.ndarray], opts: ComposeOptions,
                 scale_height: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicative light (low frequency) and additive folds (high frequency) of the old garments.

    Each of the ``pieces`` (a mask per old garment) is read on its own, against its own lightness: a dress over
    an olive top and a black skirt read as one cloth took the skirt's darkness for shade, and
    drew a grey band across the new dress's skirt."""
    rows, w = image.shape[:2]
    h = scale_height or rows
    none = np.ones(image.shape[:2], np.float32), np.zeros(image.shape[:2], np.float32)
    old_garment = np.logical_or.reduce(pieces) if pieces else np.zeros(image.shape[:2], bool)
    if old_garment.sum() < 100:
        return none
    # The low-frequency light is smooth: computed at a quarter of the resolution.
    small = (max(1, w // 4), max(1, rows // 4))
    lum = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lum_s = cv2.resize(lum, small, interpolation=cv2.INTER_AREA)
    rgb_s = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
    # Where pieces meet, their lights are blended over a few pixels (weights: blurred masks).
    blend = max(1.0, 0.01 * h / 4)
    change = np.zeros(lum_s.shape, np.float32)
    plain = np.zeros(lum_s.shape, np.float32)
    total = np.zeros(lum_s.shape, np.float32)
    ground_s = np.zeros(lum_s.shape, bool)
    for piece in pieces:
        share = cv2.resize(piece.astype(np.float32), small, interpolation=cv2.INTER_AREA)
        light = _piece_light(rgb_s, lum_s, share > 0.5, opts, h)
        if light is None:
            continue
        weight = cv2.GaussianBlur(share, (0, 0), blend)
        change += weight * light[0]
        plain += weight * light[2]
        total += weight
        ground_s |= light[1]
    if not ground_s.any():
        return none
    gain = 1.0 + cv2.resize(change / np.maximum(total, 1e-3), (w, rows), interpolation=cv2.INTER_LINEAR)
    plain = cv2.resize(plain / np.maximum(total, 1e-3), (w, rows), interpolation=cv2.INTER_LINEAR)
    ground = cv2.resize(ground_s.astype(np.uint8), (w, rows), interpolation=cv2.INTER_NEAREST).astype(bool)
    coarse = cv2.resize(cv2.GaussianBlur(lum_s, (0, 0), max(0.5, 0.015 * h / 4)), (w, rows), interpolation=cv2.INTER_LINEAR)
    band = cv2.GaussianBlur(lum, (0, 0), max(1.0, 0.004 * h)) - coarse
    # Folds are soft; sharp strong edges are seams or print and are not copied.
    edges = cv2.dilate((np.abs(band) > 12).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    folds = np.where(edges, 0.0, band) * opts.wrinkles * plain
    inside = cv2.erode((old_garment & ground).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    # Fading to none over a few pixels at the old garment's outline: a new garment that reaches
    # past it showed the old outline as a step in its brightness.
    gain = 1.0 + (gain - 1.0) * _soft(old_garment, 0.006 * h)
    folds = np.where(inside, np.clip(folds, -12, 12), 0.0)
    return gain.astype(np.float32), folds.astype(np.float32)


def _filled_background(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The photo (float32) with everything but its ``background`` filled from it (:func:`background_plate`)."""
    plate = background_plate(image, ~background)
    np.copyto(plate, image.astype(np.float32), where=background[..., None])
    return plate


def _garment_light(image: np.ndarray, pieces: list[np.ndarray], opts: ComposeOptions,
                   height: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shading_gain`, or no light at all when the options keep none."""
    if opts.shading > 0 or opts.wrinkles > 0:
        return shading_gain(image, pieces, opts, height)
    return np.ones(image.shape[:2], np.float32), np.zeros(image.shape[:2], np.float32)


def _over(base: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, gain: np.ndarray | None = None,
          folds: np.ndarray | None = None) -> np.ndarray:
    """``rgb`` (lit by ``gain`` and ``folds`` when given) over ``base`` (float32, changed in place
    and returned), worked only in the box where ``alpha`` is not zero: layers are small."""
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    if not len(rows):
        return base
    cols = np.flatnonzero(alpha.max(axis=0) > 0)
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    top = rgb[box].astype(np.float32)
    if gain is not None:
        top = _lit(top, gain[box], folds[box])
    under = base[box]
    under += (top - under) * alpha[box][..., None]
    return base


_T = TypeVar("_T")


def _started(pool: Executor | None, fn: Callable[..., _T], *args) -> Callable[[], _T]:
    """``fn(*args)`` begun on the ``pool`` beside the caller's own work; the returned callable gives
    its result. Without a pool it runs when the result is asked for."""
    if pool is None:
        return lambda: fn(*args)
    return pool.submit(fn, *args).result


def compose(image: np.ndarray, region: np.ndarray, readable: np.ndarray, layers: list[Layer], parse: np.ndarray,
            kp: Keypoints, category: Category, opts: ComposeOptions, face: Face | None = None,
            pool: Executor | None = None) -> np.ndarray:
    """The try-on picture: ``region`` regenerated, and (``opts.past_region``) the hair that falls
    over the replaced garment with the new garment between its strands (``_unmixed_hair``) and
    the old hem's last pixels on the trousers; everything else identical to ``image``.

    ``readable`` marks the pixels the engine may look at (False inside a user-given mask).
    Only the region's bounding box (with a margin for the background fill) is worked on. Given a
    ``pool``, the photo's light, the background fill and the trousers under a top are made on it
    while the rest is drawn (the same picture, sooner).
    """
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return image.copy()
    H, W = region.shape
    m = max(8, int(0.03 * H))
    y0, y1 = max(0, ys.min() - m), min(H, ys.max() + m + 1)
    x0, x1 = max(0, xs.min() - m), min(W, xs.max() + m + 1)
    box = (slice(y0, y1), slice(x0, x1))
    crop_layers = [Layer(l.name, l.rgb[box], l.alpha[box]) for l in layers]
    crop_kp = Keypoints(kp.xy - np.array([x0, y0], np.float32), kp.confidence, x1 - x0, y1 - y0)
    # The face may lie outside the box. The neck is read in the region too: it is kept (the skin
    # synthesised meets it), and for a head the photo crops, it is the only lit skin left.
    skin = skin_colour(image, parse, readable & ~(region & (parse != Label.NECK)), face)
    # Legs the photo shows (below a hem) have their own tone (tights, a tan, the light down there):
    # synthesised legs take it.
    leg_skin = _lit_skin(image, of_labels(parse, LEGS) & readable & ~region)
    light = _started(pool, skin_light, image, parse, readable & ~region)
    hair = _hair_colour(image, parse, readable) if opts.past_region else None
    out = image.copy()
    out[box] = _compose(image[box], region[box], readable[box], crop_layers, parse[box], crop_kp, category, opts,
                        skin, leg_skin, (-x0, -y0, W - x0, H - y0), light, (x0, y0), pool, hair)
    return out


def _compose(image: np.ndarray, region: np.ndarray, readable: np.ndarray, layers: list[Layer], parse: np.ndarray,
             kp: Keypoints, category: Category, opts: ComposeOptions, skin: np.ndarray, leg_skin: np.ndarray | None,
             frame: Frame, light: Callable[[], SkinLight | None] = lambda: None, origin: tuple[int, int] = (0, 0),
             pool: Executor | None = None, hair: np.ndarray | None = None) -> np.ndarray:
    h, w = region.shape
    full_height = frame[3] - frame[1]
    img = image.astype(np.float32)
    # Background under the region that the photo shows is kept as it is; only where the old
    # garment or body was is the background filled in.
    seen_background = (parse == Label.BACKGROUND) & readable
    # The parse's outline of the old garment is a few pixels off: its last pixels, labelled
    # background, would be kept as they are and draw its outline (a dark line beside a new bare
    # arm, a pale ghost of the old shoulders). The background that close to it is filled too.
    old = of_labels(parse, _replaced(category))
    pieces = [(parse == label) & region & readable for label in _replaced(category)]
    lighting = _started(pool, _garment_light, image, pieces, opts, full_height)
    margin = max(1, round(OLD_EDGE_MARGIN * full_height))
    near_old = _within(old, margin)
    clean_background = seen_background & ~(near_old & region)
    # The fill draws only on background: the person (hair, face, the other garment) is a hole
    # too, so none of it smears into the background the region uncovers.
    filled = _started(pool, _filled_background, image, clean_background)
    flanks = trousers_top(parse, readable, region, kp, full_height) if category == Category.UPPER else None
    # What shows at the waist between the two garments: the trousers under a shorter new top, the
    # top over new trousers worn lower.
    between = (_started(pool, _trousers_below, image, region, readable, parse, kp, frame, flanks)
               if category == Category.UPPER else
               _started(pool, _top_tucked, image, region, readable, parse, kp, full_height)
               if category == Category.LOWER else None)

    parts = parts_for(category, region, kp, parse)
    ends = {}
    if "arms" in parts:
        # The hand the photo shows at the region's edge says where a forearm ends before its old cuff does.
        sleeves = of_labels(parse, UPPER_GARMENT) & region & readable
        ends = (cuff_ends(kp, sleeves, frame) | arm_ends(kp, parse, readable, region)
                | sleeve_ends(kp, parse, readable, old))
    if "legs" in parts:
        # Legs the region takes in whole (a dress's region runs down to the shoes) are kept where
        # the photo shows them: the thighs drawn meet them at the old hem instead.
        clothed = region & ~seen_background & ~of_labels(parse, LEGS + SHOES)
        hems = {j: end for j, end in leg_ends(kp, parse, readable, clothed, below=True).items()
                if _bare_below(end[0], kp.xy[j], clothed)}
        ends |= hems | leg_ends(kp, parse, readable, region)
    face = (parse == Label.FACE) & readable
    bare_arms = not any(l.name.startswith("sleeve") for l in layers) and category != Category.LOWER
    chin = chin_point(head_skin(face, (parse == Label.NECK) & readable, kp))
    hands = of_labels(parse, ARMS) & readable & ~region
    garment = _coverage([layer.alpha for layer in layers], (h, w))
    # Where a hand the photo hides may be: in the new garment, or in the pockets of the trousers it
    # keeps (a short new top ends above them).
    pockets = garment > 0.5
    if category == Category.UPPER:
        pockets |= of_labels(parse, LOWER_GARMENT) & readable & ~region
    bare_shoulders = bare_arms or not _shoulders_covered(kp, garment)
    drawing = body_shape(kp, parts, (h, w), ends, chin, frame, seen_background, bare_arms, hands, flanks, pockets,
                         bare_shoulders, NECK_PER_FACE * face_width(face))
    # The person does not move: where the photo shows background, no body is synthesised (a
    # capsule of a bent or slim arm reaching past the real one would leave a pale ghost there).
    body = drawing.inside & ~seen_background
    clear = _clear_of(seen_background, full_height)
    body &= clear
    caps = (_beside_sleeve_caps(kp, layers, (h, w)) if not bare_shoulders and "arms" in parts
            else np.zeros((h, w), bool))
    body &= ~caps
    # The legs alone, drawn only where something needs them: a dress's hem, the legs' own tone.
    legs = (body_shape(kp, ("legs",), (h, w), ends, frame=frame).inside
            if "legs" in parts and (category == Category.DRESS or leg_skin is not None) else None)
    if legs is not None and category == Category.DRESS:
        cut = _under_skirt(legs, garment)
        if drawing.arms is not None:
            cut &= ~drawing.arms  # the arms hanging beside the skirt are no legs: they stay, in front of it
        body &= ~cut
    round_shade = 1.0 - ROUND_SHADE * np.clip(drawing.ratio, 0, 1) ** 2
    light = light()
    if light is not None and light.lateral:
        round_shade *= side_light(drawing, light.lateral, full_height)
    colour = skin[None, None, :]
    if leg_skin is not None and legs is not None:
        share = _soft(legs, 0.01 * full_height)
        colour = colour + (leg_skin - skin)[None, None, :] * share[..., None]
    tones: dict[int, np.ndarray] = {}
    if "arms" in parts:
        # Each rebuilt arm in its own tone, where the photo shows its skin (in the region too: a bare
        # forearm under a short sleeve is kept there); its hand's at the end.
        cuts = {elbow: ends[elbow] for elbow, _ in FOREARMS if elbow in ends}
        offset, tones = arm_tones(image, parse, readable, kp, skin, drawing.sw, cuts)
        colour = colour + offset
    colour = colour + _hand_tones(image, parse, readable & ~region, kp, skin, tones)
    shade = round_shade * _chin_shadow(face, kp)
    if "torso" in parts:
        shade *= _collarbones(kp, (h, w))
        if face.any():  # a person facing the camera
            shade *= _navel(kp, frame, (h, w))
    if light is not None:
        # The photo's own light across the body: flat colour reads as plastic.
        shade = shade * light.gain((h, w), origin)
    # Shade darkens skin but keeps its colour (scaling RGB would grey it: a flat grey-beige neck
    # under the jaw): the grey level moves, the channels' differences from it stay.
    skin_rgb = colour - ((1.0 - shade) * channel_mean(colour))[..., None]
    # Skin the photo already shows (bare arms, neck, legs) is kept as it is, not re-synthesised,
    # and where it is, not where the keypoints' capsules say: an arm bent behind the back or a
    # slim one is not a straight tube.
    real_arms = of_labels(parse, ARMS) & readable & ~caps
    real_skin = real_arms | (of_labels(parse, LEGS + (Label.NECK,)) & readable)
    shaded_neck = _shaded_neck(image, face, chin, kp, skin) & readable
    # What the parse calls skin beside the replaced garment may be a remnant of it; the shaded
    # neck is skin by its colour whatever the parse says.
    mixed = _mixed_border(img, real_skin, region & ~real_skin & ~shaded_neck & ~seen_background, full_height)
    real_skin |= shaded_neck
    kept = real_skin & ~(mixed & ~shaded_neck)
    # Gaps between pieces of the photo's own skin (hair strands over a shoulder, a strap, the
    # parse's holes) are skin too: where they became background, the skin stood in it as shards.
    body |= _between(real_skin, SKIN_GAP * full_height) & region & ~seen_background
    skin_rgb += _toward_real_skin(img, skin_rgb, kept, body, full_height)
    bys, bxs = np.nonzero(body)
    if light is not None and len(bys):
        # And its texture, over the synthesised skin's box only (a try-on's every millisecond counts).
        tex = (slice(bys.min(), bys.max() + 1), slice(bxs.min(), bxs.max() + 1))
        skin_rgb[tex] *= 1.0 + light.texture((tex[0].stop - tex[0].start, tex[1].stop - tex[1].start))
    # Faded in from the real skin's outline over a few pixels: the parse's outline is coarse (a
    # staircase where it meets synthesised skin, at the neck above all).
    keep = cv2.GaussianBlur(kept.astype(np.float32), (0, 0), max(1.0, REAL_SKIN_FADE * full_height)) * kept
    skin_rgb += (img - skin_rgb) * keep[..., None]
    skin_alpha = cv2.GaussianBlur((body | real_skin).astype(np.float32), (0, 0), max(0.7, SKIN_EDGE * full_height))

    plate = filled()
    _textured(plate, image, clean_background, region, [skin_alpha, garment], full_height)

    gain, folds = lighting()

    # Depth order: background, hair falling behind the shoulders, body skin, the trousers' waist
    # that a shorter top uncovers (or the top that trousers worn lower uncover), the garment's parts back to front (``layers`` comes in that
    # order from ``fit_garment``: sleeves' upper-arm parts behind the garment body, the rest over
    # it), then, for a sleeveless garment, the bare arms.
    out = plate
    if category != Category.LOWER:
        out = _over(out, *_hair_fall(image, region, readable, parse, kp, plate))
    arms = np.zeros((h, w), bool)
    front = np.zeros((h, w), bool)
    if not bare_arms and "arms" in parts:
        # Forearms across the body lie over the new top's front, under its sleeves; the photo's own
        # hands at their ends with them (the parse's outline of the old top can take in a hand's edge).
        front = forearms_in_front(drawing, _hips(kp, frame)) & ~seen_background
        if front.any():
            front |= components_touching(real_arms, front)
    if bare_arms:
        bare = body_shape(kp, ("arms",), (h, w), ends, frame=frame, background=seen_background, bare_arms=True,
                          hands=hands, pockets=pockets)
        arms = (bare.inside & ~seen_background & clear) | _arm_skin(real_arms, bare)
        for end, reach in bare.hidden_hands:  # under the garment: the hand the photo hides
            x0, y0, x1, y1 = _box(end, reach, (h, w))
            ys, xs = np.mgrid[y0:y1, x0:x1]
            arms[y0:y1, x0:x1] &= (xs - end[0]) ** 2 + (ys - end[1]) ** 2 > reach * reach
    out = _over(out, skin_rgb, skin_alpha * ~arms)
    waist = np.zeros((h, w), np.float32)
    if between is not None:
        waist_rgb, waist = between()
        if not bare_arms and drawing.arms is not None:
            # Under the arms hanging beside the hips, not over them: the photo's own arms near
            # the arms drawn (WAIST_UNDER_ARMS), or arms rebuilt under a user's mask.
            near = _within(drawing.arms, max(1, round(WAIST_UNDER_ARMS * drawing.sw)))
            arms_over = ((real_arms & near) | (drawing.arms & ~readable)) & (skin_alpha > 0.5)
            waist = waist * ~arms_over
        out = _over(out, waist_rgb, waist)
    out *= _cast_shadow(garment, np.maximum(skin_alpha * ~arms, waist), full_height, HEM_SHADOW)[..., None]
    for layer in layers:
        out = _over(out, layer.rgb, layer.alpha, gain, folds)
    if arms.any():
        out *= _cast_shadow(skin_alpha * arms, garment, full_height, ARM_SHADOW)[..., None]
    out = _over(out, skin_rgb, skin_alpha * arms)
    if front.any():
        sleeves = _coverage([layer.alpha for layer in layers if layer.name.startswith("sleeve")], (h, w))
        out = _over(out, skin_rgb, skin_alpha * front * (1.0 - sleeves))

    # Feather the seam inside the region where the photo under it is known; outside, exact. Not
    # where that photo is the replaced garment (but for skin kept in it): blended back in along a
    # seam with a kept hand or the trousers, it drew the old cuff or hem as a line along them.
    weight = region.astype(np.float32)
    feather = opts.feather * full_height
    if feather >= 1:
        inner = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
        ramp = np.clip(inner / feather, 0, 1)
        # Nor along the trousers continued up: the old top's hem, a few pixels past the parse's
        # outline, was blended back in there as a line across them.
        weight = np.where(readable & ~(near_old & ~kept) & (waist < 0.5), ramp, 1.0) * region
    # And the trousers run on a few pixels past the region: its outline follows the parse's, and
    # the old top's hem, mixed into the trousers' first pixels there, drew a line across them.
    if opts.past_region:
        weight[(waist >= 0.5) & near_old & ~region] = 1.0
    # Hair falling over the replaced garment keeps its strands; between them the new garment shows,
    # or the skin drawn where the new garment bares it (a neckline lower than the old one's).
    if hair is not None and chin is not None:
        covered = (garment > 0.5) | ((skin_alpha > 0.5) & region & ~kept)
        strands, unmixed = _unmixed_hair(img, out, parse, readable, old & covered, hair, chin, full_height)
        if strands is not None:
            out[strands] = unmixed
            weight[strands] = 1.0
    # img + (out - img) * weight, in place; weight is 0 outside the region, which keeps the
    # photo's exact values there.
    out -= img
    out *= weight[..., None]
    out += img + 0.5
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


#: The trousers' waist that a shorter top uncovers goes under the photo's own arms within this
#: share of the shoulder distance of the arms drawn from the keypoints (a forearm is about 0.14
#: of it across; the keypoints' arm lies off the photo's by up to about that much). Further off,
#: what the parse calls arms is as likely a skin-coloured top's hem.
WAIST_UNDER_ARMS = 0.1

#: Hair over the replaced garment (``_unmixed_hair``): hair pixels below the chin with the old
#: garment, where the new one covers it, within HAIR_OVER_REACH of the photo's height. Each is
#: taken for the hair's own colour at any lightness plus a share of the old garment's there (its
#: mean within HAIR_OVER_SIGMA of the height); that share is swapped for what is drawn now. Hair
#: and garment closer in colour than HAIR_UNMIX_MIN (RGB distance) cannot be told apart, and are
#: left as they are.
HAIR_OVER_REACH = 0.03
HAIR_OVER_SIGMA = 0.02
HAIR_UNMIX_MIN = 60.0
#: And only where, within HAIR_GAP_REACH of the height, a pixel is at least HAIR_GAP_SHOWS the
#: old garment's (the gaps between strands show it nearly pure).
HAIR_GAP_REACH = 0.01
HAIR_GAP_SHOWS = 0.85


def _hair_colour(image: np.ndarray, parse: np.ndarray, readable: np.ndarray) -> np.ndarray | None:
    """The hair's own colour (RGB float, the median of the hair above the chin), or None for less
    than 50 pixels of it."""
    chin = chin_point((parse == Label.FACE) & readable)
    if chin is None:
        return None
    own = (parse[: int(chin[1]) + 1] == Label.HAIR) & readable[: int(chin[1]) + 1]
    return np.median(image[: int(chin[1]) + 1][own], axis=0).astype(np.float32) if own.sum() >= 50 else None


def _unmixed_hair(img: np.ndarray, drawn: np.ndarray, parse: np.ndarray, readable: np.ndarray, old: np.ndarray,
                  hair: np.ndarray, chin: np.ndarray, height: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The hair pixels that fall over the replaced garment (a mask, or None) and their colour
    with the old garment between the strands swapped for the ``drawn`` picture: each pixel is
    taken for a mix of the ``hair`` colour and the old garment's nearby. Strands over a red top
    stayed red-fringed over a new white one."""
    below = (parse == Label.HAIR) & readable
    below[: int(chin[1]) + 1] = False
    if not below.any():
        return None, None
    # Worked in the box of the hair below the chin, with room for the old garment's mean around it.
    sigma = max(1.0, HAIR_OVER_SIGMA * height)
    reach = max(1, round(HAIR_OVER_REACH * height))
    ys, xs = np.nonzero(below)
    m = int(3 * sigma) + reach
    box = (slice(max(0, ys.min() - m), ys.max() + m + 1), slice(max(0, xs.min() - m), xs.max() + m + 1))
    old = old[box] & readable[box]
    over = below[box] & _within(old, reach)
    weight = cv2.GaussianBlur(old.astype(np.float32), (0, 0), sigma)
    over &= weight > 0.05
    if not over.any():
        return None, None
    im = img[box]
    mean_old = cv2.GaussianBlur(im * old[..., None], (0, 0), sigma) / np.maximum(weight, 1e-3)[..., None]
    g, p = mean_old[over], im[over]
    share = _garment_share(p, hair, g)
    share[((hair[None, :] - g) ** 2).sum(axis=1) < HAIR_UNMIX_MIN ** 2] = 0.0
    # Only where the old garment shows between strands nearly pure, close by (as hair pixels that
    # are mostly garment, or as its own): a dark jacket parsed as black hair beside a white top
    # is no mix of the two.
    between = old.astype(np.float32)
    between[over] = share
    k = max(3, round(HAIR_GAP_REACH * height)) | 1
    strands = cv2.dilate(between, np.ones((k, k), np.uint8))[over] >= HAIR_GAP_SHOWS
    share[~strands] = 0.0
    mask = np.zeros(parse.shape, bool)
    mask[box] = over
    return mask, _without_tint(p + share[:, None] * (drawn[box][over] - g), hair, g)


#: Hair lit through by the old garment keeps its tint however its share is swapped (a blonde's ends
#: over a red top stayed salmon over a new white one): its chroma's step towards the old garment's
#: (Lab a, b) is taken back, where the two chromas lie more than HAIR_TINT_MIN apart.
HAIR_TINT_MIN = 15.0


def _without_tint(pixels: np.ndarray, hair: np.ndarray, garment: np.ndarray) -> np.ndarray:
    """``pixels`` (N x 3 RGB) with their chroma's part from the ``hair``'s toward the ``garment``'s
    (N x 3) taken away, their lightness kept (:data:`HAIR_TINT_MIN`)."""
    lab = to_lab(pixels)
    ab_h = to_lab(hair)[1:]
    d = to_lab(garment)[:, 1:] - ab_h
    d2 = (d * d).sum(axis=1)
    t = np.clip(((lab[:, 1:] - ab_h) * d).sum(axis=1) / np.maximum(d2, 1e-3), 0.0, 1.0)
    t[d2 < HAIR_TINT_MIN ** 2] = 0.0
    lab[:, 1:] -= t[:, None] * d
    return cv2.cvtColor(lab.astype(np.float32).reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(-1, 3) * 255.0


def _garment_share(pixels: np.ndarray, hair: np.ndarray, garment: np.ndarray) -> np.ndarray:
    """How much of each of ``pixels`` (N x 3) is the ``garment``'s colour there (N x 3), the rest
    being hair: ``pixels`` = b ``hair`` + s ``garment`` in the least squares, s in [0, 1]. The hair
    counts by its hue at any lightness (b free): blonde strands run from their dark roots' colour
    to nearly white, and taken for the mean hair colour, the lit ones read as hair alone however
    red the old top between them made them."""
    hh = float(hair @ hair)
    hg = garment @ hair
    gg = (garment * garment).sum(axis=1)
    ph = pixels @ hair
    pg = (pixels * garment).sum(axis=1)
    det = np.maximum(hh * gg - hg * hg, 1e-3)
    return np.clip((hh * pg - hg * ph) / det, 0.0, 1.0).astype(np.float32)


#: The collarbones on a bare chest: each runs from beside the top of the breastbone
#: (CLAVICLE_INNER shoulder distances below the neck joint, CLAVICLE_GAP to its side) out to the
#: shoulder joint, CLAVICLE_RISE above it at its end. Drawn as a soft ridge: lit by CLAVICLE_LIGHT
#: along the bone, shaded by CLAVICLE_SHADE in the hollow under it (CLAVICLE_WIDTH below, sigma
#: CLAVICLE_WIDTH, shares of the shoulder distance). Without them a bare chest is one flat slab.
CLAVICLE_INNER = 0.04
CLAVICLE_GAP = 0.05
CLAVICLE_RISE = 0.08
CLAVICLE_WIDTH = 0.025
CLAVICLE_LIGHT = 0.04
CLAVICLE_SHADE = 0.1


def _collarbones(kp: Keypoints, shape: tuple[int, int]) -> np.ndarray | float:
    """Light gain (H, W) of the collarbones' ridges and the hollows under them; 1 without neck and shoulders."""
    if not all(kp.seen(j) for j in (J.NECK, J.R_SHOULDER, J.L_SHOULDER)):
        return 1.0
    right, left = kp.xy[J.R_SHOULDER].astype(np.float64), kp.xy[J.L_SHOULDER].astype(np.float64)
    sw = float(np.linalg.norm(left - right))
    down = _down(kp)
    across = (left - right) / max(sw, 1e-6)
    top = kp.xy[J.NECK] + down * CLAVICLE_INNER * sw
    width = CLAVICLE_WIDTH * sw
    bones = [(top + sign * across * CLAVICLE_GAP * sw, joint - down * CLAVICLE_RISE * sw)
             for sign, joint in ((-1, right), (1, left))]
    # Worked in the bones' box, with room for the hollow under them: a try-on's milliseconds count.
    x0, y0, x1, y1 = _points_box(np.array([p for bone in bones for p in bone]), 5 * width, shape)
    gain = np.ones(shape, np.float32)
    if x1 <= x0 or y1 <= y0:
        return gain
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    box = gain[y0:y1, x0:x1]
    for a, b in bones:
        seg = b - a
        t = np.clip(((xs - a[0]) * seg[0] + (ys - a[1]) * seg[1]) / max(float(seg @ seg), 1e-6), 0, 1)
        # Signed distance below the bone (along ``down``), and how far along it: it fades at both ends.
        below = (xs - (a[0] + t * seg[0])) * down[0] + (ys - (a[1] + t * seg[1])) * down[1]
        fade = np.sqrt(np.sin(np.pi * t))
        box += fade * (CLAVICLE_LIGHT * np.exp(-0.5 * (below / width) ** 2)
                       - CLAVICLE_SHADE * np.exp(-0.5 * ((below - 1.5 * width) / width) ** 2))
    return gain


#: The navel of a bare midriff drawn (``_navel``), NAVEL_AT of the way from the shoulders' middle
#: to the hips': a figure-drawing canon of eight heads puts it at three, the shoulders at about
#: 1.4 and the hip joints at 4 (0.62); the tuning half's hanging elbows, which that canon puts at
#: the navel's height, are at 0.59 of the neck-to-hips drop in the median photo (0.57-0.63 in the
#: middle half; no tuning-half photo shows a bare midriff). A soft hollow of NAVEL_SIZE (sigma
#: across and down, shares of the shoulder distance), NAVEL_DEPTH darker at its centre, its lower
#: rim lit by NAVEL_LIGHT; the belly's faint middle groove (LINEA_DEPTH darker, LINEA_WIDTH sigma)
#: runs down to it from LINEA_FROM of the way. Without them a bare midriff was one flat slab.
NAVEL_AT = 0.62
NAVEL_SIZE = (0.014, 0.022)
NAVEL_DEPTH = 0.35
NAVEL_LIGHT = 0.06
LINEA_FROM = 0.35
LINEA_WIDTH = 0.02
LINEA_DEPTH = 0.035


def _navel(kp: Keypoints, frame: Frame, shape: tuple[int, int]) -> np.ndarray | float:
    """Light gain (H, W) of the navel and the groove above it (:data:`NAVEL_AT`); 1 without the
    shoulders and hips, or for a person turned away (the joints' sides swapped)."""
    hips = _hips(kp, frame)
    if hips is None or kp.xy[J.R_SHOULDER][0] >= kp.xy[J.L_SHOULDER][0]:
        return 1.0
    right, left = kp.xy[J.R_SHOULDER].astype(np.float64), kp.xy[J.L_SHOULDER].astype(np.float64)
    sw = float(np.linalg.norm(left - right))
    top = (right + left) / 2
    axis = (np.asarray(hips[0], np.float64) + np.asarray(hips[1], np.float64)) / 2 - top
    length = float(np.linalg.norm(axis))
    if length < 1.0 or sw < 1.0:
        return 1.0
    down = axis / length
    navel = top + NAVEL_AT * axis
    start = top + LINEA_FROM * axis
    sx, sy = NAVEL_SIZE[0] * sw, NAVEL_SIZE[1] * sw
    reach = max(4 * sy, 3 * LINEA_WIDTH * sw)
    x0, y0, x1, y1 = _points_box(np.array([start, navel]), reach, shape)
    gain = np.ones(shape, np.float32)
    if x1 <= x0 or y1 <= y0:
        return gain
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # Coordinates across the body (u) and down it (v) from the navel.
    u = (xs - navel[0]) * -down[1] + (ys - navel[1]) * down[0]
    v = (xs - navel[0]) * down[0] + (ys - navel[1]) * down[1]
    hollow = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    rim = np.exp(-0.5 * ((u / sx) ** 2 + ((v - 1.5 * sy) / sy) ** 2))
    t = np.clip(1.0 + v / ((NAVEL_AT - LINEA_FROM) * length), 0.0, 1.0)  # 0 at the groove's start, 1 at the navel
    groove = np.exp(-0.5 * (u / (LINEA_WIDTH * sw)) ** 2) * np.sqrt(np.sin(np.pi * t)) * (v < 0)
    gain[y0:y1, x0:x1] = 1.0 - NAVEL_DEPTH * hollow + NAVEL_LIGHT * rim - LINEA_DEPTH * groove
    return gain


def side_light(drawing: BodyDrawing, lateral: float, height: int) -> np.ndarray:
    """Light gain (H, W) of the drawn body lit from one side: each limb is lighter on the side
    facing the light (``lateral``: :attr:`SkinLight.lateral`). Softened over LATERAL_SOFT of the
    ``height``: where two parts meet (an arm against the torso) the side flips from the edge of
    one to the edge of the other, and drew a step in the skin."""
    return 1.0 + lateral * _soft(np.clip(drawing.side, -1.0, 1.0), LATERAL_SOFT * height)


def _cast_shadow(cover: np.ndarray, body: np.ndarray, height: int, shadow: tuple[float, float, float]
                 ) -> np.ndarray:
    """Gain (H, W) of what lies under (``body``: its alpha) the soft shadow that ``cover`` (what
    lies over it: its coverage) casts on it: ``shadow`` is how much darker at its deepest, its
    softness and how far down it falls (shares of the photo's ``height``; :data:`HEM_SHADOW`,
    :data:`ARM_SHADOW`). Without it a crop top or a sleeve lay on the skin below, and an arm on
    the garment beside it, like a sticker."""
    depth, soft, fall = shadow
    drop = round(fall * height)
    cast = np.zeros_like(cover)
    cast[drop:] = cover[:cover.shape[0] - drop]
    cast = _soft(cast, soft * height)
    return 1.0 - depth * cast * (1.0 - cover) * body


#: The shadow a garment's hem casts down on the body (``_cast_shadow``): this much darker at its
#: deepest, softened over 0.006 of the photo's height and cast down as far.
HEM_SHADOW = (0.3, 0.006, 0.006)
#: The shadow a bare arm casts on the garment it lies against (``_cast_shadow``): the crease beside
#: an arm hanging against the body, and under a forearm across it. Softer and shallower than a hem's
#: (an arm is round, its edge does not touch the cloth along a line) and hardly down (the light of
#: a fashion photo comes from the front).
ARM_SHADOW = (0.25, 0.008, 0.002)


def _coverage(alphas: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """How much the layers of ``alphas`` cover each pixel together (float32, the largest alpha)."""
    cover = np.zeros(shape, np.float32)
    for alpha in alphas:
        np.maximum(cover, alpha, out=cover)
    return cover


def _textured(plate: np.ndarray, image: np.ndarray, background: np.ndarray, region: np.ndarray,
              alphas: list[np.ndarray], height: int) -> None:
    """The filled ``plate`` (changed in place) given the backdrop's own texture where it will show
    (in the ``region``, under no skin or garment of ``alphas``): a smooth fill reads as a blur on
    grass, pavement, a mottled backdrop. The texture is mirrored in from a few pixels inside the
    photo's ``background``: its outermost pixels mix in the person's outline."""
    cover = _coverage(alphas, region.shape)
    source = cv2.erode(background.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    shows = region & ~background & (cover < BACKGROUND_DETAIL_COVER)
    (ys, xs), detail = mirrored_detail(image, source, shows, BACKGROUND_DETAIL_SIGMA * height,
                                       max(1, round(BACKGROUND_DETAIL_REACH * height)))
    plate[ys, xs] += detail


def _mixed_border(img: np.ndarray, real: np.ndarray, replaced: np.ndarray, height: int) -> np.ndarray:
    """The photo's own skin along what the region replaces that is patterned, not smooth (a mask).

    The parse's border with the old garment is a few pixels off: a band of a houndstooth hem was
    labelled legs above kept knees, a black collar's edge neck across a kept neck, and both were
    kept as skin. Within MIXED_BORDER of the replaced garment, skin whose local spread of
    lightness (5 px window) is over MIXED_BORDER_SPREAD grey levels is no skin: it is drawn,
    in the kept skin's tone. Smooth skin there stays the photo's."""
    candidates = real & _within(replaced, max(1, round(MIXED_BORDER * height)))
    if not candidates.any():
        return candidates
    return candidates & (lightness_spread(channel_mean(img), 5) > MIXED_BORDER_SPREAD)


#: Under a sleeve the shoulder is the sleeve's cap: the drawn arm's round top, where it shows
#: beside the cap, is not skin (a brown wedge at the shoulder seam), nor is the photo's own bare
#: shoulder there (a camisole worn now: skin above a new sleeve). Both are filled like the
#: background. Outward of the shoulder joint (a wide neckline's skin lies inward), down to
#: SLEEVE_CAP_DOWN of the way from the joint to the elbow (where the sleeve's outer edge meets the
#: arm, ``fit.UPPER_ARM_CAP``), within SLEEVE_CAP_REACH of the shoulder distance of the joint (the
#: arm's radius there is 0.12 of it).
SLEEVE_CAP_DOWN = 0.3
SLEEVE_CAP_REACH = 0.3


#: The tops of the shoulders: SHOULDER_TOP_IN of the shoulder joints' distance in from each joint
#: towards the neck and SHOULDER_TOP_UP above it. A top seated on the shoulders covers both (its
#: seams lie above and outward of them, ``fit.SEAM_UP``); an off-shoulder one (and a camisole's
#: straps, nearer the neck) leaves both bare, and they are drawn round, as over bare arms.
SHOULDER_TOP_IN = 0.15
SHOULDER_TOP_UP = 0.05


def _shoulders_covered(kp: Keypoints, garment: np.ndarray) -> bool:
    """Whether the new garment (``garment``: its coverage) covers the top of either shoulder
    (SHOULDER_TOP_*); True where the shoulders are not seen."""
    if not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return True
    right, left = kp.xy[J.R_SHOULDER].astype(np.float64), kp.xy[J.L_SHOULDER].astype(np.float64)
    inward = (left - right) * SHOULDER_TOP_IN
    lift = _down(kp) * SHOULDER_TOP_UP * float(np.linalg.norm(left - right))
    tops = np.array([right + inward, left - inward]) - lift
    inside, values = mask_at(garment > 0.5, tops)
    return bool((inside & values).any())


def _beside_sleeve_caps(kp: Keypoints, layers: list[Layer], shape: tuple[int, int]) -> np.ndarray:
    """The pixels about the top of each upper arm that no garment part covers (bool). Only where a
    sleeve covers the arm at least that far down: under a cap sleeve the arm below it is bare."""
    out = np.zeros(shape, bool)
    if not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return out
    reach = SLEEVE_CAP_REACH * float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]))
    covered = _coverage([layer.alpha for layer in layers], shape) > 0.5
    for (shoulder, elbow, _), other in ((R_ARM, J.L_SHOULDER), (L_ARM, J.R_SHOULDER)):
        if not kp.seen(elbow):
            continue
        a, d = kp.xy[shoulder].astype(np.float32), (kp.xy[elbow] - kp.xy[shoulder]).astype(np.float32)
        out_dir = a - kp.xy[other].astype(np.float32)  # along the shoulders, away from the neck
        y0, y1 = max(0, int(a[1] - reach)), min(shape[0], int(a[1] + reach) + 1)
        x0, x1 = max(0, int(a[0] - reach)), min(shape[1], int(a[0] + reach) + 1)
        cx, cy = (int(round(v)) for v in a + SLEEVE_CAP_DOWN * d)
        if (y0 >= y1 or x0 >= x1 or float(d @ d) < 1.0 or not (0 <= cy < shape[0] and 0 <= cx < shape[1])
                or not covered[cy, cx]):
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        along = ((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / float(d @ d)
        outward = (xx - a[0]) * out_dir[0] + (yy - a[1]) * out_dir[1] >= 0  # not the neckline's skin
        out[y0:y1, x0:x1] |= (along <= SLEEVE_CAP_DOWN) & outward & (np.hypot(xx - a[0], yy - a[1]) <= reach)
    return out & ~covered


def _between(mask: np.ndarray, gap: float) -> np.ndarray:
    """What closes the gaps up to ``gap`` pixels wide between parts of ``mask`` (bool, without
    the mask itself): a morphological closing by a disc, as two distance transforms (a wide
    disc's dilation costs ten times as much)."""
    r = gap / 2
    grown = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) <= r
    return (cv2.distanceTransform(grown.astype(np.uint8), cv2.DIST_L2, 3) > r) & ~mask


#: Synthesised skin keeps SKIN_CLEAR (a share of the photo's height) inside the background the
#: photo shows, along that background's outline smoothed over SKIN_CLEAR_SMOOTH (sigma, likewise).
#: A limb drawn wider than the old sleeve or dress was cut by the parse's outline of it, and its
#: edge was that outline's staircase and notches: a paper cut-out.
SKIN_CLEAR = 0.003
SKIN_CLEAR_SMOOTH = 0.01


def _clear_of(background: np.ndarray, height: int) -> np.ndarray:
    """Where synthesised skin may be: clear of the ``background`` by :data:`SKIN_CLEAR`, along its
    outline smoothed. That is a level line of the background blurred (a Gaussian of
    SKIN_CLEAR_SMOOTH): the one at SKIN_CLEAR off a straight outline, which it leaves straight;
    a staircase or a notch is evened out. Worked at a reduced size, since the blurred mask is smooth."""
    if not background.any():
        return np.ones(background.shape, bool)
    h, w = background.shape
    sigma = max(1.0, SKIN_CLEAR_SMOOTH * height)
    step = max(1, int(sigma / 2.5))  # keeps 2.5 pixels of blur at the reduced size
    small = cv2.resize(background.astype(np.float32), (max(1, w // step), max(1, h // step)),
                       interpolation=cv2.INTER_AREA)
    share = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / step), (w, h), interpolation=cv2.INTER_LINEAR)
    return share < NormalDist().cdf(-max(1.0, SKIN_CLEAR * height) / sigma)


def _within(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` (a square's half-side) of ``mask``."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0


def _toward_real_skin(img: np.ndarray, synthesised: np.ndarray, real: np.ndarray, body: np.ndarray,
                      height: int) -> np.ndarray:
    """Offset (H, W, 3) that carries the photo's own skin tone into the synthesised skin beside it.

    Where synthesised skin meets skin the photo shows (a neck beside the kept neck, an upper arm
    above a kept forearm, a thigh above a kept knee), the two differ by the light and the tan of
    that spot, and the seam showed as a step: a box of darker skin around a neck. The difference
    along the real skin's edge (a few pixels inside it: its outline mixes in what is behind) is
    spread smoothly and fades over SKIN_MATCH_REACH of the height into the synthesised skin; what
    differs by SKIN_MATCH_MAX or more is no skin (a dark collar's edge parsed with the neck, a
    garment parsed as skin must not paint the body)."""
    h, w = real.shape
    none = np.zeros((h, w, 3), np.float32)
    target = body & ~real
    ys, xs = np.nonzero((cv2.erode(real.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & _within(target, 7))
    diff = img[ys, xs] - synthesised[ys, xs]
    # Pixels further off than SKIN_MATCH_MAX are no skin of this person's (the dark edge of a
    # collar the parse took in with the neck): left out, not clipped.
    ok = np.abs(diff).max(axis=1) < SKIN_MATCH_MAX
    if ok.sum() < 20:
        return none
    # Worked at a quarter of the size: the offset is smooth.
    sh, sw = max(1, h // 4), max(1, w // 4)
    cells = np.minimum(ys[ok] // 4, sh - 1) * sw + np.minimum(xs[ok] // 4, sw - 1)
    den = np.bincount(cells, minlength=sh * sw).reshape(sh, sw).astype(np.float32)
    num = np.stack([np.bincount(cells, diff[ok, c], minlength=sh * sw) for c in range(3)], axis=-1)
    seen = den > 0
    spread = push_pull((num.reshape(sh, sw, 3) / np.maximum(den, 1.0)[..., None]).astype(np.float32), seen)
    distance = 4.0 * cv2.distanceTransform((~seen).astype(np.uint8), cv2.DIST_L2, 3)
    spread *= np.exp(-distance / max(SKIN_MATCH_REACH * height, 1.0))[..., None]
    # Kept on the target only (a masked copy: three times as fast as a product with the mask).
    return cv2.copyTo(cv2.resize(spread, (w, h), interpolation=cv2.INTER_LINEAR), target.view(np.uint8), none)


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    """``mask`` blurred by ``sigma`` px (float32), at a quarter of the size: a wide blur is smooth."""
    h, w = mask.shape
    small = cv2.resize(mask.astype(np.float32), (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), max(0.5, sigma / 4)), (w, h), interpolation=cv2.INTER_LINEAR)


def _under_skirt(legs: np.ndarray, garment: np.ndarray) -> np.ndarray:
    """The legs drawn above the new dress's hem: inside its skirt, never bare beside it. A narrow
    skirt (a mermaid gown) on a person standing with her feet apart left a bare leg beside it
    from the hip to the ankle. The hem is the garment's lowest row in each column it covers, and in
    the columns beside it, that of the nearest column it covers."""
    covered = garment > 0.5
    cols = np.flatnonzero(covered.any(axis=0))
    if len(cols) == 0:
        return np.zeros_like(legs)
    bottom = covered.shape[0] - 1 - np.argmax(covered[::-1, cols], axis=0)
    hem = np.interp(np.arange(covered.shape[1]), cols, bottom)
    return legs & (np.arange(covered.shape[0])[:, None] < hem[None, :])


def _replaced(category: Category) -> tuple[Label, ...]:
    """The parse's labels of the garments a try-on of ``category`` replaces."""
    if category == Category.DRESS:
        return UPPER_GARMENT + LOWER_GARMENT
    return LOWER_GARMENT if category == Category.LOWER else UPPER_GARMENT


def _shaded_neck(image: np.ndarray, face: np.ndarray, chin: np.ndarray | None, kp: Keypoints,
                 skin: np.ndarray) -> np.ndarray:
    """The neck just under the jaw where the head shades it (a mask), whatever the parse says.

    Shade keeps skin's hue: darker than the lit ``skin`` colour (more saturated in warm light, less
    in cool shade), it is often parsed as the garment, and the engine drew a pale patch of
    synthesised skin over it. Here it is what it is: pixels of the lit skin's hue (within
    ``SHADE_HUE``), from ``SHADE_CHROMA_MIN`` to ``SHADE_CHROMA`` times its chroma, and no lighter
    than it (down to ``SHADE_DARKER`` darker), below the jaw and within ``SHADE_NECK_DROP`` of the
    jaw-to-shoulder drop, beside the ``chin`` (:func:`chin_point` of the ``face`` mask)."""
    h, w = face.shape
    out = np.zeros((h, w), bool)
    cols = np.flatnonzero(face.any(axis=0))
    if len(cols) < 3 or chin is None or not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return out
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]))
    drop = min(kp.xy[J.R_SHOULDER][1], kp.xy[J.L_SHOULDER][1]) - chin[1]
    x0, x1 = max(0, int(chin[0] - SHADE_NECK_HALF * sw)), min(w, int(chin[0] + SHADE_NECK_HALF * sw) + 1)
    y0, y1 = int(chin[1] - 0.2 * drop), min(h, int(chin[1] + SHADE_NECK_DROP * max(drop, 0.0)) + 1)
    if y1 <= max(y0, 0) or x1 <= x0:
        return out
    y0 = max(0, y0)
    lab = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = cv2.cvtColor(np.clip(skin, 0, 255).astype(np.uint8)[None, None], cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    a, b = lab[..., 1] - 128.0, lab[..., 2] - 128.0
    ra, rb = ref[1] - 128.0, ref[2] - 128.0
    turn = np.abs((np.degrees(np.arctan2(b, a) - np.arctan2(rb, ra)) + 180.0) % 360.0 - 180.0)
    chroma, chroma0 = np.hypot(a, b), float(np.hypot(ra, rb))
    shaded = ((turn < SHADE_HUE) & (chroma >= SHADE_CHROMA_MIN * chroma0) & (chroma < SHADE_CHROMA * chroma0)
              & (lab[..., 0] <= ref[0]) & (lab[..., 0] > ref[0] - SHADE_DARKER))
    below_jaw = np.arange(y0, y1)[:, None] > jaw_rows(face[:, x0:x1])[None, :]
    out[y0:y1, x0:x1] = shaded & below_jaw & ~face[y0:y1, x0:x1]
    return out


def _chin_shadow(face: np.ndarray, kp: Keypoints) -> np.ndarray:
    """Light gain (H, W) for synthesised skin, from the ``face`` the photo shows (a mask): the head
    shades the neck under the jaw (a studio light comes from the front and above), fading over a
    quarter of the jaw-to-shoulder drop."""
    h, w = face.shape
    gain = np.ones((h, w), np.float32)
    cols = np.flatnonzero(face.any(axis=0))
    if len(cols) < 3 or not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return gain
    jaw = jaw_rows(face[:, cols])
    drop = max(min(kp.xy[J.R_SHOULDER][1], kp.xy[J.L_SHOULDER][1]) - float(np.median(jaw)), 4.0)
    below = np.arange(h, dtype=np.float32)[:, None] - jaw[None, :]
    shade = np.where(below > 0, CHIN_SHADOW * np.exp(-below / (0.25 * drop)), 0.0)
    gain[:, cols] -= shade.astype(np.float32)
    return cv2.GaussianBlur(gain, (0, 0), 2.0)


def _trousers_below(image: np.ndarray, region: np.ndarray, readable: np.ndarray, parse: np.ndarray,
                    kp: Keypoints, frame: Frame, flanks: tuple[np.ndarray, np.ndarray] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Where a new top is shorter than the old one, the trousers' (or skirt's) waist shows: the
    body below the waist inside the region is filled from the lower garment the photo shows.

    A dress worn now shows from under the bust instead (:data:`DRESS_SHOWS_FROM`): a short top is
    then worn over the dress, as people do, where a bare midriff used to be drawn between the two
    (a flat slab of skin, the look the reviews scored lowest).

    ``flanks`` (``trousers_top``): the body's sides where the trousers show. Above the crotch the
    waist is then no wider than the torso drawn through them (``torso_outline``), run on straight
    down: as wide as the pelvis, it stood out past the bare midriff as a block."""
    h, w = region.shape
    skirt = skirt_of_dress(parse, kp) & readable & ~region
    lower = of_labels(parse, LOWER_GARMENT)
    source = (lower & readable & ~region) | skirt
    if source.sum() < 200 or not (kp.seen(J.R_HIP) and kp.seen(J.L_HIP)):
        return np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    torso = kp.torso_length() or float(np.linalg.norm(kp.xy[J.R_HIP] - kp.xy[J.L_HIP])) * 2
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    hip_at = _hip_line(kp, cols)
    waist = hip_at - WAIST_ABOVE_HIPS * torso
    # The thighs and the pelvis, and up to the waist as wide as the pelvis (the torso's outline
    # there, centred on the shoulders and narrowing to its waist, made the waistband a staircase).
    pelvis = body_shape(kp, ("legs",), (h, w), frame=frame).inside
    rh, lh = kp.xy[J.R_HIP].astype(np.float64), kp.xy[J.L_HIP].astype(np.float64)
    rise = np.array([0.0, (WAIST_ABOVE_HIPS + WAIST_BAND_MARGIN) * torso])
    band = np.array([rh + (rh - lh) * PELVIS_WIDEN - rise, lh + (lh - rh) * PELVIS_WIDEN - rise,
                     lh + (lh - rh) * PELVIS_WIDEN, rh + (rh - lh) * PELVIS_WIDEN])
    hips = np.zeros((h, w), np.uint8)
    cv2.fillPoly(hips, [np.round(band).astype(np.int32)], 1)
    pelvis |= hips > 0
    shoulders = kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)
    if flanks is not None and shoulders:
        # All of the torso drawn below the waist, which runs on under it (``_draw_torso``).
        pelvis |= _torso_mask(kp, (rh, lh), (h, w), flanks, TORSO_TAIL)
    dress = False
    if shoulders:
        dress = bool(skirt.sum() >= 0.5 * source.sum())
        if dress:
            waist = hip_at - (1.0 - DRESS_SHOWS_FROM) * torso
            pelvis |= _torso_mask(kp, (kp.xy[J.R_HIP], kp.xy[J.L_HIP]), (h, w))
    # Not cut to the region: a fade at its edge would mix in what lies under the fill there (the
    # edge itself is the composite's business, which keeps the photo outside the region).
    # The trousers the parse finds inside the region, away from the old top's border (its hem's
    # shadow, mislabelled hem pixels), are the trousers: kept as the photo shows them (filled with
    # the backdrop, they were pale shards beside a pocket).
    old = of_labels(parse, UPPER_GARMENT)
    own = lower & readable & region & ~_within(old, max(1, round(TROUSERS_BELOW_OLD * h)))
    zone = (pelvis | own) & (rows > waist)
    fill = background_plate(image, ~source)
    # Where the trousers show lower down the same column, they run on up with their own weave,
    # folds and light (mirrored at their top edge): the smooth fill alone is a blur of the
    # trousers' colour, and a block beside the legs where a coat's skirt hung over them. The runs
    # go on through what the parse calls legs (pale trousers' patches that passed the skin model
    # broke them into runs too short to mirror), but begin on the trousers.
    k = max(3, round(TROUSERS_EDGE * h))
    worn = of_labels(parse, LOWER_GARMENT + LEGS) & readable & ~region
    inner = cv2.erode(worn.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    inner &= ~_within(region, max(1, round(TROUSERS_BELOW_OLD * h)))
    inner &= _trousers_like(image, inner)
    # Worked out only where the zone's soft edge (sigma 2, four of them) can show it.
    mirrored, found = mirrored_up(image, inner, max(2, round(TROUSERS_RUN * h)), lower,
                                  _within(zone, 8) & (rows > waist))
    zone |= found
    fill[source] = image[source]
    fill[found] = mirrored[found]
    fill[own] = image[own]
    # Above the crotch the trousers are one piece from side to side, with a clean waistband: each
    # row spans its widest extent (the union of the body's outline and the trousers' own pixels,
    # with gaps, was a staircase of slanted thighs under the torso's outline); below it, only
    # where trousers show lower down or are the photo's own, with the crotch between the hips.
    crotch = hip_at + CROTCH_BELOW_HIPS * torso
    zone &= found | own | (rows <= crotch)
    zone = _spanned(zone, rows <= crotch)
    if flanks is not None and shoulders:
        # Two pixels past them, the zone's blur below: its soft edge lies over the skin's.
        sides = _within(_torso_mask(kp, (rh, lh), (h, w), flanks, SIDES_TAIL), 2)
        zone &= sides | own | (rows > crotch)
    if dress:
        # The dress the photo shows there is the dress under the new top: its own pixels, folds
        # and print, as wide as it is (not a smooth fill of its colour: a flat slab).
        bodice = (parse == Label.DRESS) & readable & region & (rows > waist)
        fill[bodice] = image[bodice]
        zone |= bodice
    return fill, cv2.GaussianBlur(zone.astype(np.float32), (0, 0), 2.0)


def _top_tucked(image: np.ndarray, region: np.ndarray, readable: np.ndarray, parse: np.ndarray, kp: Keypoints,
                height: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a new lower garment sits lower than the old one under a top that met it (tucked in,
    or down to the waistband), the top runs on down to the hip joints' line: what the new
    waistband uncovers is more of the top, mirrored at its hem, as the trousers run on up under a
    shorter top (``TROUSERS_EDGE``, ``TROUSERS_RUN``). It was a bare midriff between the two, a flat
    slab of skin. A top that ended above the old waistband (a crop top, with skin between the
    two: :data:`TOP_MEETS`) leaves the skin drawn as it is."""
    h, w = region.shape
    nothing = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    if not (kp.seen(J.R_HIP) and kp.seen(J.L_HIP)):
        return nothing
    top = of_labels(parse, UPPER_GARMENT) & readable & ~region
    lo, hi = sorted(int(np.clip(kp.xy[j][0], 0, w - 1)) for j in (J.R_HIP, J.L_HIP))
    worn = top[:, lo:hi + 1].any(axis=0)
    if worn.sum() < TOP_MEETS[0] * (hi - lo + 1):
        return nothing
    rows = np.arange(h)[:, None]
    hem = h - 1 - np.argmax(top[::-1, lo:hi + 1], axis=0)
    gap = max(1, round(TOP_MEETS[1] * height))
    beneath = (rows > hem[None]) & (rows <= hem[None] + gap)
    met = (beneath & of_labels(parse, LOWER_GARMENT)[:, lo:hi + 1]).any(axis=0) & worn
    if met.sum() < TOP_MEETS[2] * worn.sum():
        return nothing
    k = max(3, round(TROUSERS_EDGE * h))
    inner = cv2.erode(top.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    zone = region & (rows <= _hip_line(kp, np.arange(w)[None, :]))
    mirrored, found = mirrored_up(image[::-1], inner[::-1], max(2, round(TROUSERS_RUN * h)), where=zone[::-1])
    return mirrored[::-1], cv2.GaussianBlur(found[::-1].astype(np.float32), (0, 0), 2.0)


#: ``_top_tucked``: the top met the old lower garment when it shows in at least TOP_MEETS[0] of the
#: columns between the hip joints, and in at least TOP_MEETS[2] of those the lower garment lies
#: within TOP_MEETS[1] of the picture's height below its last pixel (the parse's border and a
#: belt's shade between them; a crop top's bare midriff is wider).
TOP_MEETS = (0.5, 0.01, 0.6)


def trousers_top(parse: np.ndarray, readable: np.ndarray, region: np.ndarray, kp: Keypoints,
                 full_height: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The (right, left) outer edges of the trousers or skirt the photo shows just below the
    region, about the hips: the body is that wide there, whatever the proportions say.

    Each row's run of the lower garment through the hips' middle (gaps of up to
    :data:`TROUSERS_TOP_GAP` bridged: belt loops, a buckle) counts from the first that spans
    :data:`TROUSERS_TOP_LEAST` hip joints' distances; each edge is the median over
    :data:`TROUSERS_TOP_ROWS` of the height (a hand on the hip or an arm over the side shortens
    some rows' runs, never lengthens them). None when no such run shows within
    :data:`TROUSERS_TOP_REACH` neck-to-hip lengths of the hip joints."""
    if not (kp.seen(J.R_HIP) and kp.seen(J.L_HIP)):
        return None
    rh, lh = kp.xy[J.R_HIP].astype(np.float64), kp.xy[J.L_HIP].astype(np.float64)
    apart = float(np.linalg.norm(lh - rh))
    torso = kp.torso_length() or 2 * apart
    h, w = parse.shape
    centre = (rh + lh) / 2
    x = int(round(centre[0]))
    if apart < 4 or not 0 <= x < w:
        return None
    lower = (of_labels(parse, LOWER_GARMENT) & readable & ~region).astype(np.uint8)
    gap = max(1, round(TROUSERS_TOP_GAP * full_height))
    lower = cv2.morphologyEx(lower, cv2.MORPH_CLOSE, np.ones((1, 2 * gap + 1), np.uint8)) > 0
    top, bottom = (int(np.clip(centre[1] + s * TROUSERS_TOP_REACH * torso, 0, h)) for s in (-1, 1))
    count = max(2, round(TROUSERS_TOP_ROWS * full_height))
    edges = []
    for y in range(top, bottom):
        row = lower[y]
        if not row[x]:
            if edges:
                break
            continue
        left = x - int(np.argmin(row[x::-1])) + 1 if not row[: x + 1].all() else 0
        right = x + int(np.argmin(row[x:])) - 1 if not row[x:].all() else w - 1
        if edges or right - left >= TROUSERS_TOP_LEAST * apart:
            edges.append((y, left, right))
        if len(edges) == count:
            break
    if len(edges) < count:
        return None
    y, left, right = np.median(np.array(edges, np.float64), axis=0)
    outer = [np.array([left, y]), np.array([right, y])]
    return (outer[0], outer[1]) if rh[0] <= lh[0] else (outer[1], outer[0])


#: ``trousers_top``: the run through the hips' middle bridges gaps this share of the height wide,
#: starts on a row at least TROUSERS_TOP_LEAST hip joints' distances across (the trousers' waist
#: is about 1.6 of them; a belt's buckle or the old hem's last row is narrower), is measured over
#: TROUSERS_TOP_ROWS of the height from there, and is looked for within TROUSERS_TOP_REACH
#: neck-to-hip lengths above and below the hip joints.
TROUSERS_TOP_GAP = 0.004
TROUSERS_TOP_LEAST = 1.2
TROUSERS_TOP_ROWS = 0.015
TROUSERS_TOP_REACH = 0.3


#: The body's sides that bound the trousers' waist (``_trousers_below``) run on straight down from
#: the hips by this many drops from the shoulders to them: past the crotch, where the outline's
#: rounded end does not show.
SIDES_TAIL = 1.0


#: Where the trousers' waistband sits when a shorter top shows it: this share of the neck-to-hips
#: length above the hip joints, along their line (a mid rise).
WAIST_ABOVE_HIPS = 0.1
#: The hip joints' line is followed up to this slope (a turned or leaning person's hips).
HIP_SLOPE_MAX = 0.3
#: The band from the hips up reaches this much (neck-to-hips lengths) past the waist, so that the
#: waist's line, whose slope is capped, cuts it, not the band's own edge.
WAIST_BAND_MARGIN = 0.05


def _hip_line(kp: Keypoints, cols: np.ndarray) -> np.ndarray:
    """The hip joints' line's row at each of ``cols``: a waistband is parallel to it."""
    (x1, y1), (x2, y2) = kp.xy[J.R_HIP].astype(np.float64), kp.xy[J.L_HIP].astype(np.float64)
    slope = float(np.clip((y2 - y1) / (x2 - x1), -HIP_SLOPE_MAX, HIP_SLOPE_MAX)) if abs(x2 - x1) >= 1 else 0.0
    return (y1 + y2) / 2 + slope * (cols - (x1 + x2) / 2)


def _spanned(mask: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``mask`` filled, in each row, from its first pixel to its last, within ``where``."""
    w = mask.shape[1]
    left = np.argmax(mask, axis=1)[:, None]
    right = w - 1 - np.argmax(mask[:, ::-1], axis=1)[:, None]
    cols = np.arange(w)[None, :]
    return mask | ((cols >= left) & (cols <= right) & where & mask.any(axis=1, keepdims=True))


#: The trousers run on up only from their inside: this share of the picture's height in from
#: their outline (its pixels mix in the background or the old top's shadow, and mirrored up they
#: drew stripes), and only from runs at least ``TROUSERS_RUN`` of the height long.
TROUSERS_EDGE = 0.006
TROUSERS_RUN = 0.03
#: Columns without trousers below get the smooth fill only between the hip joints, down to this
#: share of the neck-to-hips length below them (the crotch the old top hid); beside the legs it
#: was a block of the trousers' colour where a coat's skirt had hung.
CROTCH_BELOW_HIPS = 0.3
#: Nor from this close under the old top (its hem's shadow, and the parse's uncertain border
#: where a coat's skirt meets the trousers: mirrored up, the coat's weave streaked the legs).
TROUSERS_BELOW_OLD = 0.02


def _trousers_like(image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Where the photo is within the trousers' own range of colours (:data:`TROUSERS_ODD`): the
    parse's trousers take in a little of the backdrop between the legs and of a hand beside them,
    and one such pixel in a column mirrored up drew a pale stripe down the new waist."""
    found = pixels.sum()
    if found == 0:
        return pixels
    step = max(1, int(found // 20000))  # a sample is enough for the median and the spread
    sample = image[pixels][::step].astype(np.float32)
    centre = np.median(sample, axis=0)
    spread = np.percentile(colour_distance(sample[None], centre)[0], TROUSERS_ODD[0])
    return colour_distance(image, centre) <= max(TROUSERS_ODD[1] * spread, TROUSERS_ODD[2])


#: A trousers' pixel is odd (``_trousers_like``) farther from their median colour than
#: TROUSERS_ODD[1] times the distance that TROUSERS_ODD[0] per cent of their pixels are within, and
#: TROUSERS_ODD[2] (RGB distance) at least: a print or a pattern is most of their pixels, a gap
#: of backdrop or a hand a few.
TROUSERS_ODD = (95.0, 1.5, 30.0)


def mirrored_up(image: np.ndarray, source: np.ndarray, least: int = 1, start: np.ndarray | None = None,
                where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel (of ``where``, when given) above a run of ``source`` pixels in its column (at
    least ``least`` long, with nothing between, and beginning on a ``start`` pixel when given),
    coloured by the run mirrored at its top (and back again past its bottom: a short run
    repeats), and where one was found."""
    h, w = source.shape
    rows = np.arange(h)[:, None]
    # The first source row at or below each pixel, and the first row at or below it that is none.
    first = np.minimum.accumulate(np.where(source, rows, h)[::-1], axis=0)[::-1]
    gap = np.minimum.accumulate(np.where(source, h, rows)[::-1], axis=0)[::-1]
    found = (first < h) & ~source
    if where is not None:
        found &= where
    ys, xs = np.nonzero(found)
    top = first[ys, xs]
    run = gap[top, xs] - top
    short = run < least
    if start is not None:
        short |= ~start[top, xs]
    found[ys[short], xs[short]] = False
    ys, xs, top, run = ys[~short], xs[~short], top[~short], run[~short]
    k = (top - ys - 1) % (2 * run)
    out = np.zeros(image.shape, np.float32)
    out[ys, xs] = image[top + np.where(k < run, k, 2 * run - 1 - k), xs]
    return out, found


def _hair_fall(image: np.ndarray, region: np.ndarray, readable: np.ndarray, parse: np.ndarray,
               kp: Keypoints, plate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hair that the region cuts off from above falls on down to the shoulders.

    Each column whose hair the region's top edge cuts continues below the cut with the hair just
    above it, mirrored, so the strands keep their colour and grain; the garment is laid over it.
    Without this the hair ends in a straight line where the mask began. Only hair that stands
    out from the background (``plate``) and shows over some height is continued: a column of a
    few mislabelled pixels would become a stripe.
    """
    h, w = region.shape
    rgb, alpha = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    hair = (parse == Label.HAIR) & readable & ~region
    hair[hair] = colour_distance(image[hair][None], plate[hair][None])[0] > 30  # apart from the background
    if hair.sum() < 50 or not (kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return rgb, alpha
    stop = int(min(h, max(kp.xy[J.R_SHOULDER][1], kp.xy[J.L_SHOULDER][1])))
    top = np.argmax(region, axis=0)
    cols = np.flatnonzero(region.any(axis=0) & (top > 0) & (top < stop))
    cols = cols[hair[top[cols] - 1, cols]]
    if len(cols) < 3:
        return rgb, alpha
    # Height of the hair run just above the cut, per column (at most a tenth of the picture).
    run = np.zeros(len(cols), int)
    going = np.ones(len(cols), bool)
    for k in range(1, max(2, h // 10)):
        rows = top[cols] - k
        going &= (rows >= 0) & hair[np.maximum(rows, 0), cols]
        run += going
        if not going.any():
            break
    long_enough = run >= max(4, h // 100)
    cols, run = cols[long_enough], run[long_enough]
    if len(cols) < 3:
        return rgb, alpha
    # Neighbouring columns mirror the same rows (the median cut and run about them): mirrored each
    # from its own, the strands turned into vertical stripes where the cut or the hair's length
    # varies from column to column. The hair falls as far as it shows above the cut, mirrored once:
    # a short run repeated down to the shoulders drew a grain of stripes under short hair.
    cut, run = _running_median(cols, top[cols], HAIR_COLUMNS * w), _running_median(cols, run, HAIR_COLUMNS * w)
    depth = np.minimum(stop - top[cols], run)
    keep = depth > 0
    cols, cut, run, depth = cols[keep], cut[keep], run[keep], depth[keep]
    if len(cols) < 3:
        return rgb, alpha
    k = np.arange(int(depth.max()))[:, None]
    period = 2 * np.maximum(run, 1)[None, :]
    m = k % period
    src = cut[None, :] - 1 - np.where(m < run[None, :], m, period - 1 - m)
    inside = k < depth[None, :]
    ys = top[cols][None, :] + k
    yy, xx = ys[inside], np.broadcast_to(cols[None, :], ys.shape)[inside]
    rgb[yy, xx] = image[np.clip(src, 0, h - 1)[inside], xx]
    # Fading out over the last quarter of the fall; soft at the sides.
    fade = np.clip((depth[None, :] - k) / np.maximum(0.25 * depth[None, :], 1.0), 0.0, 1.0)
    alpha[yy, xx] = fade[inside]
    # Softened at the sides, where the hair the photo shows beside the region counts as full.
    alpha = cv2.GaussianBlur(np.maximum(alpha, hair), (0, 0), 2.0) * region
    return rgb, alpha


#: Hair that falls on below the region's edge mirrors the rows of the hair above it that the
#: columns within this share of the picture's width have in common (their median cut and run).
HAIR_COLUMNS = 0.02


def _running_median(x: np.ndarray, values: np.ndarray, reach: float) -> np.ndarray:
    """The median of ``values`` over the entries whose ``x`` (sorted) lies within ``reach`` of each."""
    lo = np.searchsorted(x, x - reach, side="left")
    hi = np.searchsorted(x, x + reach, side="right")
    return np.array([int(np.median(values[a:b])) for a, b in zip(lo, hi)], dtype=int)


def _lit(rgb: np.ndarray, gain: np.ndarray, folds: np.ndarray) -> np.ndarray:
    return np.clip(rgb * gain[..., None] + folds[..., None], 0, 255)
