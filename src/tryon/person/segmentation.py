"""Person mask: MediaPipe's selfie segmentation fused with the pose model's mask, edge-refined."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from tryon.native import quiet_stderr


class PersonSegmenter:
    """Soft person mask at the photo's resolution. Calls from several threads take turns at the
    MediaPipe graph."""

    def __init__(self):
        import mediapipe as mp

        with quiet_stderr():
            self._selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._selfie.process(np.zeros((64, 64, 3), np.uint8))
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray, pose_mask: np.ndarray | None) -> np.ndarray:
        with self._lock:
            selfie = np.asarray(self._selfie.process(image).segmentation_mask, np.float32)
        # The pose model's mask is sharper on the body, the selfie model's keeps hair and loose
        # garments that the pose model cuts; take the union of confident pixels.
        soft = selfie if pose_mask is None else np.maximum(pose_mask, 0.9 * selfie)
        # Edge-aware refinement against the photo: moves the soft boundary onto real edges.
        guide = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        radius = max(2, round(max(image.shape[:2]) / 256))
        soft = cv2.ximgproc.guidedFilter(guide, soft, radius, 1e-3)
        return np.clip(np.nan_to_num(soft), 0, 1)

    def close(self) -> None:
        self._selfie.close()


def largest_components(mask: np.ndarray, anchor: np.ndarray | None = None, min_share: float = 0.05) -> np.ndarray:
    """Keep the connected parts of a binary mask that hold the anchor points or are large."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask.astype(bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = set((np.nonzero(areas >= min_share * areas.max())[0] + 1).tolist())
    if anchor is not None:
        h, w = mask.shape
        for x, y in np.asarray(anchor, int).reshape(-1, 2):
            if 0 <= x < w and 0 <= y < h and labels[y, x] > 0:
                keep.add(int(labels[y, x]))
    return components_in(labels, list(keep))


def components_touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` (8-connected) that hold a pixel of ``seeds`` (bool masks)."""
    _, labels = cv2.connectedComponents(mask.astype(np.uint8))
    touched = np.unique(labels[seeds & (labels > 0)])
    return components_in(labels, touched)


def components_in(labels: np.ndarray, keep) -> np.ndarray:
    """Where a connected-component label map holds one of the ``keep`` labels (none when it is
    empty), by a table lookup: ``np.isin`` sorts and takes several times as long on a photo."""
    table = np.zeros(int(labels.max()) + 1, bool)
    table[np.asarray(keep, int)] = True
    return table[labels]
