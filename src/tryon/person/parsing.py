"""Human parsing in the LIP / VITON-HD ``image-parse-v3`` 20-label convention.

No registry package ships a human parser with clothing classes, so :class:`GeometricParser`
builds the label map from what does ship: the person mask, the pose keypoints, the face outline,
and colour models learned on the photo itself (skin from the face, hair from above the face,
upper and lower garments from seeds placed by the skeleton). Any object with the
:class:`Parser` call signature can replace it, e.g. a learned parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import cv2
import numpy as np

from tryon.person.backdrop import BackdropParams, backdrop_rim, mixed_rim
from tryon.person.face import Face
from tryon.person.hems import HemParams, lab_gradients, skin_coloured_lower
from tryon.person.keypoints import FOREARMS, L_ARM, L_LEG, R_ARM, R_LEG, Keypoints
from tryon.person.keypoints import Joint as J
from tryon.person.segmentation import components_in, components_touching, largest_components
from tryon.person.waistline import WaistlineParams, waistline


class Label(IntEnum):
    BACKGROUND = 0
    HAT = 1
    HAIR = 2
    GLOVE = 3
    SUNGLASSES = 4
    UPPER_CLOTHES = 5
    DRESS = 6
    COAT = 7
    SOCKS = 8
    PANTS = 9
    NECK = 10  # neck and torso skin
    SCARF = 11
    SKIRT = 12
    FACE = 13
    LEFT_ARM = 14
    RIGHT_ARM = 15
    LEFT_LEG = 16
    RIGHT_LEG = 17
    LEFT_SHOE = 18
    RIGHT_SHOE = 19


UPPER_GARMENT = (Label.UPPER_CLOTHES, Label.DRESS, Label.COAT)
LOWER_GARMENT = (Label.PANTS, Label.SKIRT)
ARMS = (Label.LEFT_ARM, Label.RIGHT_ARM)
LEGS = (Label.LEFT_LEG, Label.RIGHT_LEG)
SHOES = (Label.LEFT_SHOE, Label.RIGHT_SHOE)
SKIN_LABELS = (Label.FACE, Label.NECK) + ARMS + LEGS


def of_labels(parse: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """Where a label map holds any of ``labels``, by a 256-entry table lookup (``np.isin``
    sorts and takes twenty times as long on a photo; the engine asks this many times a try-on)."""
    table = np.zeros(256, np.uint8)
    table[np.asarray(labels, int)] = 1
    return cv2.LUT(np.ascontiguousarray(parse, np.uint8), table).view(bool)


#: RGB colours for pictures of a label map (the palette commonly used for LIP).
PALETTE = np.array([
    (0, 0, 0), (128, 0, 0), (254, 0, 0), (0, 85, 0), (169, 0, 51), (254, 85, 0), (0, 0, 85),
    (0, 119, 221), (85, 85, 0), (0, 85, 85), (85, 51, 0), (52, 86, 128), (0, 128, 0), (0, 0, 254),
    (51, 169, 220), (0, 254, 254), (85, 254, 169), (169, 254, 85), (254, 254, 0), (254, 169, 0),
], np.uint8)


class Parser(Protocol):
    """Anything that turns a photo and its analysis into a (H, W) uint8 LIP label map."""

    def __call__(self, image: np.ndarray, person: np.ndarray, keypoints: Keypoints,
                 face: Face | None) -> np.ndarray: ...


# ---------------------------------------------------------------------------------------------
# small geometric helpers


#: Skin chroma to fall back on when the photo shows neither face nor hands (OpenCV Lab, a and b
#: offset by 128): light to dark skin.
PRIOR_SKIN = np.array([[160, 145, 140], [120, 150, 145], [200, 140, 135], [90, 148, 150]], np.float32)


def lightness_spread(grey: np.ndarray, window: int) -> np.ndarray:
    """The standard deviation of ``grey`` (float32 lightness) over a ``window``-pixel square around
    each pixel: low on smooth skin, high on a pattern or an edge."""
    win = (window, window)
    return np.sqrt(np.maximum(cv2.blur(grey * grey, win) - cv2.blur(grey, win) ** 2, 0.0))


def fine_grain(image: np.ndarray, size: tuple[int, int], p: SkinParams) -> np.ndarray:
    """The photo's fine grain (float32, ``size`` = (w, h), the working resolution): the lightness
    spread over ``p.fine_window`` pixels of the photo itself, averaged down to ``size`` and over
    ``p.fine_blur`` working pixels.

    Bare skin on the tuning half's photos taller than the working height measures 2.8 grey
    levels in the median photo and 10.2 in the grainiest (each photo's median over the parse's
    arms, legs and neck), but hands, outlines and jewellery reach far higher: ``max_fine_std`` is
    the lowest that leaves the tuning half's reference arm maps as they were (15 cost 0.04 arms
    IoU there, 20 cost 0.01). Printed fabric of skin's mean colour whose pattern the working
    resolution blurs away measures more (a beige houndstooth dress of the checking half: 30 and up).
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(lightness_spread(grey, p.fine_window), size, interpolation=cv2.INTER_AREA)
    return cv2.blur(small, (p.fine_blur, p.fine_blur))


def _strands(img: np.ndarray, fg: np.ndarray, p: "HairParams") -> np.ndarray:
    """Where the photo (RGB, working resolution) shows strands of hair (bool): see
    ``HairParams.strand_coherence``."""
    grey = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), p.strand_grain)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    jxx = cv2.GaussianBlur(gx * gx, (0, 0), p.strand_window)
    jyy = cv2.GaussianBlur(gy * gy, (0, 0), p.strand_window)
    jxy = cv2.GaussianBlur(gx * gy, (0, 0), p.strand_window)
    total = np.maximum(jxx + jyy, 1e-3)
    coherent = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / total > p.strand_coherence
    down = (jxx - jyy) / total > p.strand_vertical  # gradients across: strands running down
    inside = cv2.erode(fg.astype(np.uint8), np.ones((2 * p.strand_inset + 1,) * 2, np.uint8)) > 0
    return coherent & down & (np.sqrt(total) > p.strand_energy) & inside


def _segments_distance(shape: tuple[int, int], segments: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Distance of every pixel to the nearest of the given line segments (inf if none)."""
    if not segments:
        return np.full(shape, np.inf, np.float32)
    canvas = np.full(shape, 255, np.uint8)
    for a, b in segments:
        cv2.line(canvas, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)), 0, 1)
    return cv2.distanceTransform(canvas, cv2.DIST_L2, 3)


def _polygon_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 1)
    return canvas.astype(bool)


def _colour_stats(samples: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Robust mean and inverse covariance of Lab samples (with more than ten, the fifth furthest
    from their median left out), with a floor on each spread."""
    med = np.median(samples, axis=0)
    d = np.linalg.norm(samples - med, axis=1)
    keep = samples[d <= np.percentile(d, 80)] if len(samples) > 10 else samples
    cov = np.cov(keep.T) if len(keep) > 3 else np.eye(samples.shape[1])
    cov = cov + np.eye(cov.shape[0]) * floor**2
    return keep.mean(axis=0), np.linalg.inv(cov)


def _mahalanobis2(pixels: np.ndarray, mean: np.ndarray, inv_cov: np.ndarray) -> np.ndarray:
    # Two float32 products: the three-operand einsum takes three times as long on a photo.
    d = np.asarray(pixels, np.float32) - np.asarray(mean, np.float32)
    return np.einsum("...i,...i->...", d @ inv_cov.astype(np.float32), d)


def _log_likelihood(pixels: np.ndarray, mean: np.ndarray, inv_cov: np.ndarray) -> np.ndarray:
    """Each pixel's log density under a Gaussian colour model (less the constant all share)."""
    return 0.5 * (np.log(np.linalg.det(inv_cov)) - _mahalanobis2(pixels, mean, inv_cov))


def _bhattacharyya(mean1: np.ndarray, inv1: np.ndarray, mean2: np.ndarray, inv2: np.ndarray) -> float:
    """The Bhattacharyya distance between two Gaussian colour models: 0 for the same model; a
    pixel is told to the wrong one of two equally likely models at most half of exp(-distance)
    of the time (a fifth at 1)."""
    cov1, cov2 = np.linalg.inv(inv1), np.linalg.inv(inv2)
    cov = (cov1 + cov2) / 2
    d = np.asarray(mean1, np.float64) - mean2
    return float(d @ np.linalg.solve(cov, d) / 8
                 + 0.5 * np.log(np.linalg.det(cov) / np.sqrt(np.linalg.det(cov1) * np.linalg.det(cov2))))


def _nearest_d2(pixels: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Each of ``pixels``' squared distance to the nearest of ``samples`` (both N x 3)."""
    pixels, samples = pixels.astype(np.float64), samples.astype(np.float64)
    d2 = (pixels * pixels).sum(1)[:, None] + (samples * samples).sum(1)[None] - 2.0 * pixels @ samples.T
    return d2.min(axis=1)


def _histogram(pixels: np.ndarray, bins: int = 16) -> np.ndarray:
    q = (pixels.astype(np.int32) * bins) // 256
    idx = (q[:, 0] * bins + q[:, 1]) * bins + q[:, 2]
    hist = np.bincount(idx, minlength=bins**3).astype(np.float32).reshape(bins, bins, bins)
    # Spread each count over neighbouring bins so that shading changes do not empty a bin.
    hist = cv2.GaussianBlur(hist.reshape(bins, -1), (3, 3), 0).reshape(bins, bins, bins)
    hist = cv2.GaussianBlur(hist.transpose(1, 2, 0).reshape(bins, -1), (3, 1), 0).reshape(bins, bins, bins).transpose(2, 0, 1)
    return hist.ravel() / max(hist.sum(), 1e-6)


def _lookup(hist: np.ndarray, pixels: np.ndarray, bins: int = 16) -> np.ndarray:
    q = (pixels.astype(np.int32) * bins) // 256
    return hist[(q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]]


# ---------------------------------------------------------------------------------------------
# the joints each stage reads

#: Knee and ankle of each leg.
_SHINS = (R_LEG[1:], L_LEG[1:])
#: A chroma model: the mean (Lab a, b) and inverse covariance (:func:`_colour_stats`).
_Tone = tuple[np.ndarray, np.ndarray]
#: The joints of the head a detector may see when the face is turned away or cut off.
_HEAD_JOINTS = (J.NOSE, J.R_EYE, J.L_EYE, J.R_EAR, J.L_EAR)
#: Each foot's ankle, knee, heel and big toe, the person's left first (its shoe wins an overlap).
_FEET = ((J.L_ANKLE, J.L_KNEE, J.L_HEEL, J.L_BIG_TOE), (J.R_ANKLE, J.R_KNEE, J.R_HEEL, J.R_BIG_TOE))


# ---------------------------------------------------------------------------------------------
# the parser's parameters
#
# Most sizes are shares of the body's own scale (the shoulder joints' distance, the neck-to-mid-hip
# length, the face box), so they hold at any resolution; colour distances are squared
# Mahalanobis distances in OpenCV's Lab (d2 = 9 is three spreads of the colour model). A value
# whose reason is not stated was set by hand against the evalset's reference parses.


@dataclass(frozen=True)
class BodyScaleParams:
    """The body's scale when joints are missing (every other size is a share of it)."""

    #: Shoulder joints' distance per neck-to-mid-hip length when a shoulder is not seen: the
    #: inverse of ``torso_per_shoulder``, near enough (adult proportions seen from the front).
    shoulder_per_torso: float = 0.75
    #: Neck-to-mid-hip length per shoulder joints' distance when the torso is not seen.
    torso_per_shoulder: float = 1.35
    #: Shoulder distance per width of the person mask when neither shoulders nor torso are seen:
    #: a rough guess, small as the mask's width takes in the arms and the stance.
    shoulder_per_silhouette: float = 0.25
    #: Shoulder distance (pixels) with no person mask either: only keeps later sizes positive.
    fallback_shoulder_px: float = 10.0
    #: Smallest shoulder distance and torso length (pixels): kernels and zones stay non-empty.
    min_shoulder_px: float = 4.0
    min_torso_px: float = 6.0


@dataclass(frozen=True)
class FaceRegionParams:
    """The face (label FACE) from the face outline, the face box or the head's joints."""

    #: Half height of the ellipse drawn in a face box without an outline, per box height: a
    #: little over half, so the ellipse reaches a little past the detector's box.
    box_half_height: float = 0.6
    #: Radius of the head drawn around the head joints (no face detected), per shoulder distance:
    #: a head is about 0.4 shoulder distances across.
    head_radius: float = 0.2
    #: That head's box reaches this many radii above the joints' centre and this many below: the
    #: crown is further above the eyes and ears than the chin is below them.
    head_above: float = 1.3
    head_below: float = 1.1
    #: Half height of that head's ellipse, in radii: a head is taller than wide.
    head_half_height: float = 1.2
    #: Smallest face height (pixels) any face-relative size is drawn from.
    min_height_px: float = 4.0
    #: Skin beside and above the face outline is head (forehead, ears), not neck: from this
    #: many face heights above the face box, down to this many above its bottom (the neck is
    #: below), and this many face widths to each side (the ears).
    head_skin_above: float = 0.5
    head_skin_above_chin: float = 0.1
    head_skin_side: float = 0.3


@dataclass(frozen=True)
class SkinParams:
    """Bare skin: a colour model of the face's skin (else the hands'), then of the limbs' own."""

    #: Half width of the zones along the limbs where the limbs' own skin tone applies, per
    #: shoulder distance: a bare upper arm's width with room for the joints' error (a forearm is
    #: about 0.17 across).
    limb_reach: float = 0.2
    #: The arms' zone runs on past the wrist by this share of the forearm: the hand.
    hand_extend: float = 0.4
    #: Where a hand lies, as shares of the elbow-to-wrist way (1 = the wrist): the palm and the
    #: base of the fingers.
    hand_span: tuple[float, float] = (1.0, 1.45)
    #: The distal parts, bare whenever any skin of that limb shows (sleeves and shorts end above
    #: them): the forearm from its middle on over the hand, the shin from below the knee to above
    #: the shoe (shares of the elbow-to-wrist and knee-to-ankle ways).
    forearm_span: tuple[float, float] = (0.5, 1.4)
    shin_span: tuple[float, float] = (0.2, 0.75)
    #: Fewer face skin samples than this: the face is no source (a head cut off by the frame).
    min_face_samples: int = 5
    #: Half width of the zone around a hand where its skin is sampled, per shoulder distance.
    hand_reach: float = 0.12
    #: Floor on the spread of a skin chroma model (Lab units): an evenly lit face would else
    #: accept only its own exact tone.
    chroma_floor: float = 3.0
    #: A pixel's chroma within this d2 of the model is skin (three spreads).
    skin_d2: float = 9.0
    #: Skin sampled without the face mesh (the head's region, the hands) must not be near grey (the
    #: backdrop, a cuff, a pocket): every face in the evalset has a median a of 137 or more and b
    #: of 134 or more; these leave a margin.
    sampled_min_a: int = 134
    sampled_min_b: int = 132
    #: Fewer hand pixels than this: the prior skin tones (``PRIOR_SKIN``) are the model.
    min_hand_pixels: int = 30
    #: Lightness range of skin around the samples' median: shade reaches further down than
    #: highlights up.
    darker_by: int = 75
    lighter_by: int = 50
    #: Hands, forearms and shins are lit differently from the face: a looser d2 there (five spreads).
    distal_d2: float = 25.0
    #: Skin's chroma points away from grey the way the face's does, in shade too: a pixel is skin
    #: only with at least ``warm_share`` of the face's mean chroma along that direction, scaled by
    #: its lightness over the face's (capped at 1): shade draws a colour's a and b toward grey about
    #: as it lowers L. The chroma model's ellipse is long in that direction and reached past grey:
    #: dark purple trousers beside a dark-skinned hand, a black leather jacket's cool highlights
    #: beside a pale one's were skin. Not applied when the face's chroma is under ``warm_least``
    #: from grey (a black-and-white photo has no direction).
    warm_share: float = 0.25
    warm_least: float = 4.0
    #: The limbs' own tone is learned only from more skin pixels than this on the distal parts...
    min_limb_pixels: int = 50
    #: ...and used only if it is itself within this d2 of the face's model (still a skin tone:
    #: trousers over the shins must not become "skin").
    limb_tone_d2: float = 9.0
    #: Lightness range around the limbs' median, like ``darker_by`` and ``lighter_by``; narrower,
    #: as the limbs' tone is learned on the limbs themselves.
    limb_darker_by: int = 60
    limb_lighter_by: int = 45
    #: Skin is smooth, printed fabric is not: a skin pixel is kept only with a smooth one (local
    #: lightness spread below ``max_texture_std`` over a window ``texture_window`` pixels wide)
    #: in the square ``smooth_reach`` pixels wide around it.
    texture_window: int = 5
    max_texture_std: float = 20.0
    smooth_reach: int = 5
    #: A pattern finer than the working resolution (a houndstooth, a pinstripe) is smooth there and
    #: may have skin's mean colour; at the photo's own size it is not smooth. The fine grain is the
    #: lightness spread over ``fine_window`` photo pixels, averaged over ``fine_blur`` working
    #: pixels; a skin pixel counts as smooth only below ``max_fine_std`` of it too. Set from the
    #: tuning half (photos over ``work_height``): see ``fine_grain``'s docstring for the figures.
    fine_window: int = 3
    fine_blur: int = 7
    max_fine_std: float = 25.0
    #: Opening and closing kernel (pixels) that drops specks and fills pinholes.
    clean_kernel: int = 3
    #: Skin islands smaller than this share of the person mask (at least ``min_island_px``) are
    #: specks of skin colour in a print, not skin.
    min_island_share: float = 0.0005
    min_island_px: int = 4


@dataclass(frozen=True)
class HairParams:
    """Hair: a colour model learned above the forehead, where hair can be, joined to the head.
    Sizes are in face heights (vertical) and face widths (horizontal)."""

    #: Where hair can be around the head: this far to each side of the face's middle, from this
    #: far above the face box to this far below its bottom.
    head_half_width: float = 1.15
    head_above: float = 1.0
    head_below_chin: float = 0.35
    #: And beside the neck over the shoulders (long hair): this far to each side of the face's
    #: middle but not within ``long_gap`` of it (the neck), down to this far below the shoulders.
    long_half_width: float = 1.4
    long_gap: float = 0.2
    long_below_shoulders: float = 2.5
    #: Hair that reaches the bottom of that zone may be a garment of its colour: an open dark
    #: jacket under long dark hair, its panels joined to the hair. Over its last ``end_band``
    #: face heights, the columns the hair fills are looked at in the same band just below the
    #: zone. Where in more than ``goes_on`` of them the hair's colour fills more than
    #: ``goes_on`` of that band (the garment going on down), the hair's length cannot be told
    #: from the garment's: hair stops at the shoulders' line (kept, the panels stayed as black
    #: blocks over the new top). On the tuning half one person's hair reaches the zone's bottom:
    #: the jacket's, of which 0.99 goes on.
    end_band: float = 0.3
    goes_on: float = 0.5
    #: Without a neck joint the shoulders are this far below the face box's bottom.
    neck_guess: float = 0.5
    #: Hair colour is sampled above the forehead: from this far above the face box's top to
    #: this far below it, within this far of its middle.
    sample_above: float = 0.6
    sample_below_brow: float = 0.1
    sample_half_width: float = 0.6
    #: Fewer samples than this: no hair model (no hair found).
    min_samples: int = 10
    #: Floor on the hair model's spread (Lab units): looser than skin's, hair has highlights.
    colour_floor: float = 8.0
    #: A pixel within this d2 of the hair model is hair (five spreads).
    colour_d2: float = 25.0
    #: In the head zone, non-skin pixels higher than this far below the face box's top are hair
    #: whatever their colour (highlights, grey strands): beside and above the face the person
    #: shows little else.
    crown: float = 0.5
    #: Below the chin, no hair over the chest's middle: the torso's quadrilateral shrunk by this
    #: share towards its centre.
    core_shrink: float = 0.45
    #: Where the chest's middle shows more than this many pixels that are not skin, the top's
    #: colour is learned there (a Gaussian, like the hair's). Where the two models overlap (their
    #: Bhattacharyya distance under ``same_colour_distance``: black hair on a black top) nothing
    #: tells them apart, and hair stops ``chin_margin`` below the chin. Elsewhere, lower than
    #: that, a pixel is not hair where the top's model explains it ``top_likelier`` (a log
    #: likelihood ratio) better than the hair's: the strands over a dark top are told from the
    #: top between them, and a strand's edge, mixed with the top, stays hair (taken for the top,
    #: the strands were cut square where the new top was drawn).
    #: The test was the top's median colour within d2 16 of the hair's model alone. Hair's model
    #: spreads wide in lightness (highlights, shade), so brown or blonde hair matched a black or
    #: navy top (9 of the tuning half's 22 persons with a chest) and long hair was cut off at the
    #: chin. On the tuning half: black hair on a black top measures 0.13, grey and black hair on
    #: a black leather jacket 0.55, a navy top under dark brown hair 0.88, a navy top under black
    #: hair 1.0, black tops under blonde or light brown hair 1.6-2.6.
    min_chest_pixels: int = 20
    same_colour_distance: float = 0.5
    chin_margin: float = 0.15
    top_likelier: float = 2.0
    #: Hair below the chin falls past the sides of the face. Where the hair on each side of it,
    #: from ``side_from`` face heights below the face box's top (about the eyes) down to the chin,
    #: is on average thinner than ``min_side_hair`` face widths (short hair, hair tied back),
    #: nothing lower than ``short_hair_end`` face heights below the face box's top is hair: a
    #: dark collar, headphones, a jacket joined to short hair. The tuning half's short-haired
    #: persons measure 0.00-0.08, its long-haired ones 0.14 and more. Both sides: long hair
    #: falling from behind one ear shows only on the other. Only with the face box inside the
    #: photo: a head cut off by the frame shows no sides.
    side_from: float = 0.45
    min_side_hair: float = 0.1
    #: Short hair ends by the ears' lobes. Not the chin: beside a jaw that slopes up to the ear (a
    #: head turned or tilted) a collar rises above the chin's row. On the tuning half, short
    #: hair (sideburns) reaches 0.6-0.7 face heights; what the colour model took lower was a
    #: collar (from 0.73), an earring or the shade under the jaw (0.75-1.0).
    short_hair_end: float = 0.7
    #: Below the chin hair is a solid mass: opened by a kernel of a face height over this
    #: (at least ``min_mass_kernel`` pixels), dark dots of a print are not hair.
    mass_kernel_per_face: int = 8
    min_mass_kernel: int = 3
    #: Opening kernel (pixels) for the whole hair mask: stray pixels.
    clean_kernel: int = 3
    #: Only hair touching the head's box counts: the face box widened by this many face widths
    #: to each side, reaching this far above it.
    seed_side: float = 0.2
    seed_above: float = 0.6
    #: Hair of skin's colour (blonde, light brown) is told from skin by its strands: fine texture
    #: running one way, down. A pixel is in strands where the lightness's structure tensor
    #: (gradients at ``strand_grain`` working pixels, summed over ``strand_window``) is coherent
    #: (over ``strand_coherence``), runs within about 45 degrees of the vertical (the horizontal
    #: gradients' excess over ``strand_vertical``) and is strong (gradient magnitude over
    #: ``strand_energy`` grey levels). Such pixels where hair can be, not at the person's
    #: outline (``strand_inset`` working pixels inside it), and within ``strand_d2`` of the hair's
    #: colour model (looser than ``colour_d2``: the model is learned on the crown, in shade, and
    #: the locks are lit) are hair where skin's colour model took them. Only those: strands over
    #: a garment have its colour between them, kept as hair they showed the old top (the try-on
    #: swaps it instead: ``compose._unmixed_hair``). Set on the tuning half's blonde persons.
    strand_grain: float = 0.7
    strand_window: float = 2.5
    strand_coherence: float = 0.5
    strand_vertical: float = 0.5
    strand_energy: float = 20.0
    strand_inset: int = 3
    strand_d2: float = 60.0


@dataclass(frozen=True)
class ShoeParams:
    """Shoes: garment pixels around each foot. Sizes are shares of the shin (knee to ankle)."""

    #: The shin's length per neck-to-mid-hip length when the knee is not seen.
    shin_per_torso: float = 0.5
    #: Shoe pixels lie within this distance of the ankle-to-heel and ankle-to-toe lines...
    reach: float = 0.28
    #: ...and lower than this far above the ankle.
    above_ankle: float = 0.12
    #: Above the ankle joint, pixels further than this (CIELAB distance, OpenCV's 8-bit scale)
    #: from the median colour of the shoe below it are no shoe (a trouser hem): black trousers
    #: over white trainers differ by over 200, dark grey over brown leather by 39; a boot's
    #: shaft shaded a little differs by less. Measured only when the shoe shows at least this
    #: many pixels below the ankle.
    colour_distance: float = 30.0
    min_colour_pixels: int = 20
    #: Below the ankle joint too, a long skirt's or wide trousers' hem hangs over the shoe: there a
    #: pixel is no shoe when it is nearer one of the colours of the garment just above the shoe's
    #: zone (a band ``garment_band`` high, within ``reach`` of the shin) than any of the shoe's by
    #: its toe (within ``toe_reach`` of the toe point), and the two's median colours differ by over
    #: ``colour_distance`` (black trousers over black shoes cannot be told apart). A maxi skirt's plaid hem, below
    #: FitDiT 8's ankle joints, was kept as shoes under new jeans.
    garment_band: float = 0.15
    toe_reach: float = 0.15
    #: Only a garment that covers at least this share of that band hangs down: a bare shin's
    #: rim of backdrop and shade is no garment (a sandal's straps were taken for its hem).
    hem_cover: float = 0.5
    #: The hem's pixels are closed over with a square this many working pixels wide: a plaid's
    #: dark lines, nearer a black shoe's colour, were specks of shoe left in it.
    hem_close: int = 5
    #: Up to about this many of each's pixels are its colours.
    hem_samples: int = 300
    #: A trainer's sole of the trousers' colour (navy on white) made their hem as near the shoe's
    #: colours as the garment's: FitDiT 0223's navy hem stayed as shoes, scraps at the ankles under
    #: a new dress. A pixel within ``hem_like`` (CIELAB, 8-bit) of the garment's median colour and
    #: no further than ``hem_tie`` more from the garment's colours than from the shoe's is the
    #: hem's too, but for the sole: below ``sole_height`` shins above the toe point. The navy hem's
    #: pixels lie 0-2.3 further (10th-90th percentile), a boot's grey elastic under light jeans
    #: (multimodal-garment-designer 050915) 2.3-8.4.
    hem_like: float = 20.0
    hem_tie: float = 2.5
    sole_height: float = 0.1
    #: A boot's shaft reaches past the shoe's zone (``above_ankle``), up to the knee
    #: (``shaft_reach`` shins above the ankle): the cloth of the shoe's colour (``colour_distance``)
    #: joined to it is the boot's where bare skin tops it, at least ``shaft_bare`` of the garment and
    #: skin in a band ``shaft_band`` shins high above it. Trousers of a boot's colour, which top it
    #: with more of themselves, stay trousers. Without this, FitDiT 0347's ankle boots (tuning half)
    #: were a skirt from their tops down, that a new dress redrew as skin over them.
    shaft_reach: float = 1.0
    shaft_band: float = 0.1
    shaft_bare: float = 0.5
    #: A boot's zip and highlights, too far from its colour, are closed over with a square this many
    #: working pixels wide.
    shaft_close: int = 5


@dataclass(frozen=True)
class GarmentParams:
    """The split of garment pixels into upper and lower garments: colour histograms learned on
    seeds placed by the skeleton, weighed against a prior that changes over at the hips."""

    #: The top's seed: the chest, the upper part of the shoulders-to-hips quadrilateral (this
    #: share of the way down) shrunk by ``chest_shrink`` towards its centre.
    chest_depth: float = 0.55
    chest_shrink: float = 0.15
    #: Seeds also lie within this distance (per shoulder distance) of the upper arms (the top's)
    #: and of the thighs (the bottom's).
    seed_reach: float = 0.08
    #: The thigh's seed starts this share of the way from the hip to the knee (the crotch and
    #: a top's hem are above it) and runs on this share of the way from the knee to the ankle.
    thigh_start: float = 0.3
    shin_share: float = 0.5
    #: Where the legs show cloth about the knees (from this share of the way from the hip to the
    #: knee down the shin's seed), at least ``min_seed_pixels`` of it, the bottom's seed is that
    #: cloth only: a long coat or tunic hangs over the upper thighs, and learned as the bottom's
    #: colour there it took the coat's skirt for the trousers.
    knee_seed_from: float = 0.75
    #: ... only where both knees are in the picture and that cloth is at least this share of the
    #: whole thigh seed's (a hand on the knee, the frame's edge leave a seed too small to learn from).
    knee_seed_share: float = 0.25
    #: With the bottom seeded at the knees, cloth over the thighs above the knee seed is the top's
    #: with at least this prior: a coat's skirt there is told from the trousers by its colour (the
    #: prior falling off below the hips had left it to the trousers, and a new top left the coat
    #: hanging below it); the bottom's own colour there still wins.
    coat_prior: float = 0.3
    #: ...and pieces of it there narrower than this (per shoulder distance) are the bottom's.
    coat_least_width: float = 0.2
    #: The prior's change-over from top to bottom at the hips is this soft (per neck-to-mid-hip
    #: length); a top's pieces further above the hips than that always stay the top's.
    waist_softness: float = 0.15
    #: Where the top's and the bottom's colours are alike (Bhattacharyya coefficient of their
    #: seeds' histograms above ``alike_similarity``: a navy top over dark jeans), the prior decides
    #: most of the waist, and it changes over this much higher (per neck-to-mid-hip length): at
    #: the natural waist, where high-waisted jeans begin. Cloth of the two garments' colour
    #: between there and the hips then stays the bottom's; taken for the top, it kept the old
    #: jeans' upper half above a new skirt or trousers.
    alike_similarity: float = 0.7
    alike_rise: float = 0.3
    #: Cloth within this distance (per shoulder distance) of a forearm (run on by
    #: ``forearm_extend`` of its length), nearer it than a thigh, is a sleeve at least this likely.
    sleeve_reach: float = 0.12
    forearm_extend: float = 0.15
    sleeve_prior: float = 0.8
    #: With a seed of fewer pixels no colour model is learned: the prior alone decides.
    min_seed_pixels: int = 20
    #: When the frame ends at the hips, the thighs show too little cloth to seed the bottom with:
    #: then cloth unlike the top (its colour under ``unlike_top`` times the top seed's median
    #: likelihood) lower than ``band_from`` of the way from the neck to the hips, in one piece with
    #: the frame's bottom edge and across ``band_width`` of the hips' width, seeds it (the
    #: waistband of the jeans a waist-up photo cuts off; without it they were taken for the top).
    #: Without such a band (trousers of the top's colour) the prior alone splits the cloth, along
    #: the waistline it finds near the hips: taken all for the top, black trousers under a black
    #: top were erased down to the frame.
    band_from: float = 0.6
    unlike_top: float = 0.05
    band_width: float = 0.6
    #: Likelihood added to both histograms' lookups: a colour neither seed shows is decided by the prior.
    likelihood_floor: float = 1e-5
    #: The posterior is smoothed (Gaussian sigma, as a share of the image height): garments are
    #: large regions.
    smoothing: float = 0.012
    #: Pieces of the top smaller than this share of its largest piece join the bottom, unless they
    #: lie more than ``waist_softness`` above the hips.
    min_piece_share: float = 0.15
    #: A piece of the top apart from its largest one that lies mostly out of the arms' reach and
    #: off the torso is something held (a bag hanging from a hand), which the LIP labels call
    #: background: taken for the top, a new top erased it. The reach: shoulder to elbow to wrist
    #: and ``hand_reach`` of the forearm on, or ``arm_per_torso`` neck-to-mid-hip lengths without
    #: them; the torso: the shoulder-hip quadrilateral, ``torso_margin`` shoulder distances wider
    #: and ``tunic_drop`` neck-to-mid-hip lengths longer (a tunic's hem).
    hand_reach: float = 0.3
    arm_per_torso: float = 1.1
    torso_margin: float = 0.25
    tunic_drop: float = 0.5
    #: Top and bottom alike in colour (Bhattacharyya coefficient of their histograms above this)
    #: and covering the gap between the legs: one dress.
    dress_similarity: float = 0.55


@dataclass(frozen=True)
class SkirtParams:
    """Skirt or trousers: whether the garment covers the gap between the legs."""

    #: Fewer garment rows below the hips than this: no lower garment to judge.
    min_rows: int = 4
    #: The gap is looked at from this share of the way from the hips to the knees (above it
    #: trousers close the gap too) down to the hem, ``hem_margin`` rows above it, or the knees.
    judge_from: float = 0.45
    hem_margin: int = 2
    #: A garment ending above that (a mini skirt, shorts) is judged from this share of the way
    #: from the hips to its hem.
    mini_from: float = 0.6
    #: Rows looked at, and the share of them that must be covered between the legs.
    rows: int = 8
    min_covered: float = 0.7


@dataclass(frozen=True)
class ToneParams:
    """A garment of nearly skin's colour (a blush or beige shirt, khaki shorts): the skin model
    takes its shaded sides, whose chroma the face's spread reaches, while its lit front stays
    garment. Skin pixels nearer in chroma to the garment's own colour (learned on a core of the
    body part it covers, where it is not skin) than to the skin's are the garment's. The top's
    core is the torso's, the lower garment's the hips-to-knees quadrilateral."""

    #: The core, where the garment's colour is learned: its corners moved this share of the
    #: way to its centre.
    core_shrink: float = 0.35
    #: The garment is learned only where this share of the core at least is not skin (a bare chest
    #: or bare thighs are no garment).
    min_core_share: float = 0.3
    #: Only a plain garment: the spread of its chroma (Lab units, robust standard deviation, either
    #: channel) stays below this. A print's broad model would claim skin of any tone.
    max_spread: float = 4.0
    #: Floor on the garment's chroma spread, like ``SkinParams.chroma_floor``.
    chroma_floor: float = 3.0
    #: A skin pixel is the garment's within this d2 of its model...
    garment_d2: float = 9.0
    #: ...and only if its d2 to the skin's model is this many times larger still (where the two
    #: models overlap, it stays skin).
    closer_by: float = 2.0
    #: The same, for a lower garment's pixels nearer the arms than the legs (beside and under a
    #: hand): there a shaded hand is as likely as a fold of khaki shorts. Set on the tuning half:
    #: FitDiT 1's beige shorts stayed as a strip down his hip beside the hanging hand, under new
    #: trousers; at 2.0 the fingers of his other hand, on the shorts, went to the garment, at 8.0
    #: they stay skin and the strip goes.
    closer_by_near_arms: float = 8.0
    #: The top: down to this share of the torso's length below the hip joints (a top's hem hangs
    #: past them). The lower garment: up from this share above them. Set on the tuning half: at
    #: 0.45 (the hems' reach, :class:`HemParams`) the bare midriff of FitDiT 0347, above a beige
    #: skirt of its tone, went to the skirt; at 0.15 the patches of "skin" on FitDiT 1's beige
    #: shorts below their waistband are the shorts'.
    below_hips: float = 0.25
    above_hips: float = 0.15
    #: Lightness range of the garment's pixels around its median (Lab, 0-255): its shade reaches
    #: further down than its highlights up. Dark skin beside a light garment stays skin.
    darker_by: int = 60
    lighter_by: int = 30
    #: The garment's pixels among the skin are a region at least this many working pixels across
    #: (an opening): the outline of a bare arm against a light backdrop or top mixes the two
    #: colours into the top's, a line a pixel or two wide.
    least_width: int = 5
    #: The garment's pixels among the skin join its core through themselves or other cloth that is
    #: more than half this many working pixels in from the person's outline.
    join_margin: int = 5


@dataclass(frozen=True)
class SkinPartParams:
    """Which body part a skin pixel belongs to: the nearest joint chain."""

    #: The arms' chains run on past the wrist by this share of the forearm (the hand).
    hand_extend: float = 0.5
    #: Skin inside the torso's quadrilateral counts as this close (per shoulder distance) to the
    #: torso's chain: torso skin, unless an arm is nearer still (a hand on the belly)...
    torso_pull: float = 0.12
    #: ...or it is a hand's: skin above the hips within this share of the shoulder distance of a
    #: seen wrist, joined to it through skin within that reach, is an arm's, whatever other chain
    #: lies nearer. A hand is about half the shoulder joints' distance long. Fingers of clasped hands in
    #: front of the body lie nearer the torso's chain than their own arm's; parsed as torso skin,
    #: they could be painted over by new trousers. Not below the hips: a hand beside a bare thigh
    #: is joined to it through skin (checking half: a runner's thigh went to the arm).
    hand_span: float = 0.5
    #: The hand is joined to the skin within this share of the shoulder distance of the wrist joint...
    wrist_reach: float = 0.06
    #: ...or, where no skin is that near (on a long sleeve the pose often puts the wrist on the
    #: cuff, and the hand begins past it), of the forearm's line run on past it by this share
    #: (clasped hands at a white cuff went to the torso, and a new top was drawn over them). A
    #: wrist on bare skin is joined to its hand through it; run on, the line reached a bare midriff
    #: above a hand on the hip.
    hand_from: float = 0.15
    #: A leg the frame cuts off above the knee runs on along a guessed line (:meth:`_Body.leg`):
    #: it takes no skin that is less than ``guessed_leg_margin`` (per shoulder distance) nearer to
    #: that line than to the arms' seen chains (shoulder to wrist: forearms resting on the thighs
    #: lie across it), nor less than ``guessed_leg_hand_margin`` nearer than to the hands (past
    #: the wrists; fingers reach down beside bare thighs, so the hands compete more evenly).
    guessed_leg_margin: float = 0.15
    guessed_leg_hand_margin: float = 0.05


@dataclass(frozen=True)
class EdgeParams:
    """The label map brought up to the photo's size has its inner outlines (a sleeve against the
    skirt, a collar against the neck) at the working resolution: a staircase a few pixels off,
    whose wrong side a try-on keeps as a sliver of the old garment along the new one. Pixels near
    such an outline take the label, among those around, whose own colour nearby is clearly
    closest to theirs."""

    #: Around each pixel, a label's colour is its mean over this window (working pixels) of its
    #: inside (one working pixel in from its outline, where colours mix)...
    window: int = 7
    #: ...over this many of its pixels at least.
    least: int = 6
    #: A pixel changes label only if its colour distance (RGB) to the other label's is under this
    #: share of the distance to its own label's: the two colours must tell the two apart.
    closer: float = 0.6


@dataclass(frozen=True)
class ParserParams:
    """Every tuning number of :class:`GeometricParser`, by stage."""

    #: The label map is worked out at this height (pixels) at most, then brought up to the photo's
    #: size: the heuristics need no more detail, and the person mask sets the outline at full size.
    work_height: int = 512
    #: A pixel is the person's where the person mask's soft value is above this.
    person_threshold: float = 0.5
    #: Brought up to the photo's size, the labels reach this kernel (pixels, at full size) past
    #: the working resolution's person mask, within the full-resolution one: that mask, not the
    #: coarse one, sets the outline.
    outline_margin: int = 5
    body: BodyScaleParams = BodyScaleParams()
    face: FaceRegionParams = FaceRegionParams()
    skin: SkinParams = SkinParams()
    hair: HairParams = HairParams()
    shoes: ShoeParams = ShoeParams()
    garments: GarmentParams = GarmentParams()
    skirt: SkirtParams = SkirtParams()
    skin_parts: SkinPartParams = SkinPartParams()
    hems: HemParams = HemParams()
    waistline: WaistlineParams = WaistlineParams()
    tone: ToneParams = ToneParams()
    edges: EdgeParams = EdgeParams()
    backdrop: BackdropParams = BackdropParams()


@dataclass
class _Body:
    """Skeleton geometry at the working resolution."""

    kp: Keypoints
    shoulder_width: float
    torso_length: float

    def p(self, j: int) -> np.ndarray | None:
        return self.kp.point(j)

    def torso(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The torso's corners (right shoulder, left shoulder, left hip, right hip), if all are seen."""
        corners = tuple(self.p(j) for j in (J.R_SHOULDER, J.L_SHOULDER, J.L_HIP, J.R_HIP))
        return None if any(c is None for c in corners) else corners

    def stretches(self, pairs: tuple[tuple[int, int], ...], start: float, stop: float
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each pair of joints (a, b) seen, the segment from ``start`` to ``stop`` of the way
        from a to b (beyond b above 1)."""
        segs = []
        for a, b in pairs:
            pa, pb = self.p(a), self.p(b)
            if pa is not None and pb is not None:
                segs.append((pa + start * (pb - pa), pa + stop * (pb - pa)))
        return segs

    def leg(self, joints: tuple[int, int, int]) -> list[np.ndarray]:
        """A leg's points from the hip (empty if it is not seen): on to the knee and the ankle as
        far as they are seen; a knee out of the frame where :meth:`Keypoints.unseen_knee` puts it."""
        hip, knee, ankle = (self.p(j) for j in joints)
        if hip is None:
            return []
        if knee is None:
            guess = self.kp.unseen_knee(joints)
            return [hip] if guess is None else [hip, guess]
        return [hip, knee] if ankle is None else [hip, knee, ankle]

    def leg_chain(self, joints: tuple[int, int, int], toe: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """A leg's segments: hip, knee, ankle and toe as far as they are seen, or on from the hip
        to a knee out of the frame (:meth:`leg`)."""
        if self.p(joints[1]) is not None:
            return self.chain(joints + (toe,))
        points = self.leg(joints)
        return list(zip(points, points[1:]))

    def chain(self, joints: tuple[int, ...], extend: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
        pts = [self.p(j) for j in joints]
        segs = []
        for a, b in zip(pts, pts[1:]):
            if a is None or b is None:
                break
            segs.append((a, b))
        if segs and extend > 0:
            a, b = segs[-1]
            segs.append((b, b + (b - a) * extend))
        return segs


class GeometricParser:
    """LIP parsing from body geometry and colour models learned on the photo; CPU, no weights."""

    def __init__(self, params: ParserParams = ParserParams()):
        self.params = params

    def __call__(self, image: np.ndarray, person: np.ndarray, keypoints: Keypoints,
                 face: Face | None) -> np.ndarray:
        H, W = image.shape[:2]
        s = min(1.0, self.params.work_height / H)
        w, h = max(1, round(W * s)), max(1, round(H * s))
        img = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if s < 1 else image
        soft = cv2.resize(person.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) if s < 1 else person
        kp = keypoints.scaled(s, width=w, height=h)
        body_pts = kp.xy[kp.confidence > 0]
        fg = largest_components(soft > self.params.person_threshold, anchor=body_pts)
        fine = fine_grain(image, (w, h), self.params.skin) if s < 1 else None
        labels = self._parse(img, fg, kp, face, s, fine)
        # What the parse leaves unlabelled in the person mask (something held) stays background.
        full = self._upsample(labels, fg & (labels > 0), person, (W, H))
        if s < 1:
            self._sharp_edges(full, labels, img, image)
        if s < 1 and face is not None and face.outline is not None:
            self._sharp_jaw(full, face)
        return full

    # --- the stages ----------------------------------------------------------------------
    def _parse(self, img: np.ndarray, fg: np.ndarray, kp: Keypoints, face: Face | None, s: float,
               fine: np.ndarray | None = None) -> np.ndarray:
        """The label map at the working resolution: face, skin, hair, shoes, then the garments
        (what is left of the person), then the skin split into body parts. ``fine``: the photo's
        fine grain at the working resolution (:func:`fine_grain`), when it is larger."""
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        body = self._body(kp, fg)
        face_mask, face_h, face_box = self._face_region(fg, kp, face, s, body)
        limb_zone, distal_zone = self._limb_zones(fg.shape, body)
        # The mask's rim of backdrop colour is never skin (it would draw a pale, see-through arm).
        person = fg & ~backdrop_rim(lab, fg, self.params.backdrop)
        skin, tone = self._skin(lab, person, face, s, face_mask, limb_zone, distal_zone, body, fine)
        # Its outline against the backdrop is skin too, not a garment's rim down a bare limb.
        skin |= mixed_rim(lab, person, skin & ~face_mask, self.params.backdrop) & ~face_mask
        hair = self._hair(lab, fg & ~face_mask & ~skin, face_box, face_h, body,
                          strands=_strands(img, fg, self.params.hair) & skin & ~face_mask)
        skin &= ~hair
        cloth = fg & ~face_mask & ~hair & ~skin
        # Shoes are looked for before a lower garment of skin's colour joins the cloth: its
        # pixels about the feet stay the garment's.
        shoes_l, shoes_r = (shoe | (mixed_rim(lab, person, shoe, self.params.backdrop) & cloth) for shoe in
                            self._boot_shafts(lab, cloth, skin, self._shoes(lab, cloth, body), body))
        shoes_r &= ~shoes_l
        skin_coloured = self._skin_coloured_lower(lab, fg, skin, body)
        skin &= ~skin_coloured
        toned = self._skin_toned_lower(lab, fg, skin & ~face_mask, tone, body) & ~(shoes_l | shoes_r)
        skin &= ~toned
        cloth = (cloth | skin_coloured) & ~(shoes_l | shoes_r)
        upper, lower, lower_label, dress = self._garments(img, cloth, body)
        # Of the lower garment's colour, not the top's: the colour split does not see them.
        upper &= ~toned
        lower |= toned
        upper &= ~self._held(upper, body)

        labels = np.zeros(fg.shape, np.uint8)
        labels[upper] = Label.DRESS if dress else Label.UPPER_CLOTHES
        labels[lower] = Label.DRESS if dress else lower_label
        self._assign_skin(labels, fg & skin & ~face_mask & ~hair, body)
        labels[hair] = Label.HAIR
        labels[face_mask] = Label.FACE
        if face_box is not None:
            labels[self._head_skin(face_box, face_h, fg.shape) & (labels == Label.NECK)] = Label.FACE
        labels[shoes_l] = Label.LEFT_SHOE
        labels[shoes_r] = Label.RIGHT_SHOE
        return labels

    def _sharp_edges(self, full: np.ndarray, labels: np.ndarray, img: np.ndarray, image: np.ndarray) -> None:
        """The outlines between labels (not the person's outline, which the full-size person mask
        sets) at the photo's resolution (``full`` changed in place; ``labels`` and ``img`` at the
        working size, ``image`` the photo): see :class:`EdgeParams`. The face keeps its label
        (``_sharp_jaw`` does its outline), and skin stays the body part the geometry gave it: one
        skin part is not told from another by colour."""
        p = self.params.edges
        H, W = full.shape
        h, w = labels.shape
        k = 2 * int(np.ceil(H / h)) + 1  # the staircase's reach at full size, both ways
        kernel = np.ones((k, k), np.uint8)
        band = (cv2.dilate(full, kernel) != cv2.erode(full, kernel)) & (full > 0) & (full != Label.FACE)
        ys, xs = np.nonzero(band)
        if not len(ys):
            return
        own = full[ys, xs]
        px = image[ys, xs].astype(np.float32)
        # Worked in the box about the outlines, at the working size.
        wy, wx = np.minimum(ys * h // H, h - 1), np.minimum(xs * w // W, w - 1)
        r = p.window // 2 + 1
        y0, y1, x0, x1 = max(0, wy.min() - r), min(h, wy.max() + r + 1), max(0, wx.min() - r), min(w, wx.max() + r + 1)
        near, colour = labels[y0:y1, x0:x1], np.ascontiguousarray(img[y0:y1, x0:x1])
        # Band pixels share working pixels: their labels' colours are looked up once for each.
        cells, at = np.unique((wy - y0) * (x1 - x0) + (wx - x0), return_inverse=True)
        best, best_d = own.copy(), np.full(len(ys), np.inf, np.float32)
        own_d = np.full(len(ys), np.inf, np.float32)
        skin = np.isin(own, SKIN_LABELS)
        size, erode = (p.window, p.window), np.ones((3, 3), np.uint8)
        for label in np.unique(near[near > 0]):
            if label == Label.FACE:
                continue
            inside = cv2.erode((near == label).astype(np.uint8), erode)
            count = cv2.boxFilter(inside, cv2.CV_32F, size, normalize=False).ravel()[cells]
            sums = cv2.boxFilter(cv2.bitwise_and(colour, colour, mask=inside), cv2.CV_32F, size,
                                 normalize=False).reshape(-1, 3)[cells]
            mean = (sums / np.maximum(count, 1.0)[:, None])[at]
            d = np.einsum("ij,ij->i", px - mean, px - mean)  # squared
            d[(count < p.least)[at]] = np.inf
            is_own = own == label
            own_d[is_own] = d[is_own]
            if int(label) in SKIN_LABELS:
                d[skin & ~is_own] = np.inf  # one skin part is not another by colour
            closer = d < best_d
            best[closer], best_d[closer] = label, d[closer]
        # A label too thin to have an inside here (a strap, a strand) keeps its pixels.
        switch = (best != own) & (best_d < p.closer ** 2 * own_d) & np.isfinite(own_d)
        full[ys[switch], xs[switch]] = best[switch]

    def _sharp_jaw(self, labels: np.ndarray, face: Face) -> None:
        """The face's lower outline at the photo's own resolution (``labels`` changed in place):
        the face mesh's jaw instead of the working pixels' staircase, which showed wherever the
        try-on redraws what meets the jaw (a new neck under a collar, a new neckline's skin).
        From ``head_skin_above_chin`` face heights above the face box's bottom down: above it the
        face label also takes in the forehead and ears. Pixels of the staircase outside the jaw
        take the label most common around them; skin or garment inside it becomes face (hair over
        the jaw stays hair)."""
        x0, y0, x1, y1 = face.box
        top = max(0, int(y1 - self.params.face.head_skin_above_chin * (y1 - y0)))
        band = labels[top:]
        if not band.size:
            return
        jaw = _polygon_mask(labels.shape, face.outline)[top:]
        teeth = (band == Label.FACE) & ~jaw
        if teeth.any():
            k = max(3, 2 * int(round(labels.shape[0] / self.params.work_height)) + 1)
            best, votes = np.zeros(band.shape, np.uint8), np.zeros(band.shape, np.float32)
            around = cv2.dilate(teeth.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
            for label in np.unique(band[around]):
                if label == Label.FACE:
                    continue
                count = cv2.boxFilter((band == label).astype(np.float32), -1, (k, k), normalize=False)
                more = count > votes
                votes[more], best[more] = count[more], label
            band[teeth & (votes > 0)] = best[teeth & (votes > 0)]
        band[jaw & np.isin(band, (Label.NECK,) + UPPER_GARMENT)] = Label.FACE

    def _body(self, kp: Keypoints, fg: np.ndarray) -> _Body:
        """The body's scale: shoulder distance and torso length, each guessed from the other
        (or from the person mask) when its joints are not seen."""
        p = self.params.body
        sh = [kp.point(J.R_SHOULDER), kp.point(J.L_SHOULDER)]
        torso = kp.torso_length()
        if sh[0] is not None and sh[1] is not None:
            sw = float(np.linalg.norm(sh[0] - sh[1]))
        elif torso:
            sw = p.shoulder_per_torso * torso
        else:
            ys, xs = np.nonzero(fg)
            sw = p.shoulder_per_silhouette * float(xs.max() - xs.min() + 1) if len(xs) else p.fallback_shoulder_px
        if not torso:
            torso = p.torso_per_shoulder * sw
        return _Body(kp, max(sw, p.min_shoulder_px), max(torso, p.min_torso_px))

    def _face_region(self, fg: np.ndarray, kp: Keypoints, face: Face | None, s: float, body: _Body
                     ) -> tuple[np.ndarray, float, np.ndarray | None]:
        """The face as a mask, its height and its box (x0, y0, x1, y1; None without face and head
        joints): the face mesh's outline, else an ellipse in the face box, else one around the
        head's joints."""
        p = self.params.face
        h, w = fg.shape
        if face is not None and face.outline is not None:
            mask = _polygon_mask((h, w), face.outline * s)
            box = np.array(face.box, np.float32) * s
        elif face is not None:
            box = np.array(face.box, np.float32) * s
            mask = np.zeros((h, w), np.uint8)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            axes = (int((box[2] - box[0]) / 2), int((box[3] - box[1]) * p.box_half_height))
            cv2.ellipse(mask, (int(cx), int(cy)), axes, 0, 0, 360, 1, -1)
            mask = mask.astype(bool)
        else:
            # Face turned away or cut off: a head ellipse from the face keypoints, if any.
            pts = [kp.point(j) for j in _HEAD_JOINTS]
            pts = [q for q in pts if q is not None]
            if not pts:
                return np.zeros((h, w), bool), 0.0, None  # no head: hair and head skin are not looked for
            c = np.mean(pts, axis=0)
            r = p.head_radius * body.shoulder_width
            box = np.array([c[0] - r, c[1] - p.head_above * r, c[0] + r, c[1] + p.head_below * r], np.float32)
            mask = np.zeros((h, w), np.uint8)
            cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(r), int(p.head_half_height * r)), 0, 0, 360, 1, -1)
            mask = mask.astype(bool)
        return mask & fg, float(max(box[3] - box[1], p.min_height_px)), box

    def _head_skin(self, face_box: np.ndarray, face_h: float, shape: tuple[int, int]) -> np.ndarray:
        """The box beside and above the face outline where skin is the head's (forehead, ears)."""
        p = self.params.face
        x0, y0, x1, y1 = face_box
        fw = x1 - x0
        head = np.zeros(shape, bool)
        head[max(0, int(y0 - p.head_skin_above * face_h)):max(0, int(y1 - p.head_skin_above_chin * face_h)),
             max(0, int(x0 - p.head_skin_side * fw)):max(0, int(x1 + p.head_skin_side * fw))] = True
        return head

    def _limb_zones(self, shape: tuple[int, int], body: _Body) -> tuple[np.ndarray, np.ndarray]:
        """Where the limbs are (arms with hands, legs), and their distal parts (forearms, hands
        and shins): bare whenever any skin of that limb shows, so the body's own skin tone is
        learned there."""
        p = self.params.skin
        limbs = _segments_distance(shape, body.chain(R_ARM, p.hand_extend) + body.chain(L_ARM, p.hand_extend)
                                   + body.chain(R_LEG) + body.chain(L_LEG))
        distal = _segments_distance(shape, body.stretches(FOREARMS, *p.forearm_span)
                                    + body.stretches(_SHINS, *p.shin_span))
        zone = p.limb_reach * body.shoulder_width
        return limbs < zone, distal < zone

    def _skin(self, lab: np.ndarray, fg: np.ndarray, face: Face | None, s: float, face_mask: np.ndarray,
              limb_zone: np.ndarray, distal_zone: np.ndarray, body: _Body, fine: np.ndarray | None = None
              ) -> tuple[np.ndarray, _Tone]:
        """Bare skin: a colour model learned on the face (else the hands), widened in the limbs' own
        tone; and the face's chroma model, which a garment of skin's colour is told apart from."""
        samples = self._skin_samples(lab, fg, face, s, face_mask, body)
        warm = fg & self._warm(lab, samples)
        skin, mean, inv = self._face_tone_skin(lab, warm, samples, distal_zone)
        skin |= self._limb_tone_skin(lab, warm, skin & distal_zone & ~face_mask, limb_zone, mean, inv)
        skin &= ~self._skin_toned_top(lab, fg, skin & ~face_mask, (mean, inv), body)
        return self._smooth_skin(lab, fg, skin, fine), (mean, inv)

    def _skin_samples(self, lab: np.ndarray, fg: np.ndarray, face: Face | None, s: float, face_mask: np.ndarray,
                      body: _Body) -> np.ndarray:
        """Lab samples of the person's skin: the face mesh's skin points, else the face region,
        else the hands. Without the mesh (a head cut off by the frame, turned away) the region is an
        ellipse about the head's joints: what of it passes as skin (:meth:`_skin_like`), as the
        ellipse also holds the backdrop, hair and a collar."""
        p = self.params.skin
        samples = face.skin_samples(lab, s) if face is not None else np.empty((0, 3), np.float32)
        if not len(samples):
            samples = lab[face_mask]
            samples = samples[self._skin_like(samples)]
        if len(samples) < p.min_face_samples:
            samples = self._hand_samples(lab, fg, body)
        return samples

    def _warm(self, lab: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """Where the photo's chroma leans from grey toward the skin samples' own, by at least
        ``warm_share`` of theirs at the samples' lightness and proportionally less in shade."""
        p = self.params.skin
        tint = samples[:, 1:].mean(axis=0) - 128.0
        strength = float(np.linalg.norm(tint))
        if strength < p.warm_least:
            return np.ones(lab.shape[:2], bool)
        along = (lab[..., 1] - 128.0) * (tint[0] / strength) + (lab[..., 2] - 128.0) * (tint[1] / strength)
        shade = np.minimum(lab[..., 0] / max(float(np.median(samples[:, 0])), 1.0), 1.0)
        return along >= p.warm_share * strength * shade

    def _skin_like(self, pixels: np.ndarray) -> np.ndarray:
        """Which Lab ``pixels`` have a broad prior skin chroma and are not near grey: what may be
        sampled as skin without the face mesh. The prior alone takes grey, white and beige for skin."""
        p = self.params.skin
        mean, inv = _colour_stats(PRIOR_SKIN[:, 1:], floor=p.chroma_floor)
        return ((_mahalanobis2(pixels[..., 1:], mean, inv) < p.skin_d2)
                & (pixels[..., 1] >= p.sampled_min_a) & (pixels[..., 2] >= p.sampled_min_b))

    def _hand_samples(self, lab: np.ndarray, fg: np.ndarray, body: _Body) -> np.ndarray:
        """No face to learn from: the hands, nearly always bare, where they are skin-like (not a
        cuff, a pocket). The prior is the model only without hands."""
        p = self.params.skin
        hands = _segments_distance(fg.shape, body.stretches(FOREARMS, *p.hand_span))
        hand = lab[fg & (hands < p.hand_reach * body.shoulder_width)]
        hand = hand[self._skin_like(hand)]
        return hand if len(hand) >= p.min_hand_pixels else PRIOR_SKIN

    def _face_tone_skin(self, lab: np.ndarray, fg: np.ndarray, samples: np.ndarray, distal_zone: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First pass: pixels of the samples' chroma and about their lightness; looser on the
        distal limbs, lit differently from the face. Also the chroma model (mean, inverse covariance)."""
        p = self.params.skin
        l_med = float(np.median(samples[:, 0]))
        mean, inv = _colour_stats(samples[:, 1:], floor=p.chroma_floor)
        d2 = _mahalanobis2(lab[..., 1:], mean, inv)
        light = (lab[..., 0] > l_med - p.darker_by) & (lab[..., 0] < l_med + p.lighter_by)
        skin = fg & light & ((d2 < p.skin_d2) | (distal_zone & (d2 < p.distal_d2)))
        return skin, mean, inv

    def _limb_tone_skin(self, lab: np.ndarray, fg: np.ndarray, body_skin: np.ndarray, limb_zone: np.ndarray,
                        mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
        """Second pass: the body's own skin tone, learned on ``body_skin`` (the distal limbs'),
        applied to the whole limbs (a garment of skin-like colour on the thighs is not learned
        from). Only if it is still a skin tone: trousers over the shins must not become "skin"."""
        p = self.params.skin
        if body_skin.sum() <= p.min_limb_pixels:
            return np.zeros(fg.shape, bool)
        mean2, inv2 = _colour_stats(lab[body_skin][:, 1:], floor=p.chroma_floor)
        if not _mahalanobis2(mean2, mean, inv) < p.limb_tone_d2:
            return np.zeros(fg.shape, bool)
        l2 = float(np.median(lab[body_skin][:, 0]))
        light2 = (lab[..., 0] > l2 - p.limb_darker_by) & (lab[..., 0] < l2 + p.limb_lighter_by)
        return fg & limb_zone & light2 & (_mahalanobis2(lab[..., 1:], mean2, inv2) < p.skin_d2)

    def _skin_toned_top(self, lab: np.ndarray, fg: np.ndarray, candidates: np.ndarray, tone: _Tone,
                        body: _Body) -> np.ndarray:
        """The ``candidates`` (skin pixels off the face) that are a plain top of nearly skin's
        colour (:class:`ToneParams`), down to its hem; empty without one."""
        torso, mid = body.torso(), body.p(J.MID_HIP)
        if torso is None or mid is None:
            return np.zeros(fg.shape, bool)
        def reach() -> np.ndarray:
            return np.arange(fg.shape[0])[:, None] < mid[1] + self.params.tone.below_hips * body.torso_length

        return self._toned(lab, fg, candidates, tone, np.array(torso), reach)

    def _skin_toned_lower(self, lab: np.ndarray, fg: np.ndarray, skin: np.ndarray, tone: _Tone,
                          body: _Body) -> np.ndarray:
        """The ``skin`` pixels that are a plain lower garment of nearly skin's colour
        (:class:`ToneParams`), up to its waistband; empty without one. What the hems found
        (:meth:`_skin_coloured_lower`) is no longer skin here: it is what the garment's colour is
        learned on, and its lit sides and waist that the hems left to skin are found by it."""
        corners = tuple(body.p(j) for j in (J.R_HIP, J.L_HIP, J.L_KNEE, J.R_KNEE))
        mid = body.p(J.MID_HIP)
        if mid is None or any(c is None for c in corners):
            return np.zeros(fg.shape, bool)
        def near_arms() -> np.ndarray:
            # Hands, and sleeves of the same knit hanging beside a skirt (the top's): the colours
            # must differ more there (``closer_by_near_arms``).
            hand = self.params.skin_parts.hand_extend
            arms = _segments_distance(fg.shape, body.chain(R_ARM, hand) + body.chain(L_ARM, hand))
            legs = _segments_distance(fg.shape, body.chain(R_LEG) + body.chain(L_LEG) + [(corners[0], corners[1])])
            return legs >= arms

        def reach() -> np.ndarray:
            return np.arange(fg.shape[0])[:, None] > mid[1] - self.params.tone.above_hips * body.torso_length

        return self._toned(lab, fg, skin, tone, np.array(corners), reach, near_arms)

    def _toned(self, lab: np.ndarray, fg: np.ndarray, candidates: np.ndarray, tone: _Tone, corners: np.ndarray,
               reach: Callable[[], np.ndarray], strict: Callable[[], np.ndarray] | None = None) -> np.ndarray:
        """The ``candidates`` within ``reach()`` (a mask, made only for a plain garment found)
        nearer to the colour of the garment over the quadrilateral ``corners`` (learned on its core
        where it is not skin) than to the skin's; within ``strict()`` (a mask) by
        ``closer_by_near_arms``."""
        p = self.params.tone
        found = np.zeros(fg.shape, bool)
        core = _polygon_mask(fg.shape, corners + (corners.mean(axis=0) - corners) * p.core_shrink) & fg
        cloth = core & ~candidates
        if cloth.sum() < max(p.min_core_share * core.sum(), 1):
            return found
        chroma = lab[cloth][:, 1:]
        spread = 1.4826 * np.median(np.abs(chroma - np.median(chroma, axis=0)), axis=0)
        if spread.max() > p.max_spread:
            return found
        cloth_mean, cloth_inv = _colour_stats(chroma, floor=p.chroma_floor)
        lightness = float(np.median(lab[cloth][:, 0]))
        near = candidates & reach() & (lab[..., 0] > lightness - p.darker_by) & (lab[..., 0] < lightness + p.lighter_by)
        ys, xs = np.nonzero(near)
        px = lab[ys, xs, 1:]
        d2 = _mahalanobis2(px, cloth_mean, cloth_inv)
        closer = p.closer_by if strict is None else np.where(strict()[ys, xs], p.closer_by_near_arms, p.closer_by)
        hit = (d2 < p.garment_d2) & (d2 * closer < _mahalanobis2(px, *tone))
        found[ys[hit], xs[hit]] = True
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (p.least_width, p.least_width))
        found = cv2.morphologyEx(found.astype(np.uint8), cv2.MORPH_OPEN, kernel).astype(bool)
        # Only what joins the garment, through itself or other cloth (not along the person's outline,
        # whose rim is neither skin nor garment): specks of its colour on a bare shin, apart from it
        # by skin, are skin (FitDiT 0347's legs under a beige skirt, tuning half).
        inside = cv2.erode(fg.astype(np.uint8), np.ones((p.join_margin, p.join_margin), np.uint8)).astype(bool)
        return found & components_touching(found | (inside & ~candidates), cloth)

    def _smooth_skin(self, lab: np.ndarray, fg: np.ndarray, skin: np.ndarray, fine: np.ndarray | None = None
                     ) -> np.ndarray:
        """Skin is smooth; printed fabric is not: keep skin pixels with smooth skin close by,
        clean the mask, and drop specks of skin colour inside a printed garment."""
        p = self.params.skin
        lum = lab[..., 0]
        win = (p.texture_window, p.texture_window)
        local_var = cv2.blur(lum * lum, win) - cv2.blur(lum, win) ** 2
        smooth = skin & (local_var < p.max_texture_std ** 2)
        if fine is not None:
            smooth &= fine < p.max_fine_std
        reach = np.ones((p.smooth_reach, p.smooth_reach), np.uint8)
        skin = skin & cv2.dilate(smooth.astype(np.uint8), reach).astype(bool)
        kernel = np.ones((p.clean_kernel, p.clean_kernel), np.uint8)
        skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, kernel)
        skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, kernel).astype(bool)
        min_area = max(p.min_island_px, int(p.min_island_share * fg.sum()))
        n, comp, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8), connectivity=8)
        small = np.nonzero(stats[1:, cv2.CC_STAT_AREA] < min_area)[0] + 1
        skin[components_in(comp, small)] = False
        return skin & fg

    def _skin_coloured_lower(self, lab: np.ndarray, fg: np.ndarray, skin: np.ndarray, body: _Body) -> np.ndarray:
        """Trousers, shorts or a skirt of skin's colour that the skin model took (see :mod:`tryon.person.hems`)."""
        p = self.params.hems
        hands = _segments_distance(fg.shape, body.stretches(FOREARMS, *p.hand_span))
        hands = hands < p.hand_reach * body.shoulder_width
        legs = [body.leg(leg) for leg in (R_LEG, L_LEG)]
        arms = [[a for a, _ in segs] + [segs[-1][1]] for segs in
                (body.chain(arm, self.params.skin_parts.hand_extend) for arm in (R_ARM, L_ARM)) if segs]
        return skin_coloured_lower(skin, fg, lab, body.kp, legs, arms, body.shoulder_width, body.torso_length,
                                   hands, p)

    def _hair(self, lab: np.ndarray, candidates: np.ndarray, face_box: np.ndarray | None, face_h: float,
              body: _Body, strands: np.ndarray | None = None) -> np.ndarray:
        """Hair among the ``candidates`` (person pixels neither face nor skin): close to a colour
        model learned above the forehead, where hair can be, and joined to the head; and among
        the ``strands`` (:func:`_strands`, skin or not) loosely of the hair's colour."""
        p = self.params.hair
        h, w = candidates.shape
        if face_box is None:
            return np.zeros((h, w), bool)
        x0, y0, x1, y1 = face_box
        fw = x1 - x0
        cx = (x0 + x1) / 2
        neck = body.p(J.NECK)
        sh_y = neck[1] if neck is not None else y1 + p.neck_guess * face_h
        yy, xx = np.mgrid[0:h, 0:w]
        # Where hair can be: around the head, and down beside the neck over the shoulders.
        head_zone = ((np.abs(xx - cx) < p.head_half_width * fw) & (yy < y1 + p.head_below_chin * face_h)
                     & (yy > y0 - p.head_above * face_h))
        long_zone = ((np.abs(xx - cx) < p.long_half_width * fw) & (yy < sh_y + p.long_below_shoulders * face_h)
                     & (np.abs(xx - cx) > p.long_gap * fw))
        zone = candidates & (head_zone | long_zone)
        # Hair colour: pixels above the forehead that are not skin.
        top = (candidates & (yy < y0 + p.sample_below_brow * face_h) & (yy > y0 - p.sample_above * face_h)
               & (np.abs(xx - cx) < p.sample_half_width * fw))
        if top.sum() < p.min_samples:
            top = candidates & head_zone & (yy < y1)
        if top.sum() < p.min_samples:
            return np.zeros((h, w), bool)
        mean, inv = _colour_stats(lab[top], floor=p.colour_floor)
        d2 = _mahalanobis2(lab, mean, inv)
        hair = zone & ((d2 < p.colour_d2) | (head_zone & (yy < y0 + p.crown * face_h)))
        if strands is not None:
            hair |= strands & (head_zone | long_zone) & (d2 < p.strand_d2)
        hair = self._hair_beside_neck(hair, lab, candidates, mean, inv, y1, face_h, yy, body)
        hair = self._short_sides(hair, face_box, face_h, yy)
        hair = self._hair_on_head(hair, face_box, face_h, yy)
        if self._garment_below(hair, candidates & (d2 < p.colour_d2), sh_y + p.long_below_shoulders * face_h,
                               face_h):
            hair &= yy <= sh_y
        return hair

    def _garment_below(self, hair: np.ndarray, coloured: np.ndarray, end: float, face_h: float) -> bool:
        """Whether the hair reaches ``end``, the bottom of where it can be, and ``coloured`` (person
        pixels of the hair's colour) goes on below it there: see ``HairParams.end_band``."""
        p = self.params.hair
        band = max(1, round(p.end_band * face_h))
        y = round(end)
        if y <= band or y + band > hair.shape[0]:
            return False
        reached = hair[y - band:y].any(axis=0)
        if not reached.any():
            return False
        goes_on = coloured[y:y + band].mean(axis=0) > p.goes_on
        return float(goes_on[reached].mean()) > p.goes_on

    def _short_sides(self, hair: np.ndarray, face_box: np.ndarray, face_h: float, yy: np.ndarray) -> np.ndarray:
        """No hair below the ears when the hair beside the face is short on both sides (``min_side_hair``,
        ``short_hair_end``)."""
        p = self.params.hair
        x0, y0, x1, y1 = face_box
        band = hair[max(0, int(y0 + p.side_from * face_h)):max(0, int(y1))]
        if y0 < 0 or not len(band):
            return hair
        left = np.arange(hair.shape[1]) < (x0 + x1) / 2
        if all(band[:, side].sum() < p.min_side_hair * (x1 - x0) * len(band) for side in (left, ~left)):
            return hair & (yy <= y0 + p.short_hair_end * face_h)
        return hair

    def _hair_beside_neck(self, hair: np.ndarray, lab: np.ndarray, candidates: np.ndarray, mean: np.ndarray,
                          inv: np.ndarray, chin_y: float, face_h: float, yy: np.ndarray, body: _Body) -> np.ndarray:
        """Below the chin hair falls beside the neck, not over the middle of the chest, and only
        where its colour is not much likelier the top's (``top_likelier``); where the top has the
        hair's colour the two cannot be told apart there, and hair stops at the chin."""
        p = self.params.hair
        torso = body.torso()
        if torso is None:
            return hair
        torso = np.array(torso)
        core = _polygon_mask(hair.shape, torso + (torso.mean(axis=0) - torso) * p.core_shrink)
        hair = hair & ~(core & (yy > chin_y))
        chest = candidates & core
        if chest.sum() > p.min_chest_pixels:
            top_mean, top_inv = _colour_stats(lab[chest], floor=p.colour_floor)
            if _bhattacharyya(mean, inv, top_mean, top_inv) < p.same_colour_distance:
                return hair & (yy <= chin_y + p.chin_margin * face_h)
            below = hair & (yy > chin_y + p.chin_margin * face_h)
            px = lab[below]
            hair[below] = _log_likelihood(px, top_mean, top_inv) - _log_likelihood(px, mean, inv) < p.top_likelier
        return hair

    def _hair_on_head(self, hair: np.ndarray, face_box: np.ndarray, face_h: float, yy: np.ndarray) -> np.ndarray:
        """Hair below the chin as a solid mass (dark dots of a print or a dark top joined to the
        hair are not hair), and only hair connected to the head (not a dark garment further down)."""
        p = self.params.hair
        x0, y0, x1, y1 = face_box
        fw = x1 - x0
        k = max(p.min_mass_kernel, int(face_h / p.mass_kernel_per_face)) | 1
        below = hair & (yy > y1)
        # A disc: a square cut the mass into its corners' steps, and the new top around it.
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        below = cv2.morphologyEx(below.astype(np.uint8), cv2.MORPH_OPEN, disc).astype(bool)
        hair = (hair & (yy <= y1)) | below
        hair = cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_OPEN,
                                np.ones((p.clean_kernel, p.clean_kernel), np.uint8)).astype(bool)
        seed = np.zeros(hair.shape, np.uint8)
        cv2.rectangle(seed, (int(x0 - p.seed_side * fw), int(y0 - p.seed_above * face_h)),
                      (int(x1 + p.seed_side * fw), int(y1)), 1, -1)
        n, comp = cv2.connectedComponents(hair.astype(np.uint8), connectivity=8)
        keep = np.unique(comp[(seed > 0) & hair])
        keep = keep[keep > 0]
        return components_in(comp, keep)

    def _shoes(self, lab: np.ndarray, cloth: np.ndarray, body: _Body) -> tuple[np.ndarray, np.ndarray]:
        """Garment pixels around each foot (the person's left, then right; an overlap is the left's).
        Above the ankle joint only those of the shoe's colour (a boot's shaft, a high-top's
        collar): a trouser hem there is no shoe, and kept as one it stayed under a new skirt."""
        p = self.params.shoes
        h, w = cloth.shape
        out = []
        for ankle, knee, heel, toe in _FEET:
            a, k = body.p(ankle), body.p(knee)
            if a is None:
                out.append(np.zeros((h, w), bool))
                continue
            shin = float(np.linalg.norm(a - k)) if k is not None else p.shin_per_torso * body.torso_length
            segs = [(a, q) for q in (body.p(heel), body.p(toe)) if q is not None] or [(a, a)]
            near = _segments_distance((h, w), segs) < p.reach * shin
            yy = np.arange(h)[:, None]
            top = a[1] - p.above_ankle * shin
            shoe = cloth & near & (yy > top)
            below = shoe & (yy > a[1])
            if below.sum() >= p.min_colour_pixels:
                colour = np.median(lab[below], axis=0)
                unlike = np.linalg.norm(lab - colour, axis=-1) > p.colour_distance
                shoe &= ~(unlike & (yy <= a[1]))
            shoe &= ~self._hem_over_shoe(lab, cloth, shoe, body.p(toe), (a, k), top, shin)
            out.append(shoe)
        left, right = out
        return left, right & ~left

    def _boot_shafts(self, lab: np.ndarray, cloth: np.ndarray, skin: np.ndarray,
                     shoes: tuple[np.ndarray, np.ndarray], body: _Body) -> tuple[np.ndarray, np.ndarray]:
        """The ``shoes`` (left, right) with their boots' shafts up the shins, where bare skin tops
        them (:attr:`ShoeParams.shaft_reach`)."""
        p = self.params.shoes
        h, w = cloth.shape
        yy = np.arange(h)[:, None]
        out = []
        for (ankle, knee, _, _), shoe in zip(_FEET, shoes):
            a, k = body.p(ankle), body.p(knee)
            if a is None or k is None or shoe.sum() < p.min_colour_pixels:
                out.append(shoe)
                continue
            shin = float(np.linalg.norm(a - k))
            zone = (_segments_distance((h, w), [(k, a)]) < p.reach * shin) & (yy > a[1] - p.shaft_reach * shin)
            colour = np.median(lab[shoe], axis=0)
            like = cloth & zone & ~shoe
            ys, xs = np.nonzero(like)
            like[ys, xs] = np.linalg.norm(lab[ys, xs] - colour, axis=-1) <= p.colour_distance
            shaft = like & components_touching(like | shoe, shoe)
            if not shaft.any():
                out.append(shoe)
                continue
            top = int(np.argmax(shaft.any(axis=1)))
            band = zone & (yy < top) & (yy >= top - max(1, round(p.shaft_band * shin)))
            bare, covered = int((band & skin).sum()), int((band & cloth & ~shaft).sum())
            if not (bare and bare >= p.shaft_bare * (bare + covered)):
                out.append(shoe)
                continue
            # A boot: its zip and highlights, unlike its colour, are the boot's too, and so is the
            # line of mixed pixels where the leg meets its top (kept as cloth, a new dress redrew
            # it as a dotted line of backdrop across the boot).
            boot = (shoe | shaft).astype(np.uint8)
            kernel = np.ones((p.shaft_close,) * 2, np.uint8)
            closed = (cv2.morphologyEx(boot, cv2.MORPH_CLOSE, kernel) | cv2.dilate(boot, np.ones((3, 3), np.uint8))) > 0
            out.append(shoe | shaft | (closed & cloth & zone))
        left, right = out
        return left, right & ~left

    def _hem_over_shoe(self, lab: np.ndarray, cloth: np.ndarray, shoe: np.ndarray, toe: np.ndarray | None,
                       shin_ends: tuple[np.ndarray, np.ndarray | None], top: float, shin: float) -> np.ndarray:
        """Of ``shoe``, the pixels of the garment that hangs down over it: of the colour of the
        garment just above the shoe's zone, not of the shoe's by its toe (``ShoeParams.garment_band``).
        Worked out in the box about the foot and that band."""
        p = self.params.shoes
        h, w = cloth.shape
        out = np.zeros((h, w), bool)
        ankle, knee = shin_ends
        if toe is None or knee is None or not shoe.any():
            return out
        cols = np.nonzero(shoe.any(axis=0))[0]
        side = p.reach * shin
        x0 = int(max(0, min(cols[0], min(ankle[0], knee[0]) - side)))
        x1 = int(min(w, max(cols[-1] + 1, max(ankle[0], knee[0]) + side + 1)))
        y0 = int(max(0, top - p.garment_band * shin))
        box = np.s_[y0:, x0:x1]
        lab, cloth, shoe = lab[box], cloth[box], shoe[box]
        at = np.array([x0, y0], np.float32)
        shape = shoe.shape
        toe_px = shoe & (_segments_distance(shape, [(toe - at, toe - at)]) < p.toe_reach * shin)
        yy = np.arange(y0, h)[:, None]
        by_shin = (yy > top - p.garment_band * shin) & (_segments_distance(shape, [(knee - at, ankle - at)]) < side)
        band = by_shin & (yy <= top)
        above = cloth & band
        by_shin &= cloth
        if toe_px.sum() < p.min_colour_pixels or above.sum() < p.hem_cover * band.sum():
            return out
        shoe_colours, garment_colours = lab[toe_px], lab[above]
        if np.linalg.norm(np.median(shoe_colours, axis=0) - np.median(garment_colours, axis=0)) <= p.colour_distance:
            return out
        # Nearer one of the garment's own colours than any of the shoe's: a print's, a trainer's.
        pixels = lab[shoe]
        nearest = [_nearest_d2(pixels, c[:: max(1, len(c) // p.hem_samples)]) for c in (garment_colours, shoe_colours)]
        nearer = np.zeros(shape, bool)
        nearer[shoe] = nearest[0] < nearest[1]
        # A trainer's sole may be of the trousers' colour: their hem is then as near its colours
        # as the garment's. Near the garment's own median colour, above the sole, it is the hem's.
        d_garment, d_shoe = (np.sqrt(np.maximum(d2, 0.0)) for d2 in nearest)
        tied = np.zeros(shape, bool)
        tied[shoe] = (d_garment < d_shoe + p.hem_tie) & (
            np.linalg.norm(pixels - np.median(garment_colours, axis=0), axis=-1) <= p.hem_like)
        nearer |= tied & (yy < toe[1] - p.sole_height * shin)
        # A print's dark lines are nearer a black shoe: closed over. And the hem hangs on from the
        # garment above, down past the ankle joint: a sandal's black straps on the foot, apart from
        # the black dress, are the shoe's.
        kernel = np.ones((p.hem_close, p.hem_close), np.uint8)
        nearer = shoe & (cv2.morphologyEx(nearer.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0)
        n, comp = cv2.connectedComponents((nearer | (by_shin & (yy <= ankle[1]))).astype(np.uint8), connectivity=8)
        hung = np.unique(comp[above])
        out[box] = nearer & components_in(comp, hung[hung > 0])
        return out

    def _garments(self, img: np.ndarray, cloth: np.ndarray, body: _Body) -> tuple[np.ndarray, np.ndarray, Label, bool]:
        """Split garment pixels into upper and lower garments; detect dresses and skirts."""
        p = self.params.garments
        h, w = cloth.shape
        empty = np.zeros((h, w), bool)
        if not cloth.any():
            return empty, empty, Label.PANTS, False
        neck, mid = body.p(J.NECK), body.p(J.MID_HIP)
        if neck is None or mid is None:
            # Without a torso we cannot tell garments apart: everything is the upper garment.
            return cloth, empty, Label.PANTS, False
        yy = np.mgrid[0:h, 0:w][0]
        hip_y = float(mid[1])
        upper_seed = self._upper_seed(cloth, body, yy, hip_y)
        thighs = self._thighs(body)
        to_thigh = _segments_distance((h, w), thighs)
        lower_seed = (to_thigh < p.seed_reach * body.shoulder_width) & cloth & (yy > hip_y)
        knees = (_segments_distance((h, w), self._thighs(body, p.knee_seed_from, seen_knees=True))
                 < p.seed_reach * body.shoulder_width) & lower_seed
        thigh_band = None
        if knees.sum() >= max(p.min_seed_pixels, p.knee_seed_share * lower_seed.sum()):
            lower_seed = knees
            knee_y = (body.p(J.R_KNEE)[1] + body.p(J.L_KNEE)[1]) / 2
            thigh_band = (yy > hip_y) & (yy < hip_y + p.knee_seed_from * (knee_y - hip_y))  # see _coat_skirt
        scale = p.waist_softness * body.torso_length
        prior_upper = self._upper_prior(body, yy, hip_y, scale, thighs, to_thigh)
        if lower_seed.sum() < p.min_seed_pixels and upper_seed.sum() >= p.min_seed_pixels:
            lower_seed = self._bottom_band(img, cloth, upper_seed, body, yy, float(neck[1]), hip_y)
        if upper_seed.sum() < p.min_seed_pixels:
            upper = cloth & (prior_upper > 0.5) if lower_seed.sum() >= p.min_seed_pixels else cloth
            lower = cloth & ~upper
        elif lower_seed.sum() < p.min_seed_pixels:
            flat = np.ones((h, w), np.float32)  # no colour tells the two apart: the prior alone
            post = self._posterior((flat, flat, 1.0), prior_upper)
            upper = self._waist(img, cloth, cloth & (prior_upper > 0.5), post, body)
            lower = cloth & ~upper
        else:
            likely = self._likelihoods(img, upper_seed, lower_seed)
            if likely[2] > p.alike_similarity:
                prior_upper = self._upper_prior(body, yy, hip_y - p.alike_rise * body.torso_length, scale,
                                                thighs, to_thigh)
            post = self._posterior(likely, prior_upper)
            upper = self._split_by_colour(cloth, post, yy < hip_y - scale)
            if thigh_band is not None:
                upper = upper | self._coat_skirt(cloth, likely, prior_upper, thigh_band, yy < hip_y - scale,
                                                 body.shoulder_width)
            upper = self._waist(img, cloth, upper, post, body)
            lower, similarity = cloth & ~upper, likely[2]
            if similarity > p.dress_similarity and self._skirt_like(cloth, body, hip_y):
                return upper, lower, Label.SKIRT, True
        lower_label = Label.SKIRT if lower.any() and self._skirt_like(lower, body, hip_y) else Label.PANTS
        return upper, lower, lower_label, False

    def _waist(self, img: np.ndarray, cloth: np.ndarray, upper: np.ndarray, post: np.ndarray, body: _Body
               ) -> np.ndarray:
        """The top redrawn across the torso about the hips down to the line where it meets the
        bottom (:func:`tryon.person.waistline.waistline`), from the smoothed ``post``-erior of the
        top (:meth:`_posterior`); unchanged without both hip joints."""
        p = self.params.waistline
        rh, lh, mid = body.p(J.R_HIP), body.p(J.L_HIP), body.p(J.MID_HIP)
        if rh is None or lh is None or mid is None:
            return upper
        h, w = cloth.shape
        y0 = int(np.clip(mid[1] - p.above * body.torso_length, 0, h))
        y1 = int(np.clip(mid[1] + p.below * body.torso_length, 0, h))
        x0 = int(np.clip(min(rh[0], lh[0]) - p.widen * body.shoulder_width, 0, w))
        x1 = int(np.clip(max(rh[0], lh[0]) + p.widen * body.shoulder_width, 0, w))
        if y1 - y0 < 2 or x1 - x0 < 2:
            return upper
        win = (slice(y0, y1), slice(x0, x1))
        odds = np.clip(post[win], 1e-6, 1 - 1e-6)
        evidence = np.log(odds) - np.log(1 - odds)
        lab = cv2.cvtColor(img[win], cv2.COLOR_RGB2LAB).astype(np.float32)
        edges = np.linalg.norm(lab_gradients(lab, self.params.hems)[..., 1], axis=2)
        line = waistline(evidence, cloth[win], edges, p)
        redrawn = upper.copy()
        redrawn[win] = cloth[win] & (np.arange(y1 - y0)[:, None] < line[None, :])
        return redrawn

    def _coat_skirt(self, cloth: np.ndarray, likely: tuple[np.ndarray, np.ndarray, float], prior_upper: np.ndarray,
                    thigh_band: np.ndarray, well_above_hips: np.ndarray, shoulder_width: float) -> np.ndarray:
        """The skirt of a coat (or a tunic) over the thighs, which the prior, falling off below the
        hips, gave to the trousers: with the bottom's colour learned at the knees, below any coat,
        the colours decide there, the prior only leans to the bottom (``coat_prior``; not along a
        forearm, where a sleeve is likely already). Only wide pieces: a sliver down the trousers'
        outline (pixels mixed with the background, unlike the knees' colour) stays the trousers'."""
        p = self.params.garments
        band = thigh_band & (prior_upper < p.coat_prior)
        if not band.any():
            return np.zeros(cloth.shape, bool)
        leaning = np.where(band, p.coat_prior, prior_upper)
        upper = self._split_by_colour(cloth, self._posterior(likely, leaning), well_above_hips)
        k = max(3, int(p.coat_least_width * shoulder_width))
        return cv2.morphologyEx((upper & band).astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8)) > 0

    def _upper_seed(self, cloth: np.ndarray, body: _Body, yy: np.ndarray, hip_y: float) -> np.ndarray:
        """Cloth that is surely the top's: the chest and the upper arms, above the hips."""
        p = self.params.garments
        seed = np.zeros(cloth.shape, bool)
        torso = body.torso()
        if torso is not None:
            rs, ls, lh, rh = torso
            chest = np.array([rs, ls, ls + p.chest_depth * (lh - ls), rs + p.chest_depth * (rh - rs)])
            chest = chest + (chest.mean(axis=0) - chest) * p.chest_shrink
            seed = _polygon_mask(cloth.shape, chest)
        arms = _segments_distance(cloth.shape, body.chain(R_ARM[:2]) + body.chain(L_ARM[:2]))
        return (seed | (arms < p.seed_reach * body.shoulder_width)) & cloth & (yy < hip_y)

    def _held(self, upper: np.ndarray, body: _Body) -> np.ndarray:
        """The top's pieces that are something held (see ``hand_reach``): a mask, empty without
        the shoulders and hips."""
        p = self.params.garments
        torso = body.torso()
        count, pieces, stats, _ = cv2.connectedComponentsWithStats(upper.astype(np.uint8))
        if torso is None or count <= 2:
            return np.zeros(upper.shape, bool)
        reach = np.zeros(upper.shape, np.uint8)
        for shoulder, elbow, wrist in (R_ARM, L_ARM):
            s, e, w = body.p(shoulder), body.p(elbow), body.p(wrist)
            if s is None:
                continue
            if e is None or w is None:
                radius = p.arm_per_torso * body.torso_length
            else:
                radius = float(np.linalg.norm(e - s) + (1 + p.hand_reach) * np.linalg.norm(w - e))
            cv2.circle(reach, tuple(int(v) for v in np.round(s)), int(round(radius)), 1, -1)
        rs, ls, lh, rh = torso
        across = (ls - rs) / max(float(np.linalg.norm(ls - rs)), 1e-6) * p.torso_margin * body.shoulder_width
        down = (lh + rh - ls - rs) / 2
        down = down / max(float(np.linalg.norm(down)), 1e-6) * p.tunic_drop * body.torso_length
        zone = _polygon_mask(upper.shape, np.array([rs - across, ls + across, lh + across + down, rh - across + down]))
        zone |= reach > 0
        out_of_reach = np.bincount(pieces[~zone], minlength=count)
        flags = out_of_reach > 0.5 * stats[:, cv2.CC_STAT_AREA]
        flags[0] = False  # not the top
        flags[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))] = False  # the top itself
        return flags[pieces]

    def _bottom_band(self, img: np.ndarray, cloth: np.ndarray, upper_seed: np.ndarray, body: _Body,
                     yy: np.ndarray, neck_y: float, hip_y: float) -> np.ndarray:
        """The bottom's seed in a photo cut off at the hips (see ``band_from``): cloth low on the
        torso that is unlike the top and runs out of the frame across the hips; else nothing."""
        p = self.params.garments
        empty = np.zeros(cloth.shape, bool)
        rh, lh = body.p(J.R_HIP), body.p(J.L_HIP)
        if rh is None or lh is None:
            return empty
        like = _lookup(_histogram(img[upper_seed]), img)
        unlike = cloth & (like < p.unlike_top * float(np.median(like[upper_seed])))
        unlike &= yy > neck_y + p.band_from * (hip_y - neck_y)
        _, pieces = cv2.connectedComponents(unlike.astype(np.uint8))
        edge = np.unique(pieces[-1][unlike[-1]])
        band = np.isin(pieces, edge[edge > 0])
        x0, x1 = sorted((int(rh[0]), int(lh[0])))
        across = band[:, max(x0, 0):max(x1, 0) + 1].any(axis=0)
        return band if len(across) and across.mean() >= p.band_width else empty

    def _thighs(self, body: _Body, start: float | None = None,
                seen_knees: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
        """The segments where cloth is surely the bottom's: each thigh below the crotch (from
        ``start`` of the way to the knee, ``thigh_start`` by default) and the upper shin; with
        ``seen_knees``, none unless both knees are seen."""
        p = self.params.garments
        start = p.thigh_start if start is None else start
        thighs = []
        if seen_knees and (body.p(J.R_KNEE) is None or body.p(J.L_KNEE) is None):
            return thighs
        for leg in (R_LEG, L_LEG):
            points = body.leg(leg)
            if len(points) < 2:
                continue
            a, b = points[:2]
            thighs.append((a + start * (b - a), b))
            if len(points) == 3:
                thighs.append((b, b + p.shin_share * (points[2] - b)))
        return thighs

    def _upper_prior(self, body: _Body, yy: np.ndarray, hip_y: float, scale: float,
                     thighs: list[tuple[np.ndarray, np.ndarray]], to_thigh: np.ndarray) -> np.ndarray:
        """Prior probability that cloth is the top's: high above the hips, low below; cloth along
        a forearm that hangs below the hips is a sleeve more likely than trousers, unless it lies
        nearer a thigh (a hand resting on the leg)."""
        p = self.params.garments
        # The clip only keeps exp() finite.
        prior_upper = 1.0 / (1.0 + np.exp(np.clip((yy - hip_y) / scale, -30, 30)))
        forearms = body.chain(R_ARM[1:], extend=p.forearm_extend) + body.chain(L_ARM[1:], extend=p.forearm_extend)
        if forearms and thighs:
            to_arm = _segments_distance(yy.shape, forearms)
            sleeve = (to_arm < p.sleeve_reach * body.shoulder_width) & (to_arm < to_thigh)
            prior_upper = np.where(sleeve, np.maximum(prior_upper, p.sleeve_prior), prior_upper)
        return prior_upper

    def _likelihoods(self, img: np.ndarray, upper_seed: np.ndarray, lower_seed: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, float]:
        """Each pixel's likelihood under the top seed's and the bottom seed's colour histograms
        (floored), and the histograms' similarity (Bhattacharyya coefficient)."""
        p = self.params.garments
        hu, hl = _histogram(img[upper_seed]), _histogram(img[lower_seed])
        similarity = float(np.sum(np.sqrt(hu * hl)))
        return _lookup(hu, img) + p.likelihood_floor, _lookup(hl, img) + p.likelihood_floor, similarity

    def _posterior(self, likely: tuple[np.ndarray, np.ndarray, float], prior_upper: np.ndarray) -> np.ndarray:
        """Each pixel's probability of being the top's from the seeds' colour ``likely``-hoods and
        the prior, smoothed (garments are large regions)."""
        lu, ll, _ = likely
        post = lu * prior_upper / (lu * prior_upper + ll * (1 - prior_upper))
        sigma = max(1.0, self.params.garments.smoothing * post.shape[0])
        return cv2.GaussianBlur(post.astype(np.float32), (0, 0), sigma)

    def _split_by_colour(self, cloth: np.ndarray, post: np.ndarray, well_above_hips: np.ndarray) -> np.ndarray:
        """The top's cloth where its smoothed ``post``-erior (:meth:`_posterior`) is above one
        half; the top's pieces below the hips are only its large ones."""
        p = self.params.garments
        upper = cloth & (post > 0.5)
        return largest_components(upper, min_share=p.min_piece_share) | (upper & well_above_hips)

    def _skirt_like(self, garment: np.ndarray, body: _Body, hip_y: float) -> bool:
        """True when the garment covers the gap between the legs (skirt, dress), not each leg (trousers)."""
        p = self.params.skirt
        rk, lk, rh, lh = body.p(J.R_KNEE), body.p(J.L_KNEE), body.p(J.R_HIP), body.p(J.L_HIP)
        if rk is None or lk is None or rh is None or lh is None:
            return False
        rows = np.nonzero(garment.any(axis=1))[0]
        rows = rows[rows > hip_y]
        if len(rows) < p.min_rows:
            return False
        hem = rows.max()
        knee_y = (rk[1] + lk[1]) / 2
        y_from = hip_y + p.judge_from * (knee_y - hip_y)
        y_to = min(hem - p.hem_margin, knee_y)
        if y_to <= y_from:
            # Garment ends above the crotch: a mini skirt or shorts, judged down to its last row.
            y_from, y_to = hip_y + p.mini_from * (hem - hip_y), hem - 1
        covered = []
        for y in np.linspace(y_from, y_to, p.rows):
            t = (y - hip_y) / max(knee_y - hip_y, 1.0)
            xr = rh[0] + t * (rk[0] - rh[0])
            xl = lh[0] + t * (lk[0] - lh[0])
            cx = int(round((xr + xl) / 2))
            yi = int(round(y))
            if 0 <= yi < garment.shape[0] and 0 <= cx < garment.shape[1]:
                covered.append(garment[yi, max(0, cx - 1): cx + 2].all())
        return bool(covered) and float(np.mean(covered)) >= p.min_covered

    def _assign_skin(self, labels: np.ndarray, skin: np.ndarray, body: _Body) -> None:
        """Label each ``skin`` pixel with the body part of the nearest joint chain."""
        p = self.params.skin_parts
        h, w = labels.shape
        parts = [
            (Label.LEFT_ARM, body.chain(L_ARM, extend=p.hand_extend)),
            (Label.RIGHT_ARM, body.chain(R_ARM, extend=p.hand_extend)),
            (Label.LEFT_LEG, body.leg_chain(L_LEG, J.L_BIG_TOE)),
            (Label.RIGHT_LEG, body.leg_chain(R_LEG, J.R_BIG_TOE)),
            (Label.NECK, body.chain((J.NOSE, J.NECK, J.MID_HIP)) + body.chain((J.R_SHOULDER, J.NECK, J.L_SHOULDER))
             + body.chain((J.R_HIP, J.MID_HIP, J.L_HIP))),
        ]
        dist = np.stack([_segments_distance((h, w), segs) for _, segs in parts])
        guessed = [i for i, leg in ((2, L_LEG), (3, R_LEG)) if body.p(leg[1]) is None]
        if guessed:
            # The arms' seen chains, and with the hands (the labelled chains run on past the wrists).
            seen = _segments_distance((h, w), body.chain(L_ARM) + body.chain(R_ARM))
            reach = np.minimum(dist[0], dist[1])
            for i in guessed:
                lose = ((dist[i] + p.guessed_leg_margin * body.shoulder_width > seen)
                        | (dist[i] + p.guessed_leg_hand_margin * body.shoulder_width > reach))
                dist[i] = np.where(lose, np.maximum(dist[i], reach + 1.0), dist[i])
        torso = body.torso()
        if torso is not None:
            # Skin inside the torso outline is torso skin, unless an arm is right there (a hand
            # resting on the belly, a forearm across the body).
            inside = _polygon_mask((h, w), np.array(torso))
            dist[-1][inside] = np.minimum(dist[-1][inside], p.torso_pull * body.shoulder_width)
        mid = body.p(J.MID_HIP)
        if mid is not None:
            # Above the hips only (see ``hand_span``). Clasped hands are joined to both wrists: the
            # arms' chains decide between them.
            hands = self._hand(skin, body, J.L_WRIST) | self._hand(skin, body, J.R_WRIST)
            dist[2:, hands & (np.arange(h)[:, None] < mid[1])] = np.inf
        codes = np.array([label for label, _ in parts], np.uint8)
        labels[skin] = codes[np.argmin(dist[:, skin], axis=0)]

    def _hand(self, skin: np.ndarray, body: _Body, wrist: int) -> np.ndarray:
        """The ``skin`` within ``hand_span`` (:class:`SkinPartParams`) of the ``wrist`` and joined
        to it through skin within that reach: the hand, whatever chain lies nearer its fingers."""
        p = self.params.skin_parts
        out = np.zeros(skin.shape, bool)
        at = body.p(wrist)
        if at is None:
            return out
        r = max(1, int(round(p.hand_span * body.shoulder_width)))
        x, y = int(round(at[0])), int(round(at[1]))
        x0, y0 = max(0, x - r), max(0, y - r)
        box = (slice(y0, max(y0, y + r + 1)), slice(x0, max(x0, x + r + 1)))
        near = np.zeros(skin[box].shape, np.uint8)
        if not near.size:
            return out
        cv2.circle(near, (x - x0, y - y0), r, 1, -1)
        near &= skin[box]
        start = np.zeros_like(near)
        reach = max(1, int(round(p.wrist_reach * body.shoulder_width)))
        cv2.circle(start, (x - x0, y - y0), reach, 1, -1)
        elbow = body.p(next(e for e, w in FOREARMS if w == wrist))
        if not (start & near).any() and elbow is not None and np.linalg.norm(at - elbow) > 0:
            past = at + p.hand_from * body.shoulder_width * (at - elbow) / np.linalg.norm(at - elbow)
            cv2.line(start, (x - x0, y - y0), (int(round(past[0])) - x0, int(round(past[1])) - y0), 1, 2 * reach)
        out[box] = components_touching(near, start > 0)
        return out

    def _upsample(self, labels: np.ndarray, fg: np.ndarray, person: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        W, H = size
        if labels.shape == (H, W):
            return labels
        # Every pixel takes the label of its nearest labelled pixel; the full-resolution person mask
        # then decides the outline, so edges keep the photo's resolution.
        # OpenCV numbers the labelled (zero) pixels of its input in row-major order.
        _, nearest = cv2.distanceTransformWithLabels((labels == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        filled = labels[labels > 0][nearest - 1] if labels.any() else labels
        up = cv2.resize(filled, (W, H), interpolation=cv2.INTER_NEAREST)
        keep = cv2.resize(fg.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST).astype(bool)
        m = self.params.outline_margin
        keep = cv2.dilate(keep.astype(np.uint8), np.ones((m, m), np.uint8)).astype(bool)
        keep &= person > self.params.person_threshold
        return np.where(keep, up, 0).astype(np.uint8)
