"""PersonAnalyzer: one session that runs every person-analysis stage on a photo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from tryon.category import Category
from tryon.errors import InputError, NoPersonError
from tryon.imageio import ImageSource, load_image
from tryon.person.agnostic import agnostic_mask
from tryon.person.face import Face, FaceAnalyzer
from tryon.person.keypoints import Keypoints
from tryon.person.parsing import GeometricParser, Parser
from tryon.person.pose import PoseEstimator
from tryon.person.segmentation import PersonSegmenter

#: The body must show at least these BODY_25 joints (neck and both shoulders) to be dressed.
_REQUIRED_JOINTS = (1, 2, 5)


@dataclass
class PersonAnalysis:
    """Everything later stages need to know about the person photo (full resolution)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    keypoints: Keypoints  # BODY_25
    person_mask: np.ndarray  # (H, W) uint8, 255 = person
    parse: np.ndarray  # (H, W) uint8, LIP labels
    face: Face | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def face_box(self) -> tuple[int, int, int, int] | None:
        return None if self.face is None else self.face.box

    def agnostic_mask(self, category: Category | str, length: float | None = None) -> np.ndarray:
        return agnostic_mask(self.parse, self.keypoints, category, length)


class PersonAnalyzer:
    """Loads the models once; ``analyze`` is then cheap. Not thread-safe (one per worker)."""

    def __init__(self, parser: Parser | None = None, pose_complexity: int | None = None):
        self.pose = PoseEstimator(pose_complexity)
        self.face = FaceAnalyzer()
        self.segmenter = PersonSegmenter()
        self.parser = parser or GeometricParser()

    def analyze(self, source: ImageSource, keypoints: Keypoints | None = None) -> PersonAnalysis:
        """Analyse a person photo; ``keypoints`` (e.g. from a dataset's OpenPose files) replace
        the pose estimate, which then only serves the person mask."""
        image = load_image(source)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        face = self.face(image)  # raises MultiplePersonsError for crowded photos
        timings["face"] = time.perf_counter() - t0
        t = time.perf_counter()
        pose = self.pose(image)
        if keypoints is not None:
            if (keypoints.width, keypoints.height) != (image.shape[1], image.shape[0]):
                raise InputError(f"keypoints are for a {keypoints.width}x{keypoints.height} image, "
                                 f"the photo is {image.shape[1]}x{image.shape[0]}")
            pose.keypoints = keypoints
        timings["pose"] = time.perf_counter() - t
        missing = [j for j in _REQUIRED_JOINTS if not pose.keypoints.seen(j)]
        if missing:
            raise NoPersonError("no person with visible shoulders found in the photo")
        t = time.perf_counter()
        soft = self.segmenter(image, pose.segmentation)
        timings["segmentation"] = time.perf_counter() - t
        if (soft > 0.5).mean() < 0.01:
            raise NoPersonError("the person covers less than 1% of the photo")
        t = time.perf_counter()
        parse = self.parser(image, soft, pose.keypoints, face)
        timings["parsing"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        person = ((parse > 0) | (soft > 0.5)).astype(np.uint8) * 255
        return PersonAnalysis(image, pose.keypoints, person, parse, face, timings)

    def close(self) -> None:
        for part in (self.pose, self.face, self.segmenter):
            part.close()

    def __enter__(self) -> "PersonAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
