"""PersonAnalyzer: one session that runs every person-analysis stage on a photo."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.category import Category
from tryon.errors import InputError, NoPersonError
from tryon.imageio import ImageSource, load_image
from tryon.person.agnostic import agnostic_mask
from tryon.person.face import Face, FaceAnalyzer
from tryon.person.keypoints import Joint, Keypoints
from tryon.person.parsing import GeometricParser, Parser
from tryon.person.pose import PoseEstimator, PoseResult
from tryon.person.segmentation import PersonSegmenter
from tryon.person.smoothing import KeypointSmoother

#: The body must show at least these BODY_25 joints (neck and both shoulders) to be dressed.
_REQUIRED_JOINTS = (Joint.NECK, Joint.R_SHOULDER, Joint.L_SHOULDER)


@dataclass
class PersonAnalysis:
    """Everything later stages need to know about the person photo (full resolution)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    keypoints: Keypoints  # BODY_25
    person_mask: np.ndarray  # (H, W) uint8, 255 = person
    parse: np.ndarray  # (H, W) uint8, LIP labels
    face: Face | None
    timings: dict[str, float] = field(default_factory=dict)
    # (H, W) bool: the pose model's person mask (clothes included), when it gave one. Known before
    # the parse, so what is fitted from it then (a sleeve's stand-off) is fitted the same after.
    pose_mask: np.ndarray | None = None

    @property
    def face_box(self) -> tuple[int, int, int, int] | None:
        return None if self.face is None else self.face.box

    def agnostic_mask(self, category: Category | str, length: float | None = None) -> np.ndarray:
        return agnostic_mask(self.parse, self.keypoints, category, length)

    def upscaled(self, image: np.ndarray) -> "PersonAnalysis":
        """This analysis carried to a larger copy of its photo (labels by nearest neighbour).

        Live mode analyses a reduced frame, which costs a quarter as much, and dresses the full one.
        """
        h, w = image.shape[:2]
        sx, sy = w / self.image.shape[1], h / self.image.shape[0]
        size = (w, h)
        face = None
        if self.face is not None:
            x0, y0, x1, y1 = self.face.box
            box = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
            scale = np.array([sx, sy], np.float32)
            face = Face(box, self.face.score, None if self.face.outline is None else self.face.outline * scale,
                        self.face.skin_points * scale)
        return PersonAnalysis(image, self.keypoints.scaled(sx, sy, w, h),
                              cv2.resize(self.person_mask, size, interpolation=cv2.INTER_NEAREST),
                              cv2.resize(self.parse, size, interpolation=cv2.INTER_NEAREST), face, dict(self.timings),
                              None if self.pose_mask is None else
                              cv2.resize(self.pose_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0)


def _on_head(face: Face | None, kp: Keypoints) -> Face | None:
    """The face, unless it lies below the shoulders: there it is something face-like (clasped
    hands, a printed face) in a photo whose real face the frame cuts off."""
    if face is None or not (kp.seen(Joint.R_SHOULDER) and kp.seen(Joint.L_SHOULDER)):
        return face
    if (face.box[1] + face.box[3]) / 2 > max(kp.xy[Joint.R_SHOULDER][1], kp.xy[Joint.L_SHOULDER][1]):
        return None
    return face


@dataclass
class LocatedPerson:
    """The first half of a person analysis: the face and the pose (keypoints known, no parse yet).
    What needs only the keypoints (fitting an upper garment) can start from here while the parse
    is computed."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    face: Face | None
    pose: PoseResult
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def keypoints(self) -> Keypoints:
        return self.pose.keypoints

    @property
    def pose_mask(self) -> np.ndarray | None:
        """(H, W) bool: the pose model's person mask, if it gave one."""
        seg = self.pose.segmentation
        return None if seg is None else seg > 0.5


class PersonAnalyzer:
    """Loads the models once; ``analyze`` is then cheap. Each model runs one image at a time:
    analyses from several threads are safe but take turns (for speed, one analyser per worker)."""

    def __init__(self, parser: Parser | None = None, pose_complexity: int | None = None, video: bool = False):
        """``video``: frames of one stream, in order; the pose is tracked and its keypoints smoothed."""
        self.pose = PoseEstimator(pose_complexity, video=video)
        self.smoother = KeypointSmoother() if video else None
        self.face = FaceAnalyzer()
        self.segmenter = PersonSegmenter()
        self.parser = parser or GeometricParser()

    def analyze(self, source: ImageSource, keypoints: Keypoints | None = None,
                timestamp: float | None = None) -> PersonAnalysis:
        """Analyse a person photo; ``keypoints`` (e.g. from a dataset's OpenPose files) replace
        the pose estimate, which then only serves the person mask. In video mode, ``timestamp``
        (seconds) is the frame's time, for the smoothing."""
        return self.finish(self.locate(source, keypoints, timestamp))

    def locate(self, source: ImageSource, keypoints: Keypoints | None = None,
               timestamp: float | None = None) -> LocatedPerson:
        """Face and pose, the first half of :meth:`analyze` (same arguments); :meth:`finish` does the rest."""
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
        elif self.smoother is not None:
            pose.keypoints = self.smoother(pose.keypoints, time.perf_counter() if timestamp is None else timestamp)
        timings["pose"] = time.perf_counter() - t
        missing = [j for j in _REQUIRED_JOINTS if not pose.keypoints.seen(j)]
        if missing:
            raise NoPersonError("no person with visible shoulders found in the photo")
        return LocatedPerson(image, _on_head(face, pose.keypoints), pose, timings)

    def finish(self, located: LocatedPerson) -> PersonAnalysis:
        """Person mask and parse of a located person: the second half of :meth:`analyze`."""
        image, timings = located.image, dict(located.timings)
        t = time.perf_counter()
        soft = self.segmenter(image, located.pose.segmentation)
        timings["segmentation"] = time.perf_counter() - t
        if (soft > 0.5).mean() < 0.01:
            raise NoPersonError("the person covers less than 1% of the photo")
        t = time.perf_counter()
        parse = self.parser(image, soft, located.keypoints, located.face)
        timings["parsing"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        person = ((parse > 0) | (soft > 0.5)).astype(np.uint8) * 255
        return PersonAnalysis(image, located.keypoints, person, parse, located.face, timings, located.pose_mask)

    def close(self) -> None:
        for part in (self.pose, self.face, self.segmenter):
            part.close()

    def __enter__(self) -> "PersonAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
