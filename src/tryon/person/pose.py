"""Pose landmarks and the pose model's person segmentation, from MediaPipe's bundled BlazePose."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tryon import assets
from tryon.errors import ModelUnavailableError, NoPersonError
from tryon.native import quiet_stderr
from tryon.person.keypoints import Keypoints

log = logging.getLogger(__name__)


@dataclass
class PoseResult:
    keypoints: Keypoints  # BODY_25, pixels
    landmarks: np.ndarray  # (33, 3) MediaPipe landmarks, normalised x, y and relative z
    visibility: np.ndarray  # (33,)
    segmentation: np.ndarray | None  # (H, W) float32 0..1 person probability


HEAVY = "pose_landmark_heavy.tflite"


def _install_heavy_model(folder: Path | None = None) -> bool:
    """Put the heavy landmark model where mediapipe 0.10.14 looks for it (its own package folder,
    unless ``folder`` says otherwise).

    The copy lands under a temporary name and is renamed into place, and a file of the wrong size
    is replaced: mediapipe crashes the process (a segmentation fault) on a truncated model, which
    a reader racing a copy in another thread would otherwise load, and keep loading ever after.
    """
    if folder is None:
        import mediapipe

        folder = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    target = folder / HEAVY
    if target.is_file() and target.stat().st_size == assets.MODELS[HEAVY].size:
        return True
    partial = None
    try:
        source = assets.fetch(HEAVY)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=HEAVY, suffix=".part", delete=False) as fh:
            partial = Path(fh.name)
            with open(source, "rb") as src:
                shutil.copyfileobj(src, fh)
        partial.chmod(0o644)  # readable like the package's own files (temporary files are private)
        partial.replace(target)
        return True
    except (ModelUnavailableError, OSError) as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        log.warning("heavy pose model unavailable (%s); using the bundled full model", exc)
        return False


class PoseEstimator:
    """One MediaPipe pose session. Calls from several threads take turns (a MediaPipe graph runs one
    image at a time): for poses in parallel, use one per thread or process."""

    def __init__(self, complexity: int | None = None, min_visibility: float = 0.5, video: bool = False):
        import mediapipe as mp

        if complexity is None:
            complexity = int(os.environ.get("TRYON_POSE_COMPLEXITY", 2))
        if complexity == 2 and not _install_heavy_model():
            complexity = 1
        self.complexity = complexity
        self.min_visibility = min_visibility
        # Video mode tracks the body from the previous frame instead of detecting it afresh:
        # several times faster on a stream. Smoothing is ours (tryon.person.smoothing).
        self.video = video
        with quiet_stderr():
            self._pose = mp.solutions.pose.Pose(
                static_image_mode=not video,
                model_complexity=complexity,
                smooth_landmarks=False,
                enable_segmentation=True,
                min_detection_confidence=0.5,
            )
            self._pose.process(np.zeros((64, 64, 3), np.uint8))  # warm-up: graph start-up logs
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> PoseResult:
        h, w = image.shape[:2]
        with self._lock:
            res = self._pose.process(np.ascontiguousarray(image))
        if res.pose_landmarks is None:
            raise NoPersonError("no person found in the photo (the head and shoulders must be visible)")
        lm = np.array([[p.x, p.y, p.z] for p in res.pose_landmarks.landmark], np.float32)
        vis = np.array([p.visibility for p in res.pose_landmarks.landmark], np.float32)
        kp = Keypoints.from_mediapipe(lm, vis, w, h, self.min_visibility)
        seg = None if res.segmentation_mask is None else np.asarray(res.segmentation_mask, np.float32)
        return PoseResult(kp, lm, vis, seg)

    def close(self) -> None:
        self._pose.close()
