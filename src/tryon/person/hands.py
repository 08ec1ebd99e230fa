"""Hand keypoints: MediaPipe Hands, whose model ships inside the mediapipe wheel (nothing to fetch).

Its 21 landmarks per hand come in OpenPose's hand order (wrist, then four joints per finger from the
thumb to the little finger), which is also the whole-body pose estimators' (DWPose's) hand order.
"""

from __future__ import annotations

import threading

import numpy as np

from tryon.native import quiet_stderr

#: A hand is kept when MediaPipe is at least this sure of it.
MIN_HAND_CONFIDENCE = 0.5


class HandEstimator:
    """Both hands of the person in a still photo. Calls from several threads take turns (a MediaPipe
    graph runs one image at a time)."""

    def __init__(self, max_hands: int = 2, min_confidence: float = MIN_HAND_CONFIDENCE):
        import mediapipe as mp

        with quiet_stderr():
            self._hands = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=max_hands,
                                                   min_detection_confidence=min_confidence)
        self._first = True  # TensorFlow Lite logs its set-up on the first inference, not at loading
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        """(21, 2) landmarks per hand found, x and y normalised to [0, 1] by the photo's width and height."""
        with self._lock:
            if self._first:
                with quiet_stderr():
                    found = self._hands.process(np.ascontiguousarray(image)).multi_hand_landmarks
                self._first = False
            else:
                found = self._hands.process(np.ascontiguousarray(image)).multi_hand_landmarks
        return [np.array([[p.x, p.y] for p in hand.landmark], np.float32) for hand in found or []]

    def close(self) -> None:
        self._hands.close()
