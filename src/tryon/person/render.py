"""Pictures of an analysis: the OpenPose skeleton image and an overlay to check at a glance."""

from __future__ import annotations

import cv2
import numpy as np

from tryon.person.keypoints import BODY25_COLORS, BODY25_LIMBS, Keypoints
from tryon.person.parsing import PALETTE


def render_pose(keypoints: Keypoints, canvas: np.ndarray | None = None) -> np.ndarray:
    """Skeleton in OpenPose's colours on black (what VITON-HD's ``openpose_img`` holds)."""
    h, w = keypoints.height, keypoints.width
    out = np.zeros((h, w, 3), np.uint8) if canvas is None else canvas.copy()
    scale = max(h, w) / 1024
    width = max(2, int(round(6 * scale)))
    limbs = np.zeros_like(out)
    for (a, b), colour in zip(BODY25_LIMBS, BODY25_COLORS):
        if keypoints.seen(a) and keypoints.seen(b):
            pa, pb = keypoints.xy[a], keypoints.xy[b]
            centre = tuple(int(v) for v in (pa + pb) / 2)
            length = int(np.linalg.norm(pa - pb) / 2)
            angle = float(np.degrees(np.arctan2(pb[1] - pa[1], pb[0] - pa[0])))
            cv2.ellipse(limbs, centre, (length, width), angle, 0, 360, tuple(int(c * 0.6) for c in colour), -1,
                        cv2.LINE_AA)
    out = np.maximum(out, limbs) if canvas is None else cv2.addWeighted(out, 1.0, limbs, 1.0, 0)
    for j, colour in enumerate(BODY25_COLORS):
        if keypoints.seen(j):
            cv2.circle(out, tuple(int(v) for v in keypoints.xy[j]), width + 1, colour, -1, cv2.LINE_AA)
    return out


def colorize(parse: np.ndarray) -> np.ndarray:
    return PALETTE[np.clip(parse, 0, len(PALETTE) - 1)]


def overlay(image: np.ndarray, parse: np.ndarray, keypoints: Keypoints, mask: np.ndarray | None = None) -> np.ndarray:
    """Photo | parsing blended on the photo with the skeleton | agnostic mask, side by side."""
    blend = np.where(parse[..., None] > 0, (0.45 * image + 0.55 * colorize(parse)).astype(np.uint8), image // 2)
    blend = render_pose(keypoints, blend)
    panels = [image, blend]
    if mask is not None:
        grey = image.copy()
        grey[mask > 127] = (0.3 * grey[mask > 127] + 0.7 * 128).astype(np.uint8)
        panels.append(grey)
    return np.concatenate(panels, axis=1)
