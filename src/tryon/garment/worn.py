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
skin-coloured. Only for photos that pass, the person analysis (which must find the person).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import GarmentError, InputError, MultiplePersonsError, NoPersonError
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.pose import PoseEstimator
from tryon.garment.flatlay import FlatLay, FlatLayParams, flat_lay

#: MediaPipe's own landmark numbers for the nose, the eyes' centres and the mouth's corners...
_HEAD_LANDMARKS = [0, 2, 5, 9, 10]
#: ... the nose and the mouth's corners, where a face shows bare skin...
_SKIN_LANDMARKS = [0, 9, 10]
#: ... and the shoulders (hips are not asked for: shop photos of tops often end at the waist).
_SHOULDER_LANDMARKS = [11, 12]


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
    lay: FlatLayParams = field(default_factory=lambda: FlatLayParams(
        perspective=0.0, scale_range=(0.85, 0.85), max_offset=0.0, brightness=0.0, contrast=0.0,
        saturation=0.0, hue_degrees=0.0))


class WearerCheck:
    """Finds the person wearing the garment in a garment photo, if any. Not thread-safe.

    ``persons`` gives the person analyser (called only for photos the pose check flags, so a
    caller that has one shares it, and one that has none loads it only when needed)."""

    def __init__(self, persons=None, params: WornParams = WornParams()):
        self.params = params
        self._persons = persons
        self._own_persons: PersonAnalyzer | None = None
        self._pose: PoseEstimator | None = None

    @property
    def persons(self) -> PersonAnalyzer:
        if self._persons is not None:
            return self._persons()
        if self._own_persons is None:
            self._own_persons = PersonAnalyzer()
        return self._own_persons

    def _flagged(self, image: np.ndarray) -> bool:
        """The light check: a head and shoulders clearly seen, and the head a head."""
        if self._pose is None:
            self._pose = PoseEstimator(complexity=1)  # the model the mediapipe wheel bundles
        p = self.params
        scale = p.check_side / max(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        try:
            pose = self._pose(small)
        except NoPersonError:
            return False
        if pose.visibility[_HEAD_LANDMARKS + _SHOULDER_LANDMARKS].min() < p.min_visibility:
            return False
        shoulders = pose.landmarks[_SHOULDER_LANDMARKS, :2] * (small.shape[1], small.shape[0])
        if np.linalg.norm(shoulders[0] - shoulders[1]) < p.min_shoulder_span * small.shape[0]:
            return False
        nose = pose.landmarks[_HEAD_LANDMARKS[0], :2] * (image.shape[1], image.shape[0])
        return self._skin_at_face(small, pose.landmarks[_SKIN_LANDMARKS, :2]) or self._face_at(image, nose)

    def _skin_at_face(self, small: np.ndarray, points: np.ndarray) -> bool:
        p = self.params
        h, w = small.shape[:2]
        r = max(1, round(p.skin_patch * h))
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV_FULL)  # hue 0..255 for 0..360 degrees
        patches = [hsv[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3)
                   for x, y in np.round(points * (w, h)).astype(int) if 0 <= x < w and 0 <= y < h]
        if not patches:  # the head is outside the frame
            return False
        hue, sat, val = np.median(np.concatenate(patches), axis=0) / (255 / 360, 255, 255)
        return bool(p.skin_hue[0] <= hue <= p.skin_hue[1] and p.skin_saturation[0] <= sat <= p.skin_saturation[1]
                    and val >= p.skin_min_value)

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
        if not self._flagged(image):
            return None
        try:
            analysis = self.persons.analyze(image)
        except MultiplePersonsError:
            raise GarmentError("the garment photo shows several people: crop it to the one wearing the "
                               "garment, or use a product photo") from None
        except NoPersonError:
            return None
        return analysis

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
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
