"""The grey pose image FASHN VTON was trained on, drawn from whole-body keypoints.

Body limbs are filled ellipses whose grey level names the limb (dimmed to 60 % so that joints stand
out), joints are discs a little brighter than their first limb, hands are thin lines and discs, face
landmarks small discs. Pixel-exact with the published drawing: coordinates are truncated to pixels,
limb ellipses are OpenCV polygons with whole-degree angles. A flat-lay garment has no person: its
pose image is black (:func:`empty_pose`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

#: Marker of a keypoint that was not detected (both coordinates).
MISSING = -1.0
#: Body limbs as pairs of keypoints in OpenPose/COCO-18 order (0 nose, 1 neck, 2-4 right arm,
#: 5-7 left arm, 8-10 right leg, 11-13 left leg, 14-17 eyes and ears).
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
         (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
BODY_KEYPOINTS = 18
#: Limb grey levels: 18 evenly spaced levels from 20 to 240 (the last one unused), truncated.
LIMB_GREYS = np.linspace(20, 240, BODY_KEYPOINTS).astype(np.uint8)
#: Limbs are drawn at this share of their level, so joints drawn over them stand out.
LIMB_DIMMING = 0.6
#: A joint is this much brighter than the first limb that lists it (capped at white).
JOINT_BRIGHTENING = 1.3
LIMB_HALF_WIDTH = 4
JOINT_RADIUS = 4
#: Hand skeleton: the wrist (0) to each finger's four joints.
HAND_EDGES = tuple((0 if j == 0 else 4 * f + j, 4 * f + j + 1) for f in range(5) for j in range(4))
HAND_GREYS = np.linspace(160, 220, len(HAND_EDGES)).astype(np.uint8)
HAND_LINE_WIDTH = 2
HAND_POINT_RADIUS = 4
HAND_POINT_GREY = 240
FACE_POINT_RADIUS = 3
FACE_POINT_GREY = 200


@dataclass
class PoseKeypoints:
    """One person's keypoints, normalised to [0, 1] by the image width (x) and height (y).

    ``body``: (18, 2) in COCO-18 order, :data:`MISSING` where not detected; ``hands``: (21, 2) arrays;
    ``faces``: (68, 2) arrays (points at or left of / above the image's first pixel are not drawn).
    Pixels are computed in the arrays' own dtype (the detector's float32), as published.
    """

    body: np.ndarray
    hands: list[np.ndarray] | None = None
    faces: list[np.ndarray] | None = None


def empty_pose() -> PoseKeypoints:
    """No person: the pose of a flat-lay garment photo."""
    return PoseKeypoints(np.full((BODY_KEYPOINTS, 2), MISSING))


def _pixel(point: np.ndarray, width: int, height: int) -> tuple[int, int]:
    return int(point[0] * width), int(point[1] * height)


def _draw_body(canvas: np.ndarray, body: np.ndarray) -> np.ndarray:
    height, width = canvas.shape
    present = ~np.all(body == MISSING, axis=1)
    limbs = np.zeros_like(canvas)
    for grey, (a, b) in zip(LIMB_GREYS, LIMBS):
        if not (present[a] and present[b]):
            continue
        (xa, ya), (xb, yb) = _pixel(body[a], width, height), _pixel(body[b], width, height)
        centre = ((xa + xb) // 2, (ya + yb) // 2)
        length = int(math.hypot(xa - xb, ya - yb))
        angle = int(math.degrees(math.atan2(ya - yb, xa - xb)))
        polygon = cv2.ellipse2Poly(centre, (length // 2, LIMB_HALF_WIDTH), angle, 0, 360, 1)
        cv2.fillConvexPoly(limbs, polygon, int(grey))
    canvas = np.maximum(canvas, (limbs * LIMB_DIMMING).astype(np.uint8))
    for joint in range(BODY_KEYPOINTS):
        if not present[joint]:
            continue
        first_limb = next(i for i, limb in enumerate(LIMBS) if joint in limb)
        grey = min(255, int(LIMB_GREYS[first_limb] * JOINT_BRIGHTENING))
        cv2.circle(canvas, _pixel(body[joint], width, height), JOINT_RADIUS, grey, thickness=-1)
    return canvas


def _visible(x: int, y: int) -> bool:
    return x > 0 and y > 0


def _draw_hands(canvas: np.ndarray, hands: list[np.ndarray]) -> None:
    height, width = canvas.shape
    for hand in hands:
        points = [_pixel(p, width, height) for p in np.asarray(hand)]
        for grey, (a, b) in zip(HAND_GREYS, HAND_EDGES):
            if _visible(*points[a]) and _visible(*points[b]):
                cv2.line(canvas, points[a], points[b], int(grey), thickness=HAND_LINE_WIDTH)
        for point in points:
            if _visible(*point):
                cv2.circle(canvas, point, HAND_POINT_RADIUS, HAND_POINT_GREY, thickness=-1)


def _draw_faces(canvas: np.ndarray, faces: list[np.ndarray]) -> None:
    height, width = canvas.shape
    for face in faces:
        for point in (_pixel(p, width, height) for p in np.asarray(face)):
            if _visible(*point):
                cv2.circle(canvas, point, FACE_POINT_RADIUS, FACE_POINT_GREY, thickness=-1)


def draw_pose_image(pose: PoseKeypoints, height: int, width: int) -> np.ndarray:
    """The (height, width) uint8 pose image: body, then hands, then faces, on black."""
    canvas = _draw_body(np.zeros((height, width), np.uint8), np.asarray(pose.body))
    if pose.hands is not None:
        _draw_hands(canvas, pose.hands)
    if pose.faces is not None:
        _draw_faces(canvas, pose.faces)
    return canvas
