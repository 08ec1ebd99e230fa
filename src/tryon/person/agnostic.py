"""Cloth-agnostic masks: the region a try-on regenerates, per garment category.

Following the VITON-HD / DressCode conventions, the mask covers the worn garment of that category
plus the body parts the new garment may cover (arms for tops, legs for bottoms), drawn from the
keypoints so that sleeves and legs of any length can be generated, and protects the face, hair,
hands, shoes and the garments of the other category. Unlike masks that only follow the current
outfit, it can be extended to the target garment's length so a longer garment fits.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.category import Category
from tryon.person.keypoints import FOREARMS, L_ARM, L_LEG, R_ARM, R_LEG, Keypoints
from tryon.person.keypoints import Joint as J
from tryon.person.parsing import ARMS, LEGS, LOWER_GARMENT, SHOES, UPPER_GARMENT, Label, of_labels


def _draw_chain(canvas: np.ndarray, kp: Keypoints, joints: tuple[int, ...], thickness: int) -> None:
    pts = [kp.point(j) for j in joints]
    for a, b in zip(pts, pts[1:]):
        if a is None or b is None:
            return
        cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), 1, thickness)


def _fill(canvas: np.ndarray, pts: list[np.ndarray | None]) -> None:
    if all(p is not None for p in pts):
        cv2.fillPoly(canvas, [np.round(np.array(pts)).astype(np.int32)], 1)


def _hands(parse: np.ndarray, kp: Keypoints) -> np.ndarray:
    """Arm-skin pixels around each hand: kept from the photo, as try-on masks do."""
    out = np.zeros(parse.shape, np.uint8)
    for elbow, wrist in FOREARMS:
        e, w = kp.point(elbow), kp.point(wrist)
        if e is None or w is None:
            continue
        forearm = float(np.linalg.norm(w - e))
        centre = w + 0.35 * (w - e)
        cv2.circle(out, tuple(int(v) for v in centre), int(0.42 * forearm), 1, -1)
    return out.astype(bool) & of_labels(parse, ARMS)


def _head(parse: np.ndarray) -> np.ndarray:
    """Everything beside the face and hair above the chin: the mask's margin must not eat into it
    (but for the garment on the neck's way up to the chin: :func:`protected`)."""
    out = np.zeros(parse.shape, bool)
    face_rows = np.nonzero((parse == Label.FACE).any(axis=1))[0]
    if len(face_rows) == 0:
        return out
    chin = int(face_rows.max())
    head = of_labels(parse, (Label.FACE, Label.HAIR))[: chin]
    cols = np.nonzero(head.any(axis=0))[0]
    if len(cols):
        out[: chin, cols.min(): cols.max() + 1] = True
    return out & (parse != Label.NECK)


#: Hair that ends above this share of the way down the face (from the face's top to its lowest
#: pixel) is short. The tuning half's short-haired persons' hair ends at 0.30-0.72 of it, that
#: of those whose hair reaches the jaw or lower (an afro, hair to the chin) at 0.89 and more.
SHORT_HAIR_END = 0.8
#: A collar beside the jaw is joined to the garment below by at least this share of the face's
#: width: an ear the parse took for garment (a head tilted) hangs on by a thin strip.
COLLAR_MIN_WIDTH = 0.15


def _short_haired_collar(parse: np.ndarray) -> np.ndarray:
    """The garment under the jaw, and beside it below the face's outermost columns' lowest
    pixels, joined to the garment below the chin, when the hair is short
    (:data:`SHORT_HAIR_END`; a mask): a collar. Beside a head turned or tilted the collar rises
    above the chin's row, into the head's box; kept, it stood as a dark wedge beside the new
    neck. Beside hair that falls to the jaw such garment is often the hair's own edge, and on
    its own (not joined to the garment below) an earring: both stay."""
    face = parse == Label.FACE
    rows = np.flatnonzero(face.any(axis=1))
    hair = np.flatnonzero((parse == Label.HAIR).any(axis=1))
    if not len(rows) or (len(hair) and hair[-1] > rows[0] + SHORT_HAIR_END * (rows[-1] - rows[0])):
        return np.zeros(parse.shape, bool)
    cols = np.flatnonzero(face.any(axis=0))
    k = max(3, int(COLLAR_MIN_WIDTH * (cols[-1] - cols[0] + 1))) | 1
    # Only the head's box matters (rows above the chin), and a band below it to join: cut out
    # so, the opening with a disc of 0.15 face widths costs under a millisecond.
    head = np.flatnonzero(of_labels(parse, (Label.FACE, Label.HAIR))[: rows[-1] + 1].any(axis=0))
    x0, x1 = max(0, head[0] - 2 * k), min(parse.shape[1], head[-1] + 2 * k + 1)
    y1 = min(parse.shape[0], rows[-1] + 2 * k + 1)
    garment = of_labels(parse[:y1, x0:x1], UPPER_GARMENT) & _under_jaw(face[:y1, x0:x1], beside=True)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    solid = cv2.morphologyEx(garment.astype(np.uint8), cv2.MORPH_OPEN, disc)
    _, comp = cv2.connectedComponents(solid, connectivity=8)
    below = np.unique(comp[rows[-1] + 1:][solid[rows[-1] + 1:] > 0])
    joined = np.isin(comp, below[below > 0]).astype(np.uint8)
    out = np.zeros(parse.shape, bool)
    out[:y1, x0:x1] = garment & (cv2.dilate(joined, disc) > 0)
    return out


#: The neck's width, as a share of the shoulder joints' distance (the warp engine draws it so).
NECK_WIDTH = 0.3


def neck_top(chin: np.ndarray, width: float) -> np.ndarray:
    """The top end (x, y) of the neck's axis under a ``chin`` point (:func:`chin_point`): half the
    neck's ``width`` above it, so that the neck reaches the chin's height across its whole width.
    Ended at the chin, its round end left out the corners under the jaw: the old collar was kept
    there, and the face ended on a straight line at the chin's height above a narrower neck."""
    return np.asarray(chin, np.float64) - np.array([0.0, width / 2])


def jaw_rows(face: np.ndarray) -> np.ndarray:
    """The lowest row of the ``face`` mask in each column (the last row where a column has none)."""
    return face.shape[0] - 1 - np.argmax(face[::-1], axis=0)


def _under_jaw(face: np.ndarray, beside: bool = False) -> np.ndarray:
    """Below the ``face`` mask's lowest pixel in each of its columns (a mask). Beside the face,
    none; or, with ``beside``, below the lowest pixel of its nearest column."""
    rows = jaw_rows(face)
    cols = np.flatnonzero(face.any(axis=0))
    if beside and len(cols):
        rows = rows[np.clip(np.arange(face.shape[1]), cols[0], cols[-1])]
    return np.arange(face.shape[0])[:, None] > rows[None, :]


def _neck(parse: np.ndarray, kp: Keypoints) -> np.ndarray:
    """The neck from under the jaw (:func:`neck_top`) down to the neck joint, :data:`NECK_WIDTH`
    across (a mask). Not above the head's lowest pixel in any column (:func:`head_skin`): what
    the parse calls garment there (a beard's shade) is the head's."""
    out = np.zeros(parse.shape, np.uint8)
    head = head_skin(parse == Label.FACE, parse == Label.NECK, kp)
    chin = chin_point(head)
    if chin is None or not (kp.seen(J.NECK) and kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return out.astype(bool)
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]))
    width = max(1, int(NECK_WIDTH * sw))
    cv2.line(out, tuple(int(v) for v in neck_top(chin, width)), tuple(int(v) for v in kp.xy[J.NECK]), 1, width)
    return (out > 0) & _under_jaw(head)


def head_skin(face: np.ndarray, neck: np.ndarray, kp: Keypoints) -> np.ndarray:
    """The skin a neck drawn from the neck joint rises to (a mask; :func:`chin_point` of it is
    where): the ``face``; or, with no face, the ``neck`` skin above the neck joint about the neck's
    axis (:data:`NECK_WIDTH` across).

    A head cut off by the frame above the nose (a shop's crop at the mouth) has no eyes for the
    face detectors, and the parse calls the skin it shows neck: without this the engine drew no
    neck, and the chin floated over the backdrop above the new garment. That skin's lowest point is
    the chin under a collar, or the neck's own end at a lower neckline; a neck drawn up to either
    meets the photo's skin."""
    if face.any() or not (kp.seen(J.NECK) and kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)):
        return face
    sw = float(np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]))
    x, y = kp.xy[J.NECK]
    out = np.zeros(neck.shape, bool)
    x0, x1 = max(0, int(x - NECK_WIDTH * sw / 2)), max(0, int(x + NECK_WIDTH * sw / 2) + 1)
    out[: max(0, int(y)), x0:x1] = neck[: max(0, int(y)), x0:x1]
    return out


def chin_point(face: np.ndarray) -> np.ndarray | None:
    """The bottom of the ``face`` the photo shows (a mask), as (x, y): the middle of its lowest tenth."""
    rows = np.flatnonzero(face.any(axis=1))
    if len(rows) < 10:
        return None
    low = face[rows[-1] - max(1, (rows[-1] - rows[0]) // 10): rows[-1] + 1]
    return np.array([float(np.nonzero(low)[1].mean()), float(rows[-1])])


#: Where a dress worn now is cut into a top and a skirt: this share of the neck-to-mid-hip drop
#: above the mid-hip (about the natural waist).
WAIST_ABOVE_HIP = 0.15


def skirt_of_dress(parse: np.ndarray, kp: Keypoints) -> np.ndarray:
    """The part of a dress worn now below the waist (bool): a skirt to a new top, the part a new
    bottom replaces. Without the neck and mid-hip, none."""
    out = np.zeros(parse.shape, bool)
    if kp.seen(J.MID_HIP) and kp.seen(J.NECK):
        waist = int(max(0, kp.xy[J.MID_HIP][1] - WAIST_ABOVE_HIP * (kp.xy[J.MID_HIP][1] - kp.xy[J.NECK][1])))
        out[waist:] = parse[waist:] == Label.DRESS
    return out


#: The highest a lower garment worn now may start to count as where the person wears their waist:
#: this share of the neck-to-mid-hip drop above the mid-hip (a high waist; anything higher is a
#: parse that took part of the top for trousers).
HIGHEST_WAIST = 0.35


def worn_waist(parse: np.ndarray, kp: Keypoints) -> float | None:
    """The height (y) of the top of the trousers or skirt the person wears now (or of the skirt of
    their dress), between the hips: where a new lower garment's waistband belongs (trousers worn at
    the waist leave no bare band under the top). None without trousers, skirt or dress, hips or
    neck, or above :data:`HIGHEST_WAIST`."""
    if not (kp.seen(J.R_HIP) and kp.seen(J.L_HIP) and kp.seen(J.NECK) and kp.seen(J.MID_HIP)):
        return None
    lo, hi = sorted((max(int(kp.xy[J.R_HIP][0]), 0), max(int(kp.xy[J.L_HIP][0]), 0)))
    worn = (of_labels(parse, LOWER_GARMENT) | skirt_of_dress(parse, kp))[:, lo:hi + 1]
    cols = worn.any(axis=0)
    if cols.sum() < max(3, 0.5 * (hi - lo)):
        return None
    top = float(np.median(np.argmax(worn[:, cols], axis=0)))
    highest = kp.xy[J.MID_HIP][1] - HIGHEST_WAIST * (kp.xy[J.MID_HIP][1] - kp.xy[J.NECK][1])
    return top if top >= highest else None


def agnostic_mask(parse: np.ndarray, keypoints: Keypoints, category: Category | str,
                  length: float | None = None) -> np.ndarray:
    """Region to regenerate (uint8, 255 = regenerate) for a garment of ``category``.

    ``length`` is where the new garment ends, when known: for upper garments a fraction of the
    neck-to-mid-hip length (1.0 = at the hips, 1.3 = a long top), for lower garments and dresses a
    fraction of the hip-to-ankle length (0.5 = about the knee, 1.0 = the ankle). The mask then
    reaches that far even if the garment worn now is shorter.
    """
    category = Category.parse(category)
    h, w = parse.shape
    kp = keypoints
    shoulders = kp.seen(J.R_SHOULDER) and kp.seen(J.L_SHOULDER)
    sw = np.linalg.norm(kp.xy[J.R_SHOULDER] - kp.xy[J.L_SHOULDER]) if shoulders else 0.2 * w
    thick = max(3, int(0.22 * sw))
    region = np.zeros((h, w), np.uint8)
    upper = category in (Category.UPPER, Category.DRESS)
    lower = category in (Category.LOWER, Category.DRESS)

    if upper:
        region |= of_labels(parse, UPPER_GARMENT + ARMS + (Label.NECK,)).astype(np.uint8)
        if category == Category.UPPER:  # a dress worn now keeps its skirt under a new top
            region[skirt_of_dress(parse, kp)] = 0
        _draw_chain(region, kp, R_ARM, thick)
        _draw_chain(region, kp, L_ARM, thick)
        _fill(region, [kp.point(J.R_SHOULDER), kp.point(J.L_SHOULDER), kp.point(J.L_HIP), kp.point(J.R_HIP)])
        if length is not None and kp.seen(J.NECK) and kp.seen(J.MID_HIP):
            hem = kp.xy[J.NECK] + (kp.xy[J.MID_HIP] - kp.xy[J.NECK]) * length
            _fill(region, [kp.point(J.R_SHOULDER), kp.point(J.L_SHOULDER),
                           np.array([kp.xy[J.L_SHOULDER][0] + 0.1 * sw, hem[1]]),
                           np.array([kp.xy[J.R_SHOULDER][0] - 0.1 * sw, hem[1]])])
    if lower:
        region |= of_labels(parse, LOWER_GARMENT + LEGS).astype(np.uint8)
        region[skirt_of_dress(parse, kp)] = 1  # a dress worn now: its skirt part
        _draw_chain(region, kp, R_LEG, thick)
        _draw_chain(region, kp, L_LEG, thick)
        _fill(region, [kp.point(J.R_HIP), kp.point(J.L_HIP), kp.point(J.L_KNEE), kp.point(J.R_KNEE)])
        if length is not None and kp.seen(J.R_HIP) and kp.seen(J.L_HIP):
            ankle_y = max((kp.xy[j][1] for j in (J.R_ANKLE, J.L_ANKLE) if kp.seen(j)), default=h - 1)
            hip_y = float(kp.xy[J.MID_HIP][1]) if kp.seen(J.MID_HIP) else float(kp.xy[J.R_HIP][1])
            hem_y = hip_y + (ankle_y - hip_y) * length
            flare = 0.15 * sw + 0.25 * sw * max(0.0, length - 0.4)
            _fill(region, [kp.point(J.R_HIP), kp.point(J.L_HIP), np.array([kp.xy[J.L_HIP][0] + flare, hem_y]),
                           np.array([kp.xy[J.R_HIP][0] - flare, hem_y])])

    # A margin so the old garment's outline does not survive at the mask's edge and a looser or
    # wider garment has room (published try-on masks are similarly generous).
    grow = max(3, int(0.1 * sw))
    # A disc dilation as a distance threshold: a wide elliptical kernel costs ten times as much.
    region = (cv2.distanceTransform((region == 0).astype(np.uint8), cv2.DIST_L2, 5) <= grow).astype(np.uint8)
    region[protected(parse, kp, category)] = 0
    return (region > 0).astype(np.uint8) * 255


def protected(parse: np.ndarray, keypoints: Keypoints, category: Category | str, over: bool = False) -> np.ndarray:
    """What a try-on of ``category`` must leave as it is: face, hair, head, hands, shoes, and the
    garments and limbs of the other category. ``over``: what a new garment may not cover where it
    reaches past the region (a top is worn over the trousers: it may cover them and the legs;
    trousers are worn over the shoes' tops and a sandal's straps, down to their hem at the heel;
    a gown down to the floor over the shoes likewise: kept over it, ankle boots stood on its skirt
    as if pasted there)."""
    category = Category.parse(category)
    protect = of_labels(parse, (Label.FACE, Label.HAIR, Label.HAT, Label.SUNGLASSES))
    if not (category in (Category.LOWER, Category.DRESS) and over):
        protect |= of_labels(parse, SHOES)
    # Beside the face the head's box is kept, but for a collar on the neck's way up to the chin:
    # kept, the new neck stopped at the chin's height under a straight line.
    collar = (_neck(parse, keypoints) & of_labels(parse, UPPER_GARMENT)) | _short_haired_collar(parse)
    protect |= _hands(parse, keypoints) | (_head(parse) & ~collar)
    if category == Category.UPPER and not over:
        protect |= of_labels(parse, LOWER_GARMENT + LEGS) | skirt_of_dress(parse, keypoints)
    if category == Category.LOWER:
        # A dress worn now keeps its bodice over new trousers or a skirt: the mask's margin would
        # otherwise eat its last rows, and skin was drawn in the band between it and the waistband.
        bodice = (parse == Label.DRESS) & ~skirt_of_dress(parse, keypoints)
        protect |= of_labels(parse, (Label.UPPER_CLOTHES, Label.COAT) + ARMS) | bodice
    return protect
