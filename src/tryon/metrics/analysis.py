"""Accuracy of the analysis stages against reference annotations (keypoints, parsing, masks)."""

from __future__ import annotations

import numpy as np

from tryon.person.keypoints import BODY_JOINTS, Keypoints

#: Merged regions of the LIP label set, and the same regions in DressCode's label maps.
LIP_REGIONS = {"upper": (5, 6, 7), "lower": (9, 12), "arms": (14, 15), "face+hair": (2, 13), "background": (0,)}
DRESSCODE_REGIONS = {"upper": (4, 7), "lower": (5, 6), "arms": (14, 15), "face+hair": (2, 11), "background": (0,)}


def pck_hits(pred: Keypoints, ref: Keypoints, threshold: float = 0.1,
             joints: tuple[int, ...] = BODY_JOINTS) -> tuple[int, int]:
    """(joints within threshold x neck-to-mid-hip length, joints both have)."""
    scale = ref.torso_length()
    if not scale:
        return 0, 0
    both = [j for j in joints if ref.seen(j) and pred.seen(j)]
    hits = sum(float(np.linalg.norm(ref.xy[j] - pred.xy[j])) / scale < threshold for j in both)
    return int(hits), len(both)


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max((a | b).sum(), 1))


def region_iou(pred: np.ndarray, ref: np.ndarray, pred_labels, ref_labels) -> float | None:
    """IoU of one merged region; None when the reference does not have it."""
    b = np.isin(ref, ref_labels)
    if not b.any():
        return None
    return mask_iou(np.isin(pred, pred_labels), b)


def parsing_scores(pred: np.ndarray, ref: np.ndarray, dresscode: bool = False) -> dict[str, float | None]:
    """IoU per merged region of a LIP prediction against a LIP (or DressCode) reference map."""
    regions = DRESSCODE_REGIONS if dresscode else LIP_REGIONS
    return {name: region_iou(pred, ref, LIP_REGIONS[name], labels) for name, labels in regions.items()}
