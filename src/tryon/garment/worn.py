"""Garment photos that show a person wearing the garment (on-model shots).

Many shops have only on-model photos. Taken as a product photo, such a picture gives a garment
"outline" that is the whole person, and an engine would paste a body. So the garment analysis
first asks whether a person wears the garment, and if so cuts the garment out along our parse and
lays it on white (the same cut-out that turns person photos into training pairs); where that
fails it refuses, saying why. Never a body.

Deciding is two steps, because most garment photos are product shots and the person analysis
costs about a second on a CPU. First a light check on a small copy of the photo (tens of
milliseconds): the pose model must see a head and shoulders clearly, and the head must be a
head: skin-coloured at the nose and mouth, or found by the face detector. Neither signal alone
does: the pose model sees a head in a T-shirt's outline, the face detector fires on printed logos
and misses faces the frame cuts at the eyes (common in shop photos); a T-shirt's "face" is rarely
skin-coloured. The body must also be shaped like one (the head above the shoulders, the hips
below): in a print the pose model can make up a whole skeleton a few pixels wide.

Shops also crop on-model photos at the mouth or the chest, and the pose model needs a face to
find a body. Where the pose model still places one, with the nose above the frame, the hands it
places must be bare skin instead of the face. And a photo the pose checks pass over is searched for
hands (MediaPipe Hands, which needs no face): product shots show none (none of the evalset's
product photos, on either half), while a wearer's hands hang beside the garment.

Only for photos that pass, the person analysis. A head and shoulders it cannot confirm is taken
for a product shot (the pose model saw a figure in the garment); hands it cannot place on a body
give a refusal, as the photo surely shows a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import GarmentError, InputError, MultiplePersonsError, NoPersonError
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.hands import HandEstimator
from tryon.person.pose import PoseEstimator
from tryon.garment.flatlay import FlatLay, FlatLayParams, flat_lay

#: MediaPipe's own landmark numbers for the nose, the eyes' centres and the mouth's corners...
_HEAD_LANDMARKS = [0, 2, 5, 9, 10]
#: ... the nose and the mouth's corners, where a face shows bare skin...
_SKIN_LANDMARKS = [0, 9, 10]
#: ... the shoulders (their visibility is asked for, not the hips': shop photos of tops often end at
#: the waist, though the pose model still places the hips)...
_SHOULDER_LANDMARKS = [11, 12]
#: ... the hips...
_HIP_LANDMARKS = [23, 24]
#: ... and the wrists, little fingers and index fingers, bare skin on a wearer whose head the frame cuts.
_HAND_LANDMARKS = [15, 16, 17, 18, 19, 20]


@dataclass(frozen=True)
class WornParams:
    """The tuning numbers of :func:`find_wearer` and :func:`worn_garment`."""

    #: The pose check runs on a copy of the photo shrunk to this long side: the pose model sees
    #: 256 px anyway, and shrinking first saves most of its time on large shop photos.
    check_side: int = 512
    #: Least visibility (0..1) the pose check must give every head landmark and both shoulders. On
    #: the tuning half people scored 0.97 and more; the pose model also sees heads in product shots.
    min_visibility: float = 0.9
    #: Least distance between the shoulders, as a share of the photo's height: a body has width (a
    #: side view brings the shoulders close: 0.017 on the tuning half), while a body the pose model
    #: makes up in a garment's outline can collapse them to a point (0.004 on a pair of jeans).
    min_shoulder_span: float = 0.01
    #: Least height of the nose above the shoulders' midpoint, and of the hips' midpoint below it,
    #: as shares of the shoulder span: the tuning half's people gave at least 0.44 and 1.28 (a
    #: head and a torso); a skeleton made up in a garment's print gave -0.09 and -0.74.
    min_neck: float = 0.25
    min_torso: float = 0.8
    #: Least share of the hand landmarks inside the photo that must be skin-coloured when the frame
    #: cuts the head off (a sleeve or the background covers some: 4 of 6 on the tuning half's
    #: on-model dress, none on the product shots the pose model saw a figure in).
    min_skin_hands: float = 0.5
    #: Photos with less than this share of skin-coloured pixels (about one hand in a full-length
    #: shot) are product shots without looking further: every path above needs bare skin (or a face,
    #: which is skin). About half of the evalset's product photos have less (white, black, blue
    #: garments), its person photos 0.01 and more. (A greyscale on-model photo has none either: it is
    #: taken for a product shot.)
    min_skin_share: float = 0.002
    #: Least share of skin-coloured pixels for the hand detector to be asked, when no head and
    #: shoulders were seen: hands and wrists are that much at least. Half the least of the tuning
    #: half's person photos (0.0104; the checking half's 0.0096). The product photos it spares (a
    #: quarter to a half of them: beige, pink, brown fabric) took 35 ms each for nothing.
    min_skin_share_hands: float = 0.005
    #: Least confidence of the hand detector for a hand to count. The tuning half's people it found
    #: hands in scored 0.67 and more; on product photos it found none at 0.5.
    min_hand_confidence: float = 0.5
    #: Skin at the nose and mouth, in HSV (hue in degrees, saturation and value 0..1), whatever the
    #: skin tone: the tuning half's people gave hue 8-24, saturation 0.27-0.58, value 0.36-0.96;
    #: the product shots the pose model saw a head in gave hues of 220 and more (the fabric).
    skin_hue: tuple[float, float] = (0.0, 40.0)
    skin_saturation: tuple[float, float] = (0.15, 0.75)
    skin_min_value: float = 0.2
    #: The patch sampled around each of those landmarks, as a share of the small copy's height.
    skin_patch: float = 0.01
    #: The cut-out, laid on white as a product photo: no jitter and no perspective (those serve
    #: training), the garment filling this share of the canvas along its limiting side.
    #: Its gaps (lace, a sheer skirt, a print the parse took for skin) are closed: a product photo
    #: shows a whole garment, and the warp engine reads bites in the outline as sleeves.
    lay: FlatLayParams = field(default_factory=lambda: FlatLayParams(
        perspective=0.0, scale_range=(0.85, 0.85), max_offset=0.0, brightness=0.0, contrast=0.0,
        saturation=0.0, hue_degrees=0.0, close_fraction=0.1))


class WearerCheck:
    """Finds the person wearing the garment in a garment photo, if any. Not thread-safe.

    ``persons`` gives the person analyser (called only for photos the pose check flags, so a
    caller that has one shares it, and one that has none loads it only when needed)."""

    def __init__(self, persons=None, params: WornParams = WornParams()):
        self.params = params
        self._persons = persons
        self._own_persons: PersonAnalyzer | None = None
        self._pose: PoseEstimator | None = None
        self._hands: HandEstimator | None = None

    @property
    def persons(self) -> PersonAnalyzer:
        if self._persons is not None:
            return self._persons()
        if self._own_persons is None:
            self._own_persons = PersonAnalyzer()
        return self._own_persons

    def load(self) -> None:
        """Loads the pose and hand models now, each run once (else on first need, which costs the
        first garment photo about a second): the service loads everything at start-up."""
        if self._pose is None:
            self._pose = PoseEstimator(complexity=1)  # the model the mediapipe wheel bundles
        if self._hands is None:
            self._hands = HandEstimator(min_confidence=self.params.min_hand_confidence)
            self._hands(np.zeros((64, 64, 3), np.uint8))  # its first run logs TensorFlow Lite's set-up

    def _small(self, image: np.ndarray) -> np.ndarray:
        scale = self.params.check_side / max(image.shape[:2])
        return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image

    def _flagged(self, image: np.ndarray, small: np.ndarray, hsv: np.ndarray) -> bool:
        """The light check: a head and shoulders clearly seen, shaped like a body, and the head a head
        (or, where the frame cuts the nose and mouth off, the hands bare skin)."""
        self.load()
        p = self.params
        try:
            pose = self._pose(small)
        except NoPersonError:
            return False
        if pose.visibility[_HEAD_LANDMARKS + _SHOULDER_LANDMARKS].min() < p.min_visibility:
            return False
        points = pose.landmarks[:, :2] * (small.shape[1], small.shape[0])
        shoulders = points[_SHOULDER_LANDMARKS].mean(axis=0)
        span = float(np.linalg.norm(points[_SHOULDER_LANDMARKS[0]] - points[_SHOULDER_LANDMARKS[1]]))
        if span < p.min_shoulder_span * small.shape[0]:
            return False
        neck = shoulders[1] - points[_HEAD_LANDMARKS[0], 1]
        torso = points[_HIP_LANDMARKS, 1].mean() - shoulders[1]
        if neck < p.min_neck * span or torso < p.min_torso * span:
            return False
        patches = self._patches(hsv, points[_SKIN_LANDMARKS])
        if not patches:  # the frame cuts the nose and mouth off
            hands = [self._is_skin(patch) for patch in self._patches(hsv, points[_HAND_LANDMARKS])]
            return bool(hands) and np.mean(hands) >= p.min_skin_hands
        nose = pose.landmarks[_HEAD_LANDMARKS[0], :2] * (image.shape[1], image.shape[0])
        return self._is_skin(np.concatenate(patches)) or self._face_at(image, nose)

    def _has_hands(self, small: np.ndarray) -> bool:
        self.load()
        return bool(self._hands(small))

    def _patches(self, hsv: np.ndarray, points: np.ndarray) -> list[np.ndarray]:
        """The pixels of the small copy in HSV (hue 0..255 for 0..360 degrees) around each point
        inside it."""
        h, w = hsv.shape[:2]
        r = max(1, round(self.params.skin_patch * h))
        return [hsv[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3)
                for x, y in np.round(points).astype(int) if 0 <= x < w and 0 <= y < h]

    def _skin_mask(self, hsv: np.ndarray) -> np.ndarray:
        """Which HSV values (hue 0..255 for 0..360 degrees; the last axis) are skin-coloured."""
        p = self.params
        hue, sat, val = np.moveaxis(hsv / np.array([255 / 360, 255, 255], np.float32), -1, 0)
        return ((p.skin_hue[0] <= hue) & (hue <= p.skin_hue[1]) & (p.skin_saturation[0] <= sat)
                & (sat <= p.skin_saturation[1]) & (val >= p.skin_min_value))

    def _is_skin(self, pixels: np.ndarray) -> bool:
        """Whether the median of these HSV pixels is skin-coloured."""
        return bool(self._skin_mask(np.median(pixels, axis=0)))

    def _face_at(self, image: np.ndarray, nose: np.ndarray) -> bool:
        """A face found around the pose's nose (the face detector alone fires on printed patches)."""
        try:
            face = self.persons.face(image)
        except MultiplePersonsError:
            return True  # the analysis says so, with its reason
        if face is None:
            return False
        x0, y0, x1, y1 = face.box
        return bool(x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1)

    def __call__(self, image: np.ndarray) -> PersonAnalysis | None:
        """The analysis of the person wearing the garment, or None for a product shot."""
        small = self._small(image)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL)
        skin = float(np.mean(self._skin_mask(hsv)))
        if skin < self.params.min_skin_share:
            return None
        hands = None  # looked for only when needed: the hand detector costs about 35 ms
        if not self._flagged(image, small, hsv):
            hands = skin >= self.params.min_skin_share_hands and self._has_hands(small)
            if not hands:
                return None
        try:
            return self.persons.analyze(image)
        except MultiplePersonsError:
            raise GarmentError("the garment photo shows several people: crop it to the one wearing the "
                               "garment, or use a product photo") from None
        except NoPersonError:
            if not (self._has_hands(small) if hands is None else hands):
                return None  # the pose check saw a figure in the garment itself
            raise GarmentError("the garment photo shows a person's hands, and the body wearing the garment "
                               "could not be found (the head and shoulders must be in the photo): use a "
                               "product photo, or an on-model photo from the head down") from None

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
        if self._hands is not None:
            self._hands.close()
        if self._own_persons is not None:
            self._own_persons.close()


def worn_garment(analysis: PersonAnalysis, category: Category | str | None = None,
                 params: WornParams = WornParams()) -> FlatLay:
    """The garment of ``category`` (by default the most visible one) that the analysed person
    wears, laid on white on a canvas of the photo's size, or :class:`GarmentError` saying why not."""
    h, w = analysis.image.shape[:2]
    try:
        return flat_lay(analysis.image, analysis.parse, (w, h), np.random.default_rng(0),
                        None if category is None else Category.parse(category), params.lay)
    except InputError as exc:
        raise GarmentError(f"the garment photo shows a person, and {exc}: use a product photo of the garment, "
                           "or a photo in which it is seen whole") from None
