"""Fit a garment to a body: cut it into parts and move each with its own mapping.

Tops and dresses: the body part follows the shoulders (scale from the shoulder width, so the
garment keeps its own length and looseness) and widens where the person is wider; each sleeve is
laid along its arm. Trousers: each half is laid along its leg from the waist down, scale from the
hip width. Skirts: the body part follows the hips. Left and right are image sides throughout:
the garment's left sleeve goes to the arm on the left of the photo.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

import cv2
import numpy as np

from tryon.category import Category
from tryon.engines.warp.compose import ARM_RADII, ARM_START, HIDDEN_FOREARM_LEAST, clear_steps, mask_at, turned_to_hips
from tryon.engines.warp.fill import decontaminate
from tryon.engines.warp.mapping import Frame, Layer, body_layer, in_depth_order, limb_layer, polyline_coords, polyline_points
from tryon.errors import PoseError
from tryon.garment.analyzer import GarmentAnalysis
from tryon.garment.neckline import inside_back
from tryon.garment.shape import central_runs, row_extents, without_hem_flaps
from tryon.person.keypoints import L_ARM, L_LEG, R_ARM, R_LEG, Keypoints
from tryon.person.keypoints import Joint as J

#: Where the garment's shoulder landmarks (its torso width) land relative to MediaPipe's shoulder
#: joints, as shares of the joint distance: along the shoulder line (negative = inwards; a torso
#: reads a little narrower than the joints are apart) and up the body axis (the shoulders' top is
#: above the joints). Set on the evalset's paired photos.
SEAM_OUT = -0.06
SEAM_UP = 0.15
#: Where a sleeve's outer edge meets the arm's outer contour below the shoulder seam, as a share
#: of the way from the shoulder joint to the elbow.
UPPER_ARM_CAP = 0.3
#: A sleeve whose outer edge turns by more than this (degrees) is laid bent (a long sleeve
#: photographed bent at the elbow); below it, straight.
BEND_MIN_DEG = 5.0
#: A sleeve at least this many times the garment's shoulder width long is a long sleeve: on the
#: person it ends at the wrist.
LONG_SLEEVE = 1.8
#: A sleeve hanging at the garment's side down to its hem (the cuff at least ``LONG_SLEEVE_HEM``
#: of the way from the shoulder points to the hem at the body's middle) is long from
#: ``LONG_SLEEVE_HANGING`` shoulder widths on: there the shoulder points lie on the outside of
#: the hanging sleeves, or dropped down the arms, and the ratio reads short (the tuning half's
#: hoodie 1.22, a long-sleeved blouse 1.47; its three-quarter sleeves end at 0.65-0.76 of the
#: way to the hem, its short sleeves below 1.0 shoulder widths).
LONG_SLEEVE_HEM = 0.9
LONG_SLEEVE_HANGING = 1.0
#: A sleeve at least this many times the garment's shoulder width long reaches well past the elbow
#: (about one shoulder width from the shoulder point): it hangs round the forearm like a long one,
#: even where it ends short of the wrist (three-quarter sleeves; the tuning half's blouse 1.57,
#: its short sleeves at most 1.11, a boxy top's elbow-length ones). Drawn with a short sleeve's
#: stand-off, such a sleeve was a box beside the arm and stepped out from under the body's side.
TUBE_SLEEVE = 1.3
#: The torso's width from the armpits to the waist, as a share of the shoulder joints' distance:
#: a garment body narrower than this is widened to it. Worn tops in the evalset's studio photos
#: measure 1.04-1.08 there (median); fitted ones about 1.0.
TORSO_WIDTH = 1.0
#: An arm hangs when its upper arm points down at least this much (the down component of its
#: direction; 0.9 is within about 25 degrees of straight down): only then is an unseen wrist
#: guessed, on in the upper arm's direction, a forearm this many upper arms long when the other
#: forearm is not seen either (adults' forearms are about 0.8-0.9 of their upper arms, joint to
#: joint). A hand on the hip (the tuning half's 0.87) turns the forearm back in: not guessed.
HANGING_ARM = 0.9
FOREARM_PER_UPPER_ARM = 0.85


class _Side(NamedTuple):
    """The joints of one side of the body: shoulder, elbow, wrist; hip, knee, ankle."""

    arm: tuple[int, int, int]
    leg: tuple[int, int, int]


_RIGHT, _LEFT = _Side(R_ARM, R_LEG), _Side(L_ARM, L_LEG)


@dataclass
class Body:
    """The person's keypoints, read by image side, where they wear their waist (the top of the
    trousers or skirt the photo shows: :func:`tryon.person.agnostic.worn_waist`), and their
    silhouette (the person as photographed, clothes included: the pose model's mask), if known."""

    kp: Keypoints
    waist: float | None = None
    silhouette: np.ndarray | None = None  # (H, W) bool

    def side_joints(self, pair: tuple[int, int]) -> tuple[_Side, _Side]:
        """The joints of the image-left and image-right side, decided by the given joint pair
        (the person's right joint first: shoulders or hips)."""
        a, b = pair
        if self.kp.xy[a][0] <= self.kp.xy[b][0]:
            return _RIGHT, _LEFT
        return _LEFT, _RIGHT

    def limb(self, joints: tuple[int, ...], start: np.ndarray, extend: float) -> np.ndarray | None:
        pts = [start]
        for j in joints:
            if not self.kp.seen(j):
                break
            pts.append(self.kp.xy[j].astype(np.float64))
        if len(pts) < 2:
            return None
        pts.append(pts[-1] + (pts[-1] - pts[-2]) * extend)
        return np.array(pts)

    def leg(self, side: _Side, start: np.ndarray, extend: float) -> np.ndarray | None:
        """A trouser leg's way from ``start`` down the knee and the ankle, and ``extend`` of the
        shin past it; the joints the pose does not see where a standing leg's are
        (:meth:`Keypoints.standing_leg`: an ankle hidden behind the other leg, a knee below the
        photo's bottom edge). None where a knee the photo should show is not seen."""
        leg = self.kp.standing_leg(side.leg)
        if leg is None:
            return None
        return np.array([start, leg[1], leg[2], leg[2] + extend * (leg[2] - leg[1])])

    def arm(self, side: _Side, start: np.ndarray, extend: float) -> np.ndarray | None:
        """A sleeve's way from ``start`` down the elbow and the wrist (and ``extend`` of the forearm
        past it). A wrist the pose does not see on an arm that hangs (a hand in a pocket, behind
        the back, below the frame) goes on in the upper arm's direction, a forearm's length (the
        other forearm's, else ``FOREARM_PER_UPPER_ARM`` of this upper arm): a long sleeve ended
        at the elbow's extension, a hand's width below it, and the rest of the old sleeve showed.
        Where that line soon leaves the person's silhouette (an elbow held out, the hand in a
        trouser pocket), it turns towards the hips as compose's drawn forearm does
        (:func:`~tryon.engines.warp.compose.turned_to_hips`): laid straight on, the sleeve stood
        off the body into the background, the forearm drawn under it bent to the pocket."""
        shoulder, elbow, wrist = side.arm
        if not (self.kp.seen(shoulder) and self.kp.seen(elbow)) or self.kp.seen(wrist):
            return self.limb((elbow, wrist), start, extend)
        e = self.kp.xy[elbow].astype(np.float64)
        upper = e - self.kp.xy[shoulder]
        d = _unit(upper)
        if d[1] < HANGING_ARM:
            return self.limb((elbow, wrist), start, extend)
        other = _LEFT if side is _RIGHT else _RIGHT
        if self.kp.seen(other.arm[1]) and self.kp.seen(other.arm[2]):
            forearm = float(np.linalg.norm(self.kp.xy[other.arm[2]] - self.kp.xy[other.arm[1]]))
        else:
            forearm = FOREARM_PER_UPPER_ARM * float(np.linalg.norm(upper))
        d = self._turned_forearm(e, d, forearm)
        return np.array([start, e, e + d * forearm, e + d * (1.0 + extend) * forearm])

    def _turned_forearm(self, elbow: np.ndarray, d: np.ndarray, forearm: float) -> np.ndarray:
        """The direction of a hidden forearm (see :meth:`arm`): ``d`` where it stays on the
        silhouette, else turned towards the hips where it runs on the silhouette to its end."""
        kp = self.kp
        if self.silhouette is None or not all(kp.seen(j) for j in (J.R_SHOULDER, J.L_SHOULDER, J.MID_HIP)):
            return d
        outside = ~self.silhouette
        ts = np.linspace(0.0, forearm, 24)
        radius = ARM_RADII[3] * float(np.linalg.norm(kp.xy[J.L_SHOULDER] - kp.xy[J.R_SHOULDER]))
        if ts[max(clear_steps(outside, elbow, d, ts, radius) - 1, 0)] >= HIDDEN_FOREARM_LEAST * forearm:
            return d
        end = turned_to_hips(elbow, d, ts, outside, radius, kp.xy[J.MID_HIP].astype(np.float64), self.silhouette)
        return d if end is None else _unit(end - elbow)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else np.array([0.0, 1.0])


def _length(polyline: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(polyline, axis=0), axis=1).sum())


def _down(across: np.ndarray) -> np.ndarray:
    d = np.array([-across[1], across[0]])
    return d if d[1] >= 0 else -d


def _frame(left_g: np.ndarray, right_g: np.ndarray, left_p: np.ndarray, right_p: np.ndarray,
           down_p: np.ndarray) -> Frame:
    """The frame that puts two garment landmarks (shoulders, waist corners) onto two body points."""
    scale = float(np.linalg.norm(right_p - left_p) / max(np.linalg.norm(right_g - left_g), 1.0))
    across_g = _unit(right_g - left_g)
    return Frame((left_g + right_g) / 2, across_g, _down(across_g), (left_p + right_p) / 2,
                 _unit(right_p - left_p), down_p, scale)


def _require(kp: Keypoints, joints: tuple[int, ...], what: str) -> None:
    if not all(kp.seen(j) for j in joints):
        raise PoseError(f"the person's {what} must be visible to dress them in this garment")


#: A person whose seen knees are all less than this share of the torso's length (neck to mid-hip)
#: below their hips is seated or crouching. Standing persons in the evalset measure 0.71 or more
#: on both thighs (0.71 is a leg lifted sideways); a person seated facing the camera, 0.09.
SEATED_THIGH = 0.4


def _require_standing(kp: Keypoints) -> None:
    """Trousers, skirts and dresses are laid from the hips down towards the feet: on a seated person
    they hung straight down through the lap, over the chair. Such a try-on is refused, not drawn."""
    torso = kp.torso_length()
    thighs = [float(kp.xy[knee][1] - kp.xy[hip][1]) for hip, knee in ((J.R_HIP, J.R_KNEE), (J.L_HIP, J.L_KNEE))
              if kp.seen(hip) and kp.seen(knee)]
    if torso and thighs and max(thighs) < SEATED_THIGH * torso:
        raise PoseError("the person is seated: trousers, skirts and dresses can only be put on a standing person")


def _edges(mask: np.ndarray, y: float) -> tuple[float, float] | None:
    yi = int(np.clip(round(y), 0, mask.shape[0] - 1))
    xs = np.nonzero(mask[yi])[0]
    return (float(xs.min()), float(xs.max())) if len(xs) else None


def body_half_widths(kp: Keypoints, frame_origin: np.ndarray, down: np.ndarray):
    """Half the body's width as a function (of arrays too) of the distance b down the body axis from
    ``frame_origin``: shoulders, waist, hips, then the legs' spread, from the keypoints alone
    (they stay valid where the photo is masked)."""
    shoulders = kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)
    hips = kp.seen(J.R_HIP) and kp.seen(J.L_HIP)
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER])) / 2 if shoulders else None
    hip = float(np.linalg.norm(kp.xy[J.R_HIP] - kp.xy[J.L_HIP])) / 2 if hips else None
    sw = sw or (hip * 1.4 if hip else 40.0)
    hip = hip or sw / 1.4
    def depth(j: int) -> float | None:
        return float((kp.xy[j] - frame_origin) @ down) if kp.seen(j) else None
    # Nothing is required above the armpits: straps and necklines stay as they are. The torso's
    # marks are shares of the drop from the shoulders to the hips, wherever the frame starts.
    d_hip = depth(J.MID_HIP) or depth(J.R_HIP)
    d_top = (depth(J.R_SHOULDER) + depth(J.L_SHOULDER)) / 2 if shoulders else 0.0
    if d_hip is None or d_hip <= d_top:
        return lambda b: np.zeros_like(np.asarray(b, float))
    def at(share: float) -> float:
        return d_top + share * (d_hip - d_top)
    marks = [(at(0.25), 0.0), (at(0.35), TORSO_WIDTH * sw), (at(0.6), TORSO_WIDTH * sw),
             (d_hip, max(1.7 * hip, 0.8 * sw))]
    # Below the hips: the legs' spread at the knees, then at the ankles.
    for right, left in ((J.R_KNEE, J.L_KNEE), (J.R_ANKLE, J.L_ANKLE)):
        dk = [depth(j) for j in (right, left)]
        if all(v is not None for v in dk) and dk[0] > d_hip:
            spread = float(np.linalg.norm(kp.xy[right] - kp.xy[left])) / 2 + 0.6 * hip
            marks.append((float(np.mean(dk)), spread))
    marks.sort()
    xs, ys = zip(*marks)
    return lambda b: np.interp(b, xs, ys)


def _armpit_row(mask: np.ndarray, cx: float, half: float, side: int, start: int, default: int) -> int:
    """First row below the sleeve where the silhouette on that side is back within the torso."""
    has, left, right = row_extents(mask[start:])
    beyond = (left < cx - 1.1 * half) if side < 0 else (right > cx + 1.1 * half)
    sleeve = np.flatnonzero(has & beyond)
    if not len(sleeve):
        return default
    back = np.flatnonzero(has[sleeve[0]:] & ~beyond[sleeve[0]:])
    return start + int(sleeve[0] + back[0]) if len(back) else default


def _touching_sleeve(core: np.ndarray, free: np.ndarray, cuff: tuple[float, float] | None, cx: float, half: float,
                     side: int, armpit: int) -> np.ndarray:
    """Rows where a long sleeve hangs against the body, between the armpit and its cuff: there the
    torso's run is wider than the shoulders on that side (the caller keeps what lies beyond them).
    Not rows where the sleeve hangs free (``free``: the garment beside the torso's run on that
    side): there a torso wider than the shoulders is its own hips, flaring."""
    out = np.zeros(core.shape, bool)
    if cuff is None or cuff[1] <= armpit:
        return out
    stop = int(min(core.shape[0], cuff[1] + 1))
    has, left, right = row_extents(core[armpit:stop])
    wide = has & ((left < cx - 1.1 * half) if side < 0 else (right > cx + 1.1 * half))
    wide &= ~free[armpit:stop].any(axis=1)
    out[armpit:stop] = wide[:, None]
    return out & core


def _sleeve_edge(part: np.ndarray, shoulder: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, int]:
    """The sleeve's outer edge, shoulder to cuff, as a polyline (it goes onto the arm's outer
    contour), and which side of it is outside: the sign of ``limb_layer``'s ``outer``.

    Measured from the direction from the shoulder to the middle of the cuff (the sleeve's far
    end). The edge leaves the shoulder along the tangent to the sleeve's far part (98% of it on
    its inner side), so the sleeve lies along the arm instead of beside it or across the body.
    Where the sleeve's outline turns away from that tangent it bends, at the tangent point,
    towards the cuff's outer corner: a long sleeve photographed bent at the elbow, and a short
    sleeve whose rounded cap sets the tangent. Straight, the sleeve's lower part would lie inside
    the arm's outer side (a short sleeve then hugs the arm instead of standing out from it).
    Percentiles keep stray pixels from setting the length or angles.
    """
    ys, xs = np.nonzero(part)
    rel = np.c_[xs, ys].astype(np.float64) - shoulder
    dist = np.hypot(rel[:, 0], rel[:, 1])
    reach = float(np.percentile(dist, 99))
    d = _unit(rel[dist >= 0.9 * reach].mean(axis=0))
    out = np.array([-d[1], d[0]])
    if out @ (shoulder - centre) < 0:
        out = -out
    outer = 1 if np.array([-d[1], d[0]]) @ out > 0 else -1
    along, across = rel @ d, rel @ out
    far = along > 0.3 * reach
    if far.sum() <= 10:
        return np.array([shoulder, shoulder + d * max(float(np.percentile(along, 99.5)), 1.0)]), outer
    angles = np.arctan2(across[far], along[far])
    turn = float(np.percentile(angles, 98))
    d_edge = d * np.cos(turn) + out * np.sin(turn)
    straight = np.array([shoulder, shoulder + d_edge * max(float(np.percentile(rel @ d_edge, 99.5)), 1.0)])
    # The tangent point, and the cuff's outer corner (the outermost 2% of the last tenth set aside).
    knee = rel[far][angles >= turn - 0.02].mean(axis=0)
    end = float(np.percentile(along, 99.5))
    cuff = along >= 0.9 * end
    if cuff.sum() < 5:
        return straight, outer
    corner = np.array([end, float(np.percentile(across[cuff], 98))])
    ka, kc = float(knee @ d), float(knee @ out)
    bend = np.degrees(np.arctan2(kc, ka) - np.arctan2(corner[1] - kc, corner[0] - ka))
    if ka >= 0.85 * end or bend < BEND_MIN_DEG:
        return straight, outer
    return np.array([shoulder, shoulder + knee, shoulder + corner[0] * d + corner[1] * out]), outer


@dataclass
class _Seat:
    """Where a top sits on the person: its shoulder seams' points (image left and right) and
    the frame that puts the garment's shoulders onto them."""

    left: _Side  # the joints of the image-left side of the body
    right: _Side
    down: np.ndarray  # unit vector down the body
    width: float  # the shoulder joints' distance
    seam_left: np.ndarray
    seam_right: np.ndarray
    frame: Frame


@dataclass
class _Sleeve:
    """One sleeve cut from the garment photo and the arm it goes on."""

    name: str
    part: np.ndarray  # the sleeve's pixels in the garment photo
    axis: np.ndarray  # its outer edge, shoulder to cuff (``_sleeve_edge``)
    outer: int  # which side of ``axis`` is outside
    side: _Side
    seam: np.ndarray  # where it is sewn on, on the person
    armpit: int  # the garment row where the sleeve leaves the body
    long: bool  # a long sleeve: it ends at the wrist
    tube: bool  # it reaches well past the elbow: it hangs round the arm (every long sleeve does)
    # It begins inward of the garment's own shoulder points (a dropped seam's fabric, see
    # ``fit_top``): down to the armpit it lies behind the body part, under whose print it would
    # otherwise reach across the chest.
    dropped: bool = False


def fit_top(g: GarmentAnalysis, body: Body, size: tuple[int, int]) -> list[Layer]:
    """Tops and dresses: body part on the torso, sleeves along the arms."""
    _require(body.kp, (J.R_SHOULDER, J.L_SHOULDER), "shoulders")
    pts = g.landmarks.points
    sl, sr = np.array(pts["shoulder_left"], float), np.array(pts["shoulder_right"], float)
    collar = np.array(pts["collar"], float)
    if "strap_left" in pts and "strap_right" in pts:  # thin straps hang from the shoulders' middle
        seat = _seat(body, np.array(pts["strap_left"], float), np.array(pts["strap_right"], float), STRAP_SPAN)
    elif "neckline_left" in pts:  # an off-shoulder neckline runs across the upper arms
        seat = _seat(body, sl, sr, drop=OFF_SHOULDER_DROP)
    else:
        seat = _seat(body, sl, sr)
    dropped = False
    if "hood" in pts and "hem_left" in pts and "hem_right" in pts:
        # Seated by points drawn in from its own (an oversized cut), the top's shoulders past those
        # points are its dropped seams' fabric: laid with the sleeves down the arms, not as the
        # body's square corners standing out past the wearer's shoulders; and its neck opening is
        # the wearer's neck's, not a box as wide as its dropped shoulders.
        seat_l, seat_r = _reaching_hips(body, seat, sl, sr, (pts["hem_left"][1] + pts["hem_right"][1]) / 2,
                                        HOODED_LENGTH)
        dropped = not np.allclose(seat_l, sl)
        sl, sr = seat_l, seat_r
        seat = _seat(body, sl, sr)
    sleeves = _sleeves(g, seat, sl, sr, collar, dropped)
    body_part, body_image = g.mask > 0, g.image
    if "hood" in pts:
        body_part = _hood_down(body_part, collar, seat.width / max(seat.frame.scale, 1e-6))
    for sleeve in sleeves:
        body_part = body_part & ~sleeve.part
    body_part = _without_neck_opening(g, body_part, sl, sr, collar)
    if "brief" in pts:
        body_image, body_part = _tucked_in(g.image, body_part, collar[0], int(pts["brief"][1]),
                                           _brief_cut(body, seat.frame, pts["brief"][1]))
    need = body_half_widths(body.kp, seat.frame.origin_p, seat.down)
    layers = [body_layer("body", body_image, body_part, seat.frame, need, size)]
    body_part = body_part[: g.mask.shape[0]]  # the sleeves meet the garment's own rows
    return layers + [part for sleeve in sleeves for part in _sleeve_layers(g, body, seat, sleeve, body_part, size)]


#: Thin straps lie on the top of the shoulders this share of the way out from the neck's middle to
#: the shoulder seams' points (about halfway along each shoulder, where a camisole's straps rest).
STRAP_SPAN = 0.65


#: An off-shoulder top's shoulder points (the ends of its neckline over the bodice) sit this share of
#: the shoulder joints' distance below the shoulder seams' points, on the upper arms' fronts: its
#: neckline runs across the upper arms below the shoulders' round, which stay bare.
OFF_SHOULDER_DROP = 0.3


def _seat(body: Body, sl: np.ndarray, sr: np.ndarray, span: float = 1.0, drop: float = 0.0) -> _Seat:
    """The garment's shoulders (``sl``, ``sr``) sit on the top of the body's shoulders, ``span`` of
    the way out from their middle to the shoulder seams' points, and ``drop`` times the shoulder
    joints' distance below them."""
    kp = body.kp
    left, right = body.side_joints((J.R_SHOULDER, J.L_SHOULDER))
    jl, jr = kp.xy[left.arm[0]].astype(float), kp.xy[right.arm[0]].astype(float)
    down_p = (_unit(kp.xy[J.MID_HIP] - kp.xy[J.NECK]) if kp.seen(J.MID_HIP) and kp.seen(J.NECK)
              else _down(_unit(jr - jl)))
    width = float(np.linalg.norm(jr - jl))
    pl = jl + (jl - jr) * SEAM_OUT + down_p * (drop - SEAM_UP) * width
    pr = jr + (jr - jl) * SEAM_OUT + down_p * (drop - SEAM_UP) * width
    mid = (pl + pr) / 2
    pl, pr = mid + (pl - mid) * span, mid + (pr - mid) * span
    return _Seat(left, right, down_p, width, pl, pr, _frame(sl, sr, pl, pr, down_p))


#: A hooded top (a hoodie, a hooded jacket) is worn down to at least this share of the drop from its
#: shoulder seams to the hips' joints. Its product photo cannot tell an oversized cut (the seams
#: dropped down the arms, the body wider than the wearer's shoulders) from a cropped one; scaled by
#: its shoulder seams, the evalset's oversized hoodie ended at the chest over a slab of skin.
HOODED_LENGTH = 1.0


def _reaching_hips(body: Body, seat: _Seat, sl: np.ndarray, sr: np.ndarray, hem_y: float, length: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The shoulder points to seat a top by so that its hem (``hem_y`` in the product photo) reaches
    ``length`` of the drop from the shoulder seams to the hips: drawn closer together when it would
    end above, so that the top is scaled up; as they are otherwise, or without the hips."""
    kp = body.kp
    if not kp.seen(J.MID_HIP):
        return sl, sr
    drop_p = float((kp.xy[J.MID_HIP] - (seat.seam_left + seat.seam_right) / 2) @ seat.down)
    drop_g = hem_y - (sl[1] + sr[1]) / 2
    if drop_p <= 0 or drop_g <= 0:
        return sl, sr
    width_p = float(np.linalg.norm(seat.seam_right - seat.seam_left))
    width_g = float(np.linalg.norm(sr - sl))
    needed = width_p * drop_g / (length * drop_p)
    if needed >= width_g:
        return sl, sr
    mid, half = (sl + sr) / 2, (sr - sl) / 2 * needed / width_g
    return mid - half, mid + half


def _brief_cut(body: Body, frame: Frame, brief_y: float) -> float:
    """The row of a bodysuit's product photo below which it is not drawn: its brief is worn under
    the trousers or skirt, so nothing of it below the hips' joints (drawn, it hung below the top
    as a shard); above them, down to where the brief begins at least, it fills the waist."""
    kp = body.kp
    if not kp.seen(J.MID_HIP):
        return brief_y
    drop_p = float((kp.xy[J.MID_HIP] - frame.origin_p) @ frame.down_p)
    return max(brief_y, float(frame.origin_g[1] + drop_p / max(frame.scale, 1e-6)))


#: A bodysuit tucked in (``_tucked_in``) continues its body below the brief's start with the
#: fabric of this band of rows above it (a share of the garment's height), mirrored to and fro.
TUCKED_BAND = 0.06


def _tucked_in(image: np.ndarray, mask: np.ndarray, cx: float, brief_y: int, cut: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """A bodysuit's product photo (``image``, ``mask``) worn as a top tucked into the trousers or
    skirt: from the row where its brief begins (``brief_y``) down to ``cut``, its body as wide as
    there. Scaled by its own shoulders, the brief's leg openings lay above the waist of trousers
    worn at the hips, the skin drawn beside them; the body goes on under the waistband instead."""
    h = mask.shape[0]
    stop = int(np.ceil(cut))
    run = np.flatnonzero(central_runs(mask[brief_y - 1: brief_y], cx)[0]) if 0 < brief_y < h else []
    if stop <= brief_y or len(run) < 2:
        return image, mask & (np.arange(h)[:, None] < cut)
    rows = max(stop, h)
    image = np.concatenate([image, np.repeat(image[-1:], rows - h, axis=0)]) if rows > h else image.copy()
    out = np.zeros((rows, mask.shape[1]), bool)
    out[:brief_y] = mask[:brief_y]
    band = max(1, min(brief_y, round(TUCKED_BAND * h)))
    k = np.arange(stop - brief_y)
    # To and fro through the band: row brief_y + k takes the band's row at that distance back.
    back = np.abs((k + band) % (2 * band) - band)
    src = brief_y - 1 - np.minimum(back, band - 1)
    a, b = run[0], run[-1] + 1
    image[brief_y:stop, a:b] = image[src, a:b]
    out[brief_y:stop, a:b] = True
    return image, out


def _sleeves(g: GarmentAnalysis, seat: _Seat, sl: np.ndarray, sr: np.ndarray, collar: np.ndarray,
             dropped: bool = False) -> list[_Sleeve]:
    """The sleeves (left, right), or none: what lies beside the central run of each row, and
    beyond the shoulders (``sl``, ``sr``) above the armpit. A garment without sleeve landmarks,
    or with sleeves too small or too short to lay along an arm, is all body. ``dropped``: the
    shoulder points lie inward of the garment's own (``_Sleeve.dropped``)."""
    pts = g.landmarks.points
    mask = g.mask > 0
    cx = float(collar[0])
    half = (sr[0] - sl[0]) / 2
    rows = np.arange(mask.shape[0])[:, None]
    cols = np.arange(mask.shape[1])[None, :]
    # Below the shoulder points, where the middle column is an opening (a V neck's, down to its
    # point; a keyhole) a row has no central run: there the body is all the garment between the
    # shoulder points (the V's two sides), and only what lies beyond them may be sleeve. From the
    # row where the garment holds both points' columns: a row of one side alone is laid by the body's
    # row-by-row map as if centred, a stroke across the chest. (Above them the shoulders' tops go
    # with the sleeves, as the product photo's inside back is cut there.)
    both = max(int(np.argmax(mask[:, int(sl[0])])), int(np.argmax(mask[:, int(sr[0])])))
    opening = ~mask[:, int(round(cx))][:, None] & (rows >= both) & (cols >= sl[0]) & (cols <= sr[0])
    core = central_runs(mask, cx) | (mask & opening)
    ys = np.nonzero(mask.any(axis=1))[0]
    top, hem = int(ys.min()), int(ys.max())
    default = int(top + (0.42 if g.category == Category.UPPER else 0.25) * (hem - top))
    arm_l = _armpit_row(mask, cx, half, -1, int(sl[1]), default)
    arm_r = _armpit_row(mask, cx, half, +1, int(sr[1]), default)
    sleeve_l = without_hem_flaps(mask & ((~core & (cols < cx)) | (core & (rows < arm_l) & (cols < sl[0]))), mask)
    sleeve_r = without_hem_flaps(mask & ((~core & (cols > cx)) | (core & (rows < arm_r) & (cols > sr[0]))), mask)
    if g.category == Category.UPPER:
        sleeve_l |= _touching_sleeve(core, mask & ~core & (cols < cx), pts.get("sleeve_left"), cx, half, -1,
                                     arm_l) & (cols < sl[0])
        sleeve_r |= _touching_sleeve(core, mask & ~core & (cols > cx), pts.get("sleeve_right"), cx, half, +1,
                                     arm_r) & (cols > sr[0])
    if not ("sleeve_left" in pts and "sleeve_right" in pts and sleeve_l.sum() > 30 and sleeve_r.sum() > 30):
        return []
    # A sleeve's outer edge runs from the shoulder to the cuff; it goes onto the arm's outer
    # contour, the sleeve lies inward of it.
    elbow_g = float(np.linalg.norm(sr - sl))  # shoulder to elbow, about the torso's width
    axis_l, outer_l = _sleeve_edge(sleeve_l, sl, collar)
    axis_r, outer_r = _sleeve_edge(sleeve_r, sr, collar)
    if not min(_length(axis_l), _length(axis_r)) > 0.15 * elbow_g:
        return []
    hem_y = _middle_hem(mask, cx, half)
    drop = hem_y - (sl[1] + sr[1]) / 2

    def length(axis: np.ndarray, cuff: tuple[float, float]) -> tuple[bool, bool]:
        """Whether the sleeve is long, and whether it is a tube."""
        ratio = _length(axis) / elbow_g
        hanging = drop > 0 and cuff[1] - (sl[1] + sr[1]) / 2 >= LONG_SLEEVE_HEM * drop
        long = ratio >= LONG_SLEEVE or (hanging and ratio >= LONG_SLEEVE_HANGING)
        return long, long or ratio >= TUBE_SLEEVE

    return [_Sleeve("sleeve-left", sleeve_l, axis_l, outer_l, seat.left, seat.seam_left, arm_l,
                    *length(axis_l, pts["sleeve_left"]), dropped),
            _Sleeve("sleeve-right", sleeve_r, axis_r, outer_r, seat.right, seat.seam_right, arm_r,
                    *length(axis_r, pts["sleeve_right"]), dropped)]


def _middle_hem(mask: np.ndarray, cx: float, half: float) -> float:
    """The hem's row at the garment body's middle (the median lowest row of the columns within
    0.3 of the half shoulder width of the collar): the mask's bottom is a hanging cuff's."""
    cols = np.arange(max(0, int(cx - 0.3 * half)), min(mask.shape[1], int(cx + 0.3 * half) + 1))
    has = mask[:, cols].any(axis=0)
    if not has.any():
        return float(np.nonzero(mask.any(axis=1))[0].max())
    lowest = mask.shape[0] - 1 - np.argmax(mask[::-1, cols[has]], axis=0)
    return float(np.median(lowest))


#: Half the neck opening's width, as a share of the garment's shoulder points' distance.
NECK_OPENING_HALF = 0.22
#: A hood worn down (``_hood_down``), in shares of the wearer's shoulder joints' distance: the
#: garment ends at its shoulder line (the hood lies behind the neck) but for the hood's fabric
#: bunched behind the neck, which stands above that line on both sides of the neck, from the
#: neck's side (HOOD_NECK_HALF out from the middle) within a half ellipse HOOD_WORN_HALF wide
#: (half width) and HOOD_WORN_RISE high. The neck opening below that line is a half ellipse
#: HOOD_OPENING_HALF wide (half width) and HOOD_OPENING_DEPTH deep. Sized by the garment's own
#: shoulder points instead, an oversized hoodie's (its seams dropped down the arms) opened over
#: a slab of chest, and cut flat at the shoulder line its top was one straight edge.
HOOD_NECK_HALF = 0.15
HOOD_WORN_HALF = 0.45
HOOD_WORN_RISE = 0.1
HOOD_OPENING_HALF = 0.2
HOOD_OPENING_DEPTH = 0.1


def _hood_down(body_part: np.ndarray, collar: np.ndarray, shoulders: float) -> np.ndarray:
    """A hooded top's body part as worn with the hood down: of what is above the collar (the
    hood's base, on the shoulder line) only the hood's base beside the neck, and a round neck
    opening below it. ``shoulders``: the wearer's shoulder joints' distance in the garment photo's
    pixels (the HOOD_ sizes are shares of it)."""
    centre = (int(collar[0]), int(collar[1]))
    keep = np.zeros(body_part.shape, np.uint8)
    keep[int(collar[1]):] = 1
    cv2.ellipse(keep, centre, (int(HOOD_WORN_HALF * shoulders), int(HOOD_WORN_RISE * shoulders)), 0, 180, 360, 1, -1)
    neck = HOOD_NECK_HALF * shoulders
    keep[: int(collar[1]), max(0, int(collar[0] - neck)): int(collar[0] + neck) + 1] = 0
    cv2.ellipse(keep, centre, (int(HOOD_OPENING_HALF * shoulders), int(HOOD_OPENING_DEPTH * shoulders)), 0, 0, 180, 0, -1)
    return body_part & (keep > 0)


def _without_neck_opening(g: GarmentAnalysis, body_part: np.ndarray, sl: np.ndarray, sr: np.ndarray,
                          collar: np.ndarray) -> np.ndarray:
    """Through the neck opening a product photo shows the inside of the back: on a person the
    neck hides it. Cut it away above the front neckline, between the collar's sides. Not under
    a plunging neckline (its lowest point far below the shoulders), nor between thin straps (the
    shoulder points lie at the bodice's top there, level with its V's point): what rises above
    that point there is the front's two sides, and a cut would square the V off."""
    rows = np.arange(body_part.shape[0])[:, None]
    cols = np.arange(body_part.shape[1])[None, :]
    neck_half = NECK_OPENING_HALF * float(np.linalg.norm(sr - sl))
    if collar[1] - min(sl[1], sr[1]) < neck_half and "strap_left" not in g.landmarks.points:
        body_part = body_part & ~((rows < collar[1]) & (np.abs(cols - collar[0]) < neck_half))
    return body_part & ~inside_back(g.image, g.mask > 0, collar, neck_half)


def _sleeve_layers(g: GarmentAnalysis, body: Body, seat: _Seat, sleeve: _Sleeve, body_part: np.ndarray,
                   size: tuple[int, int]) -> list[Layer]:
    """A sleeve laid along its arm, its outer edge on the arm's outer contour, at least as wide
    as the arm; a long one ends at the wrist, a tube hangs round the arm. On an arm folded at the
    elbow (a hand raised to the face) the upper arm's part and the forearm's are laid apart, the
    forearm's in front: laid as one along the folded line, each pixel took the part of the nearer
    segment, and the upper arm, nearer the forearm's edge than its own, was left bare."""
    kp = body.kp
    arm = sleeve.side.arm
    # The sleeve's inner side lies this far in from the arm's joints, its outer edge at least as
    # far out, and it is never seen narrower than between the two (with a tenth to spare). A tube
    # hangs round the arm: the drawn arm's widest radius, so what compose draws under it stays
    # covered (at SHORT_SLEEVE_STANDOFF the long sleeves of a slim wearer were boxes half again as
    # wide as her arms). A short sleeve's opening stands off the upper arm.
    arm_radius = (ARM_RADII[0] if sleeve.tube else SHORT_SLEEVE_STANDOFF) * seat.width
    limb = body.arm(sleeve.side, sleeve.seam, extend=0.35)
    # Its outer edge stands off the upper arm as far as the photo's silhouette reaches there (a
    # muscular arm, the old garment's sleeve), within SLEEVE_REACH_MAX: at the canon a sliver of
    # the real arm showed beside a slim sleeve. Its inner side stays where the canon puts it.
    outer_radius = arm_radius
    if body.silhouette is not None and kp.seen(arm[0]) and kp.seen(arm[1]):
        seen = _outer_reach(body.silhouette, kp.xy[arm[0]].astype(float), kp.xy[arm[1]].astype(float),
                            kp.xy[J.NECK].astype(float), SLEEVE_REACH_MAX * seat.width)
        outer_radius = max(arm_radius, seen)
    to_wrist = limb is not None and len(limb) == 4  # seam, elbow, wrist (seen or guessed), past it
    if limb is None:
        # Elbow out of the frame (a bust shot): the arm hangs down beside the body.
        side = _unit(sleeve.seam - kp.xy[J.NECK].astype(float))
        elbow = sleeve.seam + seat.down * 0.85 * seat.width + side * 0.08 * seat.width
        limb = np.array([sleeve.seam, elbow, elbow + (elbow - sleeve.seam) * 0.9])
    # From the shoulder seam the sleeve's outer edge first runs over the top of the arm (a point
    # down the upper arm: for a tube where the drawn arm begins, so that its round top stays under
    # the cap), then down it: the sleeve cap sits on the shoulder.
    joint = kp.xy[arm[0]].astype(float)
    limb = np.insert(limb, 1, joint + (ARM_START if sleeve.tube else UPPER_ARM_CAP) * (limb[1] - joint), axis=0)
    joints, neck = limb, kp.xy[J.NECK].astype(float)
    limb = _outer_contour(joints, neck, outer_radius)
    scale = seat.frame.scale
    length_g = _length(sleeve.axis)
    width_g = sleeve.part.sum() / max(length_g, 1.0)
    # The sleeve is at least as wide as the arm in it.
    girth = arm_radius + outer_radius
    across = max(scale, 1.1 * girth / max(width_g, 1.0))
    reach = max(1.2 * width_g * across, 1.2 * girth)
    along = scale
    if sleeve.long and to_wrist:
        # A long sleeve ends at the wrist, whatever the arm's length against the shoulders.
        along = float(np.clip(_length(limb[:-1]) / length_g, 0.8 * scale, 1.3 * scale))
    # The sleeve reaches a little under the body above the armpit: the two are laid by
    # different maps, and where they met edge to edge a wedge of skin would show at the shoulder.
    rows = np.arange(g.mask.shape[0])[:, None]
    grow = max(2, round(0.03 * g.mask.shape[0]))
    drawn = _grown_into(sleeve.part, body_part & (rows < sleeve.armpit), grow)
    # Behind the garment body: a short sleeve's upper-arm part (photographed spread out, its
    # underarm swings onto the torso when the arm hangs; in front, a colour-blocked polo's pale
    # sleeve cut into its dark band); of a tube only the cap, and the armhole's fabric
    # past the tube's inner fold (``limb_layer``): the arm hangs beside the torso, over its side
    # (behind down to the elbow, the sleeve stepped out from under the body's side there). The
    # forearm's part is in front (folded arms).
    behind = _length(limb[:2] if sleeve.tube else limb[:3])
    if sleeve.dropped:
        behind = max(behind, _arc_to_row(sleeve.axis, sleeve.armpit) * along)
    lay = partial(limb_layer, sleeve.name, g.image, scale=along, reach=reach, size=size, across_scale=across,
                  outer=sleeve.outer, behind_until=behind,
                  wrap=(width_g, max(SLEEVE_ROUND * width_g * scale, 1.1 * girth)) if sleeve.tube else None)
    if not _folded(limb[1:4]):
        return [lay(drawn, sleeve.axis, limb)]
    # The sleeve's own length to the elbow (the garment's axis is laid ``along`` times longer).
    ys, xs = np.nonzero(drawn)
    u_g = polyline_coords(np.c_[xs, ys].astype(np.float64), sleeve.axis)[0]
    elbow = _length(limb[:3]) / along
    upper, fore = np.zeros_like(drawn), np.zeros_like(drawn)
    upper[ys, xs] = u_g <= elbow + FOLD_OVERLAP * width_g
    fore[ys, xs] = u_g >= elbow - FOLD_OVERLAP * width_g
    # The upper arm's outer edge, its own (at the fold the whole limb's turns to the elbow's tip,
    # on the arm's line: the upper arm's part was laid half off the arm), runs on past the elbow
    # by the arm's radius: the sleeve's round end.
    upper_joints = np.vstack([joints[:3], joints[2] + _unit(joints[2] - joints[1]) * outer_radius])
    upper_limb = _outer_contour(upper_joints, neck, outer_radius)
    # The forearm's part is laid along the forearm alone, from the overlap before the elbow's tip
    # on: along the whole folded line, a pixel of the forearm nearer the upper arm's edge was taken
    # for a pixel outside that edge, and the forearm's part was a thin strip.
    start = elbow - FOLD_OVERLAP * width_g
    fore_limb = np.vstack([limb[2] - _unit(limb[3] - limb[2]) * FOLD_OVERLAP * width_g * along, limb[3:]])
    return [lay(upper, sleeve.axis, upper_limb), lay(fore, _from_arc(sleeve.axis, start), fore_limb, behind_until=0.0)]


def _arc_to_row(polyline: np.ndarray, row: float) -> float:
    """The arc length along ``polyline`` (running down) where it first reaches ``row``; its whole
    length when it never does."""
    s = 0.0
    for a, b in zip(polyline[:-1], polyline[1:]):
        step = float(np.linalg.norm(b - a))
        if b[1] >= row:
            return s + step * float(np.clip((row - a[1]) / max(b[1] - a[1], 1e-6), 0.0, 1.0))
        s += step
    return s


def _from_arc(polyline: np.ndarray, s: float) -> np.ndarray:
    """The polyline from arc length ``s`` on."""
    ends = np.cumsum(np.linalg.norm(np.diff(polyline, axis=0), axis=1))
    i = min(int(np.searchsorted(ends, s)), len(ends) - 1)
    start = polyline_points(polyline, np.array([s]), np.array([0.0]))[0]
    return np.vstack([start, polyline[i + 1:]])


#: A sleeve's outer edge stands off the upper arm at most this far (a share of the shoulder joints'
#: distance) where the photo's silhouette reaches farther out: beyond it, what the silhouette shows
#: beside the arm is rarely the arm (hair down the shoulder, a jacket, the other arm). On the
#: tuning half it reaches 0.05-0.2 (median about 0.15), more only in those cases.
SLEEVE_REACH_MAX = 0.2
#: Where along the upper arm (shares of the way from the shoulder joint to the elbow) its outer
#: reach is measured: below the shoulder's round, above the elbow's.
REACH_ALONG = (0.3, 0.8)


def _outer_reach(silhouette: np.ndarray, shoulder: np.ndarray, elbow: np.ndarray, neck: np.ndarray,
                 most: float) -> float:
    """How far the silhouette reaches out from the upper arm's joint line on the side away from
    the neck (the median over points along REACH_ALONG of the upper arm), at most ``most`` pixels."""
    d = _unit(elbow - shoulder)
    n = np.array([-d[1], d[0]])
    if n @ (shoulder - neck) < 0:
        n = -n
    starts = shoulder + np.linspace(*REACH_ALONG, 6)[:, None] * (elbow - shoulder)
    steps = np.arange(int(most) + 1)
    pts = starts[:, None, :] + steps[None, :, None] * n
    on = mask_at(silhouette, pts.reshape(-1, 2))[1].reshape(pts.shape[:2])
    # The first step off the silhouette; all steps on it: as far as allowed.
    reach = np.where(on.all(axis=1), steps[-1], np.argmin(on, axis=1))
    return float(np.median(reach))


#: A tube sleeve's width seen from the front, as a share of its flat width (scaled to the person):
#: laid flat, a tube's width is half its round; seen, its diameter (2 / pi of that).
SLEEVE_ROUND = 2 / np.pi
#: How far out from the arm's joints a short sleeve's outer edge lies, as a share of the shoulder
#: joints' distance: its opening stands off the upper arm. (Laid round the arm like a long one,
#: a T-shirt's sleeve read as tight, and the arm under it showed beside it.)
SHORT_SLEEVE_STANDOFF = 0.16


#: The upper arm's and the forearm's parts of a sleeve laid apart on a folded arm overlap by this
#: share of the sleeve's width (along the garment's sleeve), so no gap opens at the elbow.
FOLD_OVERLAP = 0.25


def _folded(three: np.ndarray) -> bool:
    """Whether a polyline of three points turns back at the middle one (see FOLD_NORMAL)."""
    a, b = _unit(three[1] - three[0]), _unit(three[2] - three[1])
    return _bisector(np.array([-a[1], a[0]]), np.array([-b[1], b[0]])) is None


def _bisector(n_in: np.ndarray, n_out: np.ndarray) -> np.ndarray | None:
    """The unit direction between two segments' normals (on one side) at their joint, or None
    where they face each other: the limb is folded there (FOLD_NORMAL)."""
    n = n_in + n_out
    return None if np.linalg.norm(n) < FOLD_NORMAL else _unit(n)


def _grown_into(part: np.ndarray, other: np.ndarray, px: int) -> np.ndarray:
    """``part`` grown by ``px`` pixels into ``other`` (another part of the same garment)."""
    ys, xs = np.nonzero(part.any(axis=1))[0], np.nonzero(part.any(axis=0))[0]
    if not len(ys):
        return part
    box = (slice(max(0, ys[0] - px - 1), ys[-1] + px + 2), slice(max(0, xs[0] - px - 1), xs[-1] + px + 2))
    out = part.copy()
    near = cv2.distanceTransform((~part[box]).astype(np.uint8), cv2.DIST_L2, 3) <= px
    out[box] |= near & other[box]
    return out


def _outer_contour(limb: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """The limb's polyline moved by ``radius`` to its outer side; the first point, where the
    sleeve is sewn on, stays. The outer side is the one away from ``centre`` (the body's middle)
    where the limb starts, and the same side of the way along after that: an arm folded back up
    (a hand raised to the face) has its forearm's outer side toward the body. (Chosen away from
    the body at every point, the forearm's sleeve was laid outside the forearm, a loop beside
    it.) At a joint the offset runs between the two segments' outer sides; at a fold, where they
    face each other, on past the joint (the elbow's tip)."""
    out = limb.copy()
    if len(limb) < 2:
        return out
    d = np.array([_unit(b - a) for a, b in zip(limb, limb[1:])])
    normals = np.c_[-d[:, 1], d[:, 0]]
    if normals[0] @ (limb[1] - centre) < 0:
        normals = -normals
    for i in range(1, len(limb)):
        if i == len(limb) - 1:
            out[i] = limb[i] + normals[-1] * radius
            continue
        n = _bisector(normals[i - 1], normals[i])
        if n is None:
            out[i] = limb[i] + d[i - 1] * radius
            continue
        # The two sides' offset lines meet this far out along the bisector (a mitre, at most
        # twice the radius): at the radius only, the outer line cut inside the arm's round at the
        # elbow, and a strip of the arm drawn under the sleeve showed there.
        out[i] = limb[i] + n * radius / max(float(n @ normals[i - 1]), 0.5)
    return out


#: Two segments' outer sides that add up to less than this (unit normals; 0.5 at a bend of
#: about 150 degrees) face each other: the limb is folded, and the joint's outer point is its tip.
FOLD_NORMAL = 0.5


#: How far above the hip joints a lower garment's waistband sits by default, as a share of the
#: torso's length (the person's own waist, where the photo shows it, may raise it: :class:`Body`).
WAISTBAND_LIFT = 0.08
#: Full-length trousers end at the feet, not beyond them and not above them. A leg at least
#: FULL_LENGTH_LEG times the waistband's width from the crotch to the hem is cut for the feet
#: (full-length trousers measure 1.8 to 2.7 flat on the evalset's tuning half, its shorts 0.5;
#: capris, by their usual measures, about 1.3). It is laid along the person's leg down to
#: HEM_BELOW_ANKLE of the shin below the ankle joint (about the top of the heel; the shoe hides
#: the rest): up to HEM_SQUEEZE shorter than the waist's scale makes it (its hem band kept; a
#: pattern a tenth or so shorter reads as the same pattern), what still reaches below the feet
#: cut off (the break of the trousers, worn over the shoes); or up to HEM_STRETCH longer. The
#: waist's scale alone left them ending at the calf on a slim person or one turned aside, whose
#: hips look narrow for their legs. Shorter legs (cropped trousers, shorts) keep their length at
#: the waist's scale.
FULL_LENGTH_LEG = 1.5
HEM_BELOW_ANKLE = 0.12
HEM_SQUEEZE = 0.85
HEM_STRETCH = 1.6


def fit_bottom(g: GarmentAnalysis, body: Body, size: tuple[int, int]) -> list[Layer]:
    """Trousers along the legs; skirts on the hips."""
    kp = body.kp
    _require(kp, (J.R_HIP, J.L_HIP), "hips")
    pts = g.landmarks.points
    mask = g.mask > 0
    wl, wr = np.array(pts["waist_left"], float), np.array(pts["waist_right"], float)
    left, right = body.side_joints((J.R_HIP, J.L_HIP))
    hl, hr = kp.xy[left.leg[0]].astype(float), kp.xy[right.leg[0]].astype(float)
    torso = kp.torso_length() or 2.0 * float(np.linalg.norm(hr - hl))
    up = -_unit(kp.xy[J.MID_HIP] - kp.xy[J.NECK]) if kp.seen(J.NECK) and kp.seen(J.MID_HIP) else np.array([0.0, -1.0])
    # The waistband sits a little above the hip joints and spans the hips' outer edges; higher
    # where the person wears their trousers or skirt higher (else a bare band shows under the top).
    lift = up * WAISTBAND_LIFT * torso
    tl, tr = hl + (hl - hr) * 0.35 + lift, hr + (hr - hl) * 0.35 + lift
    if body.waist is not None and up[1] < -0.5:
        raise_by = max(0.0, min(tl[1], tr[1]) - body.waist) / -up[1]
        tl, tr = tl + up * raise_by, tr + up * raise_by
    down_p = -up
    frame = _frame(wl, wr, tl, tr, down_p)
    scale = frame.scale

    need = body_half_widths(kp, frame.origin_p, down_p)
    waist_g = float(np.linalg.norm(wr - wl))
    crotch = pts.get("crotch")
    if crotch is not None:
        # Above the crotch the trousers move with the hips as one piece; below it each leg is
        # laid along its own leg, starting where the pelvis piece put it.
        cx, cy = float(crotch[0]), float(crotch[1])
        rows = np.arange(mask.shape[0])[:, None]
        cols = np.arange(mask.shape[1])[None, :]
        overlap = 0.03 * (cy - wl[1])
        layers = [body_layer("pelvis", g.image, mask & (rows < cy + overlap), frame, need, size)]
        for name, half, side in (("leg-left", mask & (cols < cx) & (rows >= cy - overlap), left),
                                 ("leg-right", mask & (cols >= cx) & (rows >= cy - overlap), right)):
            # Each leg's own hem: a tie or a frayed strand hanging below the other leg's must not
            # leave this one without a bottom row.
            ys = np.nonzero(half.any(axis=1))[0]
            if not len(ys):
                continue
            hem = float(ys.max()) - 0.01 * (ys.max() - ys.min())
            top_e, bottom_e = _edges(half, cy + 2), _edges(half, hem - 2)
            if top_e is None or bottom_e is None:
                continue
            top_g = np.array([(top_e[0] + top_e[1]) / 2, cy])
            bottom_g = np.array([(bottom_e[0] + bottom_e[1]) / 2, hem])
            start = frame.to_person(top_g)
            limb = body.leg(side, start, extend=0.25)
            if limb is None:
                raise PoseError("the person's knees must be visible to dress them in trousers")
            width_g = top_e[1] - top_e[0]
            reach = 0.9 * width_g * scale
            along, half = _to_the_feet(limb, half, (top_g, bottom_g), scale, waist_g)
            layers.append(limb_layer(name, g.image, half, (top_g, bottom_g), limb, along, reach, size,
                                     across_scale=scale))
        return layers

    # Skirt: row by row from the waist, at least as wide as the hips and the legs below them.
    return [body_layer("skirt", g.image, mask, frame, need, size)]


def _to_the_feet(limb: np.ndarray, leg: np.ndarray, axis_g: tuple[np.ndarray, np.ndarray],
                 scale: float, waist_g: float) -> tuple[float, np.ndarray]:
    """The scale along the leg and the part of the garment's ``leg`` to lay along ``limb`` (start,
    knee, ankle, past it: :meth:`Body.leg`) so that a full-length leg's hem ends at the feet
    (FULL_LENGTH_LEG, HEM_BELOW_ANKLE, HEM_SQUEEZE, HEM_STRETCH); shorter legs no longer than
    the waist's scale makes them."""
    length_g = float(np.linalg.norm(axis_g[1] - axis_g[0]))
    if length_g < 1.0:
        return scale, leg
    floor = _length(limb[:3]) + HEM_BELOW_ANKLE * float(np.linalg.norm(limb[2] - limb[1]))
    stretch = HEM_STRETCH if length_g >= FULL_LENGTH_LEG * waist_g else 1.0
    along = float(np.clip(floor / length_g, HEM_SQUEEZE * scale, stretch * scale))
    if length_g * along <= floor:
        return along, leg
    # Cut square to the leg's axis where the squeezed leg reaches the feet.
    d = (axis_g[1] - axis_g[0]) / length_g
    rows, cols = np.ogrid[:leg.shape[0], :leg.shape[1]]
    reach_g = (cols - axis_g[0][0]) * d[0] + (rows - axis_g[0][1]) * d[1]
    return along, leg & (reach_g <= floor / along)


def fit_garment(g: GarmentAnalysis, body: Body, size: tuple[int, int]) -> list[Layer]:
    """The garment's parts moved onto the body, in the order they are drawn (back to front)."""
    if g.category in (Category.LOWER, Category.DRESS):
        _require_standing(body.kp)
    # Outline colours are drawn from the garment's inside (no backdrop halo on the person).
    rim = max(1, round(0.004 * g.image.shape[0]))
    g = replace(g, image=decontaminate(g.image, g.mask > 0, rim))
    return in_depth_order(fit_bottom(g, body, size) if g.category == Category.LOWER else fit_top(g, body, size))


def flatten(layers: list[Layer]) -> tuple[np.ndarray, np.ndarray]:
    """All parts over each other, back to front: (rgb uint8, alpha float32), for inspection."""
    h, w = layers[0].alpha.shape
    rgb = np.zeros((h, w, 3), np.uint8)
    alpha = np.zeros((h, w), np.float32)
    for layer in layers:
        on = layer.alpha > 0.01
        ys = np.flatnonzero(on.any(axis=1))
        if len(ys) == 0:
            continue
        xs = np.flatnonzero(on.any(axis=0))
        box = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
        a = layer.alpha[box][..., None]
        rgb[box] = (layer.rgb[box].astype(np.float32) * a + rgb[box] * (1 - a) + 0.5).astype(np.uint8)
        alpha[box] = layer.alpha[box] + alpha[box] * (1 - layer.alpha[box])
    return rgb, alpha

