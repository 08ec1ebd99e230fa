"""Garment photos that show a person wearing the garment (on-model shots).

Many shops have only on-model photos. Taken as a product photo, such a picture gives a garment
"outline" that is the whole person, and an engine would paste a body. So the garment analysis
first asks whether a person wears the garment, and if so cuts the garment out along our parse and
lays it on white (the same cut-out that turns person photos into training pairs); where that
fails it refuses, saying why. Never a body.

Deciding is two steps, because most garment photos are product shots and the person analysis
costs about a second on a CPU: a light pose check on a small copy of the photo (tens of
milliseconds) for a head and shoulders seen clearly, and only for photos it flags, the person
analysis (which must find the person). A face detector alone would not do: it misses faces the
frame cuts at the eyes, common in shop photos, and fires on printed logos; the pose model sees a
head there too, but only with less certainty on a T-shirt's outline than on a real head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import GarmentError, InputError, MultiplePersonsError, NoPersonError
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.pose import PoseEstimator
from tryon.training.flatlay import FlatLay, FlatLayParams, flat_lay

#: MediaPipe's own landmark numbers for the nose, the eyes' centres and the mouth's corners...
_HEAD_LANDMARKS = [0, 2, 5, 9, 10]
#: ... and for the shoulders (hips are not asked for: shop photos of tops often end at the waist).
_SHOULDER_LANDMARKS = [11, 12]


@dataclass(frozen=True)
class WornParams:
    """The tuning numbers of :func:`find_wearer` and :func:`worn_garment`."""

    #: The pose check runs on a copy of the photo shrunk to this long side: the pose model sees
    #: 256 px anyway, and shrinking first saves most of its time on large shop photos.
    check_side: int = 512
    #: Least visibility (0..1) the pose check must give every head landmark. On the tuning half
    #: people scored 1.00 (to two places) on every photo with a head in the frame; the one product
    #: photo flagged (a printed T-shirt) scored 0.96 to 0.99.
    head_visibility: float = 0.995
    #: Least visibility of both shoulders (people on the tuning half: 0.97 and more).
    shoulder_visibility: float = 0.9
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
        """The light pose check: a head and shoulders clearly seen."""
        if self._pose is None:
            self._pose = PoseEstimator(complexity=1)  # the model the mediapipe wheel bundles
        scale = self.params.check_side / max(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        try:
            visibility = self._pose(small).visibility
        except NoPersonError:
            return False
        return bool(visibility[_HEAD_LANDMARKS].min() >= self.params.head_visibility
                    and visibility[_SHOULDER_LANDMARKS].min() >= self.params.shoulder_visibility)

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
