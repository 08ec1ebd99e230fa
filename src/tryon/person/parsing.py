"""Human parsing in the LIP / VITON-HD ``image-parse-v3`` 20-label convention.

No registry package ships a human parser with clothing classes, so :class:`GeometricParser`
builds the label map from what does ship: the person mask, the pose keypoints, the face outline,
and colour models learned on the photo itself (skin from the face, hair from above the face,
upper and lower garments from seeds placed by the skeleton). Any object with the
:class:`Parser` call signature can replace it, e.g. a learned parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import cv2
import numpy as np

from tryon.person.face import Face
from tryon.person.keypoints import Keypoints
from tryon.person.segmentation import components_in, largest_components


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
    """Robust mean and inverse covariance of Lab samples, with a floor on each spread."""
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


@dataclass
class _Body:
    """Skeleton geometry at the working resolution."""

    kp: Keypoints
    shoulder_width: float
    torso_length: float

    def p(self, j: int) -> np.ndarray | None:
        return self.kp.point(j)

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

    def __init__(self, work_height: int = 512):
        self.work_height = work_height

    def __call__(self, image: np.ndarray, person: np.ndarray, keypoints: Keypoints,
                 face: Face | None) -> np.ndarray:
        H, W = image.shape[:2]
        s = min(1.0, self.work_height / H)
        w, h = max(1, round(W * s)), max(1, round(H * s))
        img = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) if s < 1 else image
        soft = cv2.resize(person.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) if s < 1 else person
        kp = keypoints.scaled(s, width=w, height=h)
        body_pts = kp.xy[kp.confidence > 0]
        fg = largest_components(soft > 0.5, anchor=body_pts)
        labels = self._parse(img, fg, kp, face, s)
        return self._upsample(labels, fg, person, (W, H))

    # --- the stages ----------------------------------------------------------------------
    def _parse(self, img: np.ndarray, fg: np.ndarray, kp: Keypoints, face: Face | None, s: float) -> np.ndarray:
        h, w = fg.shape
        lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
        body = self._body(kp, fg)

        face_mask, face_h, face_box = self._face_region(fg, kp, face, s, body)
        limbs = _segments_distance((h, w), body.chain((2, 3, 4), 0.4) + body.chain((5, 6, 7), 0.4)
                                   + body.chain((9, 10, 11)) + body.chain((12, 13, 14)))
        # Forearms, hands and shins: bare whenever any skin of that limb shows (sleeves and
        # shorts end above them), so the body's own skin tone is learned there.
        distal = _segments_distance((h, w), self._distal(body))
        zone = 0.2 * body.shoulder_width
        skin = self._skin(lab, fg, face, s, face_mask, limbs < zone, distal < zone, body)
        hair = self._hair(lab, fg & ~face_mask & ~skin, face_box, face_h, body)

        labels = np.zeros((h, w), np.uint8)
        cloth = fg & ~face_mask & ~hair & ~skin
        shoes_l, shoes_r = self._shoes(cloth, body)
        cloth &= ~(shoes_l | shoes_r)
        upper, lower, lower_label, dress = self._garments(img, cloth, body)

        labels[upper] = Label.DRESS if dress else Label.UPPER_CLOTHES
        labels[lower] = Label.DRESS if dress else lower_label
        self._assign_skin(labels, fg & skin & ~face_mask & ~hair, body)
        labels[hair] = Label.HAIR
        labels[face_mask] = Label.FACE
        if face_box is not None:
            # Skin beside or above the face outline (forehead, ears) is part of the head, not the neck.
            x0, y0, x1, y1 = face_box
            fw = x1 - x0
            head = np.zeros((h, w), bool)
            head[max(0, int(y0 - 0.5 * face_h)):max(0, int(y1 - 0.1 * face_h)),
                 max(0, int(x0 - 0.3 * fw)):max(0, int(x1 + 0.3 * fw))] = True
            labels[head & (labels == Label.NECK)] = Label.FACE
        labels[shoes_l] = Label.LEFT_SHOE
        labels[shoes_r] = Label.RIGHT_SHOE
        return labels

    @staticmethod
    def _body(kp: Keypoints, fg: np.ndarray) -> _Body:
        sh = [kp.point(2), kp.point(5)]
        torso = kp.torso_length()
        if sh[0] is not None and sh[1] is not None:
            sw = float(np.linalg.norm(sh[0] - sh[1]))
        elif torso:
            sw = 0.75 * torso
        else:
            ys, xs = np.nonzero(fg)
            sw = 0.25 * float(xs.max() - xs.min() + 1) if len(xs) else 10.0
        if not torso:
            torso = 1.35 * sw
        return _Body(kp, max(sw, 4.0), max(torso, 6.0))

    def _face_region(self, fg, kp, face, s, body):
        h, w = fg.shape
        if face is not None and face.outline is not None:
            mask = _polygon_mask((h, w), face.outline * s)
            box = np.array(face.box, np.float32) * s
        elif face is not None:
            box = np.array(face.box, np.float32) * s
            mask = np.zeros((h, w), np.uint8)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            cv2.ellipse(mask, (int(cx), int(cy)), (int((box[2] - box[0]) / 2), int((box[3] - box[1]) * 0.6)),
                        0, 0, 360, 1, -1)
            mask = mask.astype(bool)
        else:
            # Face turned away or cut off: a head ellipse from the face keypoints, if any.
            pts = [kp.point(j) for j in (0, 15, 16, 17, 18)]
            pts = [p for p in pts if p is not None]
            if not pts:
                return np.zeros((h, w), bool), 0.25 * body.shoulder_width, None
            c = np.mean(pts, axis=0)
            r = 0.2 * body.shoulder_width
            box = np.array([c[0] - r, c[1] - 1.3 * r, c[0] + r, c[1] + 1.1 * r], np.float32)
            mask = np.zeros((h, w), np.uint8)
            cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(r), int(1.2 * r)), 0, 0, 360, 1, -1)
            mask = mask.astype(bool)
        return mask & fg, float(max(box[3] - box[1], 4.0)), box

    @staticmethod
    def _skin(lab, fg, face, s, face_mask, limb_zone, distal_zone, body) -> np.ndarray:
        """Bare skin: a colour model learned on the face (else the hands), widened in the limbs' own tone."""
        samples = face.skin_samples(lab, s) if face is not None else np.empty((0, 3), np.float32)
        if not len(samples):
            samples = lab[face_mask] if face_mask.any() else np.empty((0, 3), np.float32)
        if len(samples) < 5:
            # No face to learn from (a head cut off by the frame): the hands, nearly always bare,
            # where they pass a broad prior skin chroma and are not near grey (a cuff, a pocket);
            # every face in the evalset has a median a of 137 or more and b of 134 or more. The
            # prior alone takes grey and beige fabric for skin.
            hands = _segments_distance(fg.shape, GeometricParser._hands(body)) < 0.12 * body.shoulder_width
            mean, inv = _colour_stats(PRIOR_SKIN[:, 1:], floor=3.0)
            hand = fg & hands & (_mahalanobis2(lab[..., 1:], mean, inv) < 9.0)
            hand &= (lab[..., 1] >= 134) & (lab[..., 2] >= 132)
            samples = lab[hand] if hand.sum() >= 30 else PRIOR_SKIN
        l_med = float(np.median(samples[:, 0]))
        mean, inv = _colour_stats(samples[:, 1:], floor=3.0)
        d2 = _mahalanobis2(lab[..., 1:], mean, inv)
        light = (lab[..., 0] > l_med - 75) & (lab[..., 0] < l_med + 50)
        # Hands, forearms and shins are lit differently from the face: a looser test there.
        skin = fg & light & ((d2 < 9.0) | (distal_zone & (d2 < 25.0)))
        body_skin = skin & distal_zone & ~face_mask
        if body_skin.sum() > 50:
            # Second pass: the body's own skin tone, learned on the distal limbs, applied to the
            # whole limbs (a garment of skin-like colour on the thighs is not learned from). Only
            # if it is still a skin tone: trousers over the shins must not become "skin".
            mean2, inv2 = _colour_stats(lab[body_skin][:, 1:], floor=3.0)
            if _mahalanobis2(mean2, mean, inv) < 9.0:
                l2 = float(np.median(lab[body_skin][:, 0]))
                light2 = (lab[..., 0] > l2 - 60) & (lab[..., 0] < l2 + 45)
                skin |= fg & limb_zone & light2 & (_mahalanobis2(lab[..., 1:], mean2, inv2) < 9.0)
        # Skin is smooth; printed fabric is not. Keep skin pixels with smooth skin close by.
        lum = lab[..., 0]
        local_var = cv2.blur(lum * lum, (5, 5)) - cv2.blur(lum, (5, 5)) ** 2
        smooth = skin & (local_var < 20.0 ** 2)
        skin &= cv2.dilate(smooth.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
        # Specks of skin colour inside a printed garment are not skin: drop small islands.
        min_area = max(4, int(0.0005 * fg.sum()))
        n, comp, stats, _ = cv2.connectedComponentsWithStats(skin.astype(np.uint8), connectivity=8)
        small = np.nonzero(stats[1:, cv2.CC_STAT_AREA] < min_area)[0] + 1
        skin[components_in(comp, small)] = False
        return skin & fg

    @staticmethod
    def _hands(body: _Body) -> list[tuple[np.ndarray, np.ndarray]]:
        """From each wrist on along the forearm's direction, over a hand's length."""
        return body.stretches(((3, 4), (6, 7)), 1.0, 1.45)

    @staticmethod
    def _distal(body: _Body) -> list[tuple[np.ndarray, np.ndarray]]:
        return body.stretches(((3, 4), (6, 7)), 0.5, 1.4) + body.stretches(((10, 11), (13, 14)), 0.2, 0.75)

    @staticmethod
    def _hair(lab, candidates, face_box, face_h, body) -> np.ndarray:
        h, w = candidates.shape
        if face_box is None:
            return np.zeros((h, w), bool)
        x0, y0, x1, y1 = face_box
        fw = x1 - x0
        cx = (x0 + x1) / 2
        neck = body.p(1)
        sh_y = neck[1] if neck is not None else y1 + 0.5 * face_h
        yy, xx = np.mgrid[0:h, 0:w]
        # Where hair can be: around the head, and down beside the neck over the shoulders.
        head_zone = (np.abs(xx - cx) < 1.15 * fw) & (yy < y1 + 0.35 * face_h) & (yy > y0 - 1.0 * face_h)
        long_zone = (np.abs(xx - cx) < 1.4 * fw) & (yy < sh_y + 2.5 * face_h) & (np.abs(xx - cx) > 0.2 * fw)
        zone = candidates & (head_zone | long_zone)
        # Hair colour: pixels above the forehead that are not skin.
        top = candidates & (yy < y0 + 0.1 * face_h) & (yy > y0 - 0.6 * face_h) & (np.abs(xx - cx) < 0.6 * fw)
        if top.sum() < 10:
            top = candidates & head_zone & (yy < y1)
        if top.sum() < 10:
            return np.zeros((h, w), bool)
        mean, inv = _colour_stats(lab[top], floor=8.0)
        close = _mahalanobis2(lab, mean, inv) < 25.0
        hair = zone & (close | (head_zone & (yy < y0 + 0.5 * face_h)))
        # Below the chin hair falls beside the neck, not over the middle of the chest, and as a
        # solid mass: dark dots of a print or a dark top joined to the hair are not hair.
        rs, ls, rh, lh = body.p(2), body.p(5), body.p(9), body.p(12)
        if all(p is not None for p in (rs, ls, rh, lh)):
            torso = np.array([rs, ls, lh, rh])
            core = _polygon_mask((h, w), torso + (torso.mean(axis=0) - torso) * 0.45)
            hair &= ~(core & (yy > y1))
            chest = candidates & core
            if chest.sum() > 20:
                chest_colour = np.median(lab[chest], axis=0)
                if _mahalanobis2(chest_colour, mean, inv) < 16.0:
                    # The top has the hair's colour: below the chin the two cannot be told apart.
                    hair &= yy <= y1 + 0.15 * face_h
        k = max(3, int(face_h / 8)) | 1
        below = hair & (yy > y1)
        below = cv2.morphologyEx(below.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8)).astype(bool)
        hair = (hair & (yy <= y1)) | below
        hair = cv2.morphologyEx(hair.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        # Only hair connected to the head counts (not a dark garment further down).
        seed = np.zeros((h, w), np.uint8)
        cv2.rectangle(seed, (int(x0 - 0.2 * fw), int(y0 - 0.6 * face_h)), (int(x1 + 0.2 * fw), int(y1)), 1, -1)
        n, comp = cv2.connectedComponents(hair.astype(np.uint8), connectivity=8)
        keep = np.unique(comp[(seed > 0) & hair])
        keep = keep[keep > 0]
        return components_in(comp, keep)

    @staticmethod
    def _shoes(cloth, body):
        h, w = cloth.shape
        out = []
        for ankle, knee, heel, toe in ((14, 13, 21, 19), (11, 10, 24, 22)):
            a, k = body.p(ankle), body.p(knee)
            if a is None:
                out.append(np.zeros((h, w), bool))
                continue
            shin = float(np.linalg.norm(a - k)) if k is not None else 0.5 * body.torso_length
            segs = [(a, p) for p in (body.p(heel), body.p(toe)) if p is not None] or [(a, a)]
            near = _segments_distance((h, w), segs) < 0.28 * shin
            yy = np.arange(h)[:, None]
            out.append(cloth & near & (yy > a[1] - 0.12 * shin))
        left, right = out
        return left, right & ~left

    def _garments(self, img, cloth, body):
        """Split garment pixels into upper and lower garments; detect dresses and skirts."""
        h, w = cloth.shape
        empty = np.zeros((h, w), bool)
        if not cloth.any():
            return empty, empty, Label.PANTS, False
        rs, ls, rh, lh = body.p(2), body.p(5), body.p(9), body.p(12)
        neck, mid = body.p(1), body.p(8)
        yy, xx = np.mgrid[0:h, 0:w]
        if neck is None or mid is None:
            # Without a torso we cannot tell garments apart: everything is the upper garment.
            return cloth, empty, Label.PANTS, False
        hip_y = float(mid[1])
        # Seeds: chest and upper arms for the top, thighs for the bottom.
        upper_seed = empty.copy()
        if rs is not None and ls is not None and rh is not None and lh is not None:
            chest = np.array([rs, ls, ls + 0.55 * (lh - ls), rs + 0.55 * (rh - rs)])
            chest = chest + (chest.mean(axis=0) - chest) * 0.15
            upper_seed = _polygon_mask((h, w), chest)
        arms = _segments_distance((h, w), body.chain((2, 3)) + body.chain((5, 6))) < 0.08 * body.shoulder_width
        upper_seed = (upper_seed | arms) & cloth & (yy < hip_y)
        thighs = []
        axis = (mid - neck) / max(float(np.linalg.norm(mid - neck)), 1e-3)
        for hip, knee, ankle in ((9, 10, 11), (12, 13, 14)):
            a, b = body.p(hip), body.p(knee)
            if a is None:
                continue
            if b is None:  # knee out of the frame: the thigh continues along the torso axis
                b = a + axis * 0.9 * body.torso_length
            thighs.append((a + 0.3 * (b - a), b))
            c = body.p(ankle)
            if c is not None and body.p(knee) is not None:
                thighs.append((b, b + 0.5 * (c - b)))
        to_thigh = _segments_distance((h, w), thighs)
        lower_seed = (to_thigh < 0.08 * body.shoulder_width) & cloth & (yy > hip_y)

        scale = 0.15 * body.torso_length
        prior_upper = 1.0 / (1.0 + np.exp(np.clip((yy - hip_y) / scale, -30, 30)))
        # Cloth along a forearm that hangs below the hips is a sleeve more likely than trousers,
        # unless it lies nearer a thigh (a hand resting on the leg).
        forearms = body.chain((3, 4), extend=0.15) + body.chain((6, 7), extend=0.15)
        if forearms and thighs:
            to_arm = _segments_distance((h, w), forearms)
            sleeve = (to_arm < 0.12 * body.shoulder_width) & (to_arm < to_thigh)
            prior_upper = np.where(sleeve, np.maximum(prior_upper, 0.8), prior_upper)
        if lower_seed.sum() < 20 or upper_seed.sum() < 20:
            upper = cloth & (prior_upper > 0.5) if lower_seed.sum() >= 20 else cloth
            lower = cloth & ~upper
        else:
            hu, hl = _histogram(img[upper_seed]), _histogram(img[lower_seed])
            similarity = float(np.sum(np.sqrt(hu * hl)))
            lu, ll = _lookup(hu, img) + 1e-5, _lookup(hl, img) + 1e-5
            post = lu * prior_upper / (lu * prior_upper + ll * (1 - prior_upper))
            sigma = max(1.0, 0.012 * h)
            post = cv2.GaussianBlur(post.astype(np.float32), (0, 0), sigma)
            upper = cloth & (post > 0.5)
            lower = cloth & ~upper
            upper = largest_components(upper, min_share=0.15) | (upper & (yy < hip_y - scale))
            lower = cloth & ~upper
            if similarity > 0.55 and self._skirt_like(cloth, body, hip_y):
                return upper, lower, Label.SKIRT, True
        lower_label = Label.SKIRT if lower.any() and self._skirt_like(lower, body, hip_y) else Label.PANTS
        return upper, lower, lower_label, False

    @staticmethod
    def _skirt_like(garment: np.ndarray, body: _Body, hip_y: float) -> bool:
        """True when the garment covers the gap between the legs (skirt, dress), not each leg (trousers)."""
        rk, lk, rh, lh = body.p(10), body.p(13), body.p(9), body.p(12)
        if rk is None or lk is None or rh is None or lh is None:
            return False
        rows = np.nonzero(garment.any(axis=1))[0]
        rows = rows[rows > hip_y]
        if len(rows) < 4:
            return False
        hem = rows.max()
        knee_y = (rk[1] + lk[1]) / 2
        y_from = hip_y + 0.45 * (knee_y - hip_y)
        y_to = min(hem - 2, knee_y)
        if y_to <= y_from:
            # Garment ends above the crotch: a mini skirt or shorts, judged at its lowest rows.
            y_from, y_to = hip_y + 0.6 * (hem - hip_y), hem - 1
        covered = []
        for y in np.linspace(y_from, y_to, 8):
            t = (y - hip_y) / max(knee_y - hip_y, 1.0)
            xr = rh[0] + t * (rk[0] - rh[0])
            xl = lh[0] + t * (lk[0] - lh[0])
            cx = int(round((xr + xl) / 2))
            yi = int(round(y))
            if 0 <= yi < garment.shape[0] and 0 <= cx < garment.shape[1]:
                covered.append(garment[yi, max(0, cx - 1): cx + 2].all())
        return bool(covered) and float(np.mean(covered)) >= 0.7

    @staticmethod
    def _assign_skin(labels: np.ndarray, skin: np.ndarray, body: _Body) -> None:
        h, w = labels.shape
        parts = [
            (Label.LEFT_ARM, body.chain((5, 6, 7), extend=0.5)),
            (Label.RIGHT_ARM, body.chain((2, 3, 4), extend=0.5)),
            (Label.LEFT_LEG, body.chain((12, 13, 14, 19))),
            (Label.RIGHT_LEG, body.chain((9, 10, 11, 22))),
            (Label.NECK, body.chain((0, 1, 8)) + body.chain((2, 1, 5)) + body.chain((9, 8, 12))),
        ]
        dist = np.stack([_segments_distance((h, w), segs) for _, segs in parts])
        rs, ls, rh, lh = body.p(2), body.p(5), body.p(9), body.p(12)
        if all(p is not None for p in (rs, ls, rh, lh)):
            # Skin inside the torso outline is torso skin, unless an arm is right there (a hand
            # resting on the belly, a forearm across the body).
            inside = _polygon_mask((h, w), np.array([rs, ls, lh, rh]))
            dist[-1][inside] = np.minimum(dist[-1][inside], 0.12 * body.shoulder_width)
        codes = np.array([p for p, _ in parts], np.uint8)
        labels[skin] = codes[np.argmin(dist[:, skin], axis=0)]

    @staticmethod
    def _upsample(labels: np.ndarray, fg: np.ndarray, person: np.ndarray, size: tuple[int, int]) -> np.ndarray:
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
        keep = cv2.dilate(keep.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & (person > 0.5)
        return np.where(keep, up, 0).astype(np.uint8)
