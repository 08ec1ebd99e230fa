"""Body keypoints in the OpenPose layouts (BODY_25 and COCO-18) and their JSON files.

MediaPipe's 33 landmarks are converted the way OpenPose defines its joints: the neck is the
shoulder midpoint, the mid-hip the hip midpoint. OpenPose marks a joint it did not see with
confidence 0 (and x = y = 0); so do we.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np

from tryon.errors import InputError


class Joint(IntEnum):
    """The BODY_25 joints by OpenPose's index: ``kp.xy[Joint.NECK]`` instead of ``kp.xy[1]``.
    R and L are the person's right and left (on the image's left and right when they face the
    camera)."""

    NOSE = 0
    NECK = 1
    R_SHOULDER = 2
    R_ELBOW = 3
    R_WRIST = 4
    L_SHOULDER = 5
    L_ELBOW = 6
    L_WRIST = 7
    MID_HIP = 8
    R_HIP = 9
    R_KNEE = 10
    R_ANKLE = 11
    L_HIP = 12
    L_KNEE = 13
    L_ANKLE = 14
    R_EYE = 15
    L_EYE = 16
    R_EAR = 17
    L_EAR = 18
    L_BIG_TOE = 19
    L_SMALL_TOE = 20
    L_HEEL = 21
    R_BIG_TOE = 22
    R_SMALL_TOE = 23
    R_HEEL = 24


#: OpenPose's own spelling of the joint names ("RShoulder"), in BODY_25 order.
BODY25_NAMES = tuple("".join(part.capitalize() for part in j.name.split("_")) for j in Joint)
COCO18_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)
#: BODY_25 index of every COCO-18 joint.
COCO18_FROM_BODY25 = tuple(BODY25_NAMES.index(n) for n in COCO18_NAMES)

J = Joint  # short, for the tables below

#: OpenPose's BODY_25 limb pairs and colours (RGB), in its rendering order.
BODY25_LIMBS = (
    (J.NECK, J.MID_HIP), (J.NECK, J.R_SHOULDER), (J.NECK, J.L_SHOULDER), (J.R_SHOULDER, J.R_ELBOW),
    (J.R_ELBOW, J.R_WRIST), (J.L_SHOULDER, J.L_ELBOW), (J.L_ELBOW, J.L_WRIST), (J.MID_HIP, J.R_HIP),
    (J.R_HIP, J.R_KNEE), (J.R_KNEE, J.R_ANKLE), (J.MID_HIP, J.L_HIP), (J.L_HIP, J.L_KNEE),
    (J.L_KNEE, J.L_ANKLE), (J.NECK, J.NOSE), (J.NOSE, J.R_EYE), (J.R_EYE, J.R_EAR), (J.NOSE, J.L_EYE),
    (J.L_EYE, J.L_EAR), (J.L_ANKLE, J.L_BIG_TOE), (J.L_BIG_TOE, J.L_SMALL_TOE), (J.L_ANKLE, J.L_HEEL),
    (J.R_ANKLE, J.R_BIG_TOE), (J.R_BIG_TOE, J.R_SMALL_TOE), (J.R_ANKLE, J.R_HEEL),
)
BODY25_COLORS = (
    (255, 0, 85), (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
    (85, 255, 0), (0, 255, 0), (255, 0, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
    (0, 170, 255), (0, 85, 255), (0, 0, 255), (255, 0, 170), (170, 0, 255), (255, 0, 255),
    (85, 0, 255), (0, 0, 255), (0, 0, 255), (0, 0, 255), (0, 255, 255), (0, 255, 255),
    (0, 255, 255),
)

# BODY_25 joint -> MediaPipe landmark(s) averaged. MediaPipe's "left" is the person's left, as in OpenPose.
# The values are MediaPipe's landmark numbers (its PoseLandmark enum).
_FROM_MEDIAPIPE: dict[Joint, tuple[int, ...]] = {
    J.NOSE: (0,), J.NECK: (11, 12), J.R_SHOULDER: (12,), J.R_ELBOW: (14,), J.R_WRIST: (16,),
    J.L_SHOULDER: (11,), J.L_ELBOW: (13,), J.L_WRIST: (15,), J.MID_HIP: (23, 24), J.R_HIP: (24,),
    J.R_KNEE: (26,), J.R_ANKLE: (28,), J.L_HIP: (23,), J.L_KNEE: (25,), J.L_ANKLE: (27,), J.R_EYE: (5,),
    J.L_EYE: (2,), J.R_EAR: (8,), J.L_EAR: (7,), J.L_BIG_TOE: (31,), J.L_HEEL: (29,), J.R_BIG_TOE: (32,),
    J.R_HEEL: (30,),
    # L_SMALL_TOE and R_SMALL_TOE have no MediaPipe counterpart: reported as not seen.
}
#: Each limb as its chain of joints from the body outwards (shoulder, elbow, wrist; hip, knee,
#: ankle), and the forearms (elbow, wrist).
R_ARM = (J.R_SHOULDER, J.R_ELBOW, J.R_WRIST)
L_ARM = (J.L_SHOULDER, J.L_ELBOW, J.L_WRIST)
R_LEG = (J.R_HIP, J.R_KNEE, J.R_ANKLE)
L_LEG = (J.L_HIP, J.L_KNEE, J.L_ANKLE)
FOREARMS = (R_ARM[1:], L_ARM[1:])

#: OpenPose marks the hips higher on the body than MediaPipe's hip-joint centres; on the reference
#: OpenPose files of the evalset the gap is 5-6 % of the neck-to-mid-hip length (median), so the
#: converted hips are moved that far up the torso axis.
HIP_SHIFT = 0.05
#: A thigh (hip joint to knee joint) the pose does not see is this many torsos (neck to mid-hip)
#: long: the evalset's tuning half's standing legs measure 0.76-1.05 (median 0.90; the checking
#: half's, 0.89).
THIGH_PER_TORSO = 0.9
#: A shin (knee joint to ankle joint) the pose does not see, and whose other shin it does not
#: see either, is this many of its thigh long.
SHIN_PER_THIGH = 0.9
#: A knee the pose does not see is cut off by the photo's bottom edge when, put where a standing
#: leg's is (:meth:`Keypoints.unseen_knee`), it lies below the frame or within this share of the
#: thigh above it (the pose does not see a knee at the very edge; the guessed thigh's length is
#: itself uncertain by about a sixth). Higher up it is hidden (behind a bag, a chair), not cut off.
KNEE_CUT = 0.2
#: Joints the pose-accuracy metric uses (the body, not the face or feet).
BODY_JOINTS = (J.NECK, J.R_SHOULDER, J.R_ELBOW, J.R_WRIST, J.L_SHOULDER, J.L_ELBOW, J.L_WRIST,
               J.R_HIP, J.R_KNEE, J.R_ANKLE, J.L_HIP, J.L_KNEE, J.L_ANKLE)


@dataclass
class Keypoints:
    """BODY_25 keypoints in pixel coordinates of the image they were found in."""

    xy: np.ndarray  # (25, 2) float32, x right, y down
    confidence: np.ndarray  # (25,) float32; 0 = not seen
    width: int
    height: int

    @classmethod
    def from_mediapipe(cls, landmarks: np.ndarray, visibility: np.ndarray, width: int, height: int,
                       min_visibility: float = 0.5) -> "Keypoints":
        """Convert MediaPipe's 33 normalised landmarks (x, y in 0..1) to BODY_25 pixels."""
        xy = np.zeros((25, 2), np.float32)
        conf = np.zeros(25, np.float32)
        pix = landmarks[:, :2] * np.array([width, height], np.float32)
        for j, src in _FROM_MEDIAPIPE.items():
            src = list(src)
            v = float(np.min(visibility[src]))
            p = pix[src].mean(axis=0)
            inside = -0.02 * width <= p[0] <= 1.02 * width and -0.02 * height <= p[1] <= 1.02 * height
            if v >= min_visibility and inside:
                xy[j] = np.clip(p, 0, [width - 1, height - 1])
                conf[j] = v
        if conf[J.NECK] > 0 and conf[J.MID_HIP] > 0:
            up = (xy[J.NECK] - xy[J.MID_HIP]) * HIP_SHIFT
            for j in (J.MID_HIP, J.R_HIP, J.L_HIP):
                if conf[j] > 0:
                    xy[j] = np.clip(xy[j] + up, 0, [width - 1, height - 1])
        return cls(xy, conf, width, height)

    def seen(self, joint: int) -> bool:
        return bool(self.confidence[joint] > 0)

    def point(self, joint: int) -> np.ndarray | None:
        return self.xy[joint].copy() if self.seen(joint) else None

    def scaled(self, sx: float, sy: float | None = None, width: int | None = None,
               height: int | None = None) -> "Keypoints":
        sy = sx if sy is None else sy
        xy = self.xy * np.array([sx, sy], np.float32)
        xy[self.confidence <= 0] = 0
        return Keypoints(xy, self.confidence.copy(), width or round(self.width * sx),
                         height or round(self.height * sy))

    def coco18(self) -> tuple[np.ndarray, np.ndarray]:
        """(18, 2) positions and (18,) confidences in OpenPose's COCO-18 order."""
        idx = list(COCO18_FROM_BODY25)
        return self.xy[idx].copy(), self.confidence[idx].copy()

    def torso_length(self) -> float | None:
        """Neck to mid-hip distance, the scale OpenPose-style PCK uses."""
        if self.seen(J.NECK) and self.seen(J.MID_HIP):
            return float(np.linalg.norm(self.xy[J.NECK] - self.xy[J.MID_HIP]))
        return None

    def unseen_knee(self, leg: tuple[int, int, int]) -> np.ndarray | None:
        """Where the knee of a ``leg`` (hip, knee, ankle) the pose does not see lies, most likely
        out of the frame (a photo cut at the thighs): a thigh on from the hip along the torso's
        axis (standing legs are within 18 degrees of it in the evalset). The thigh is the other
        leg's where the pose sees it, else ``THIGH_PER_TORSO`` torsos. None where the hip or the
        torso's axis is not seen."""
        hip = leg[0]
        torso = self.torso_length()
        if not self.seen(hip) or not torso:
            return None
        other = L_LEG if leg == R_LEG else R_LEG
        if self.seen(other[0]) and self.seen(other[1]):
            thigh = float(np.linalg.norm(self.xy[other[1]] - self.xy[other[0]]))
        else:
            thigh = THIGH_PER_TORSO * torso
        axis = (self.xy[J.MID_HIP] - self.xy[J.NECK]).astype(np.float64) / torso
        return self.xy[hip].astype(np.float64) + axis * thigh

    def standing_leg(self, leg: tuple[int, int, int]) -> np.ndarray | None:
        """A ``leg``'s hip, knee and ankle (3, 2) as a standing person's: those the pose does not
        see put where they most likely are. A knee below the photo's bottom edge (a photo cut at
        the thighs, as most try-on datasets' are): :meth:`unseen_knee`. An ankle (hidden behind
        the other leg, or below the frame): straight below the knee, a shin down (the other leg's
        shin where the pose sees it, else ``SHIN_PER_THIGH`` of this thigh); a shin goes down to
        the floor, not on in the thigh's direction. None where the hip is not seen, or a knee
        not seen is not cut off by the frame (``KNEE_CUT``): where it is hidden, nothing says
        where the leg goes."""
        hip, knee, ankle = leg
        if not self.seen(hip):
            return None
        h = self.xy[hip].astype(np.float64)
        k = self.xy[knee].astype(np.float64) if self.seen(knee) else self.unseen_knee(leg)
        if k is None or (not self.seen(knee) and k[1] < self.height - KNEE_CUT * float(np.linalg.norm(k - h))):
            return None
        if self.seen(knee) and self.seen(ankle):
            return np.array([h, k, self.xy[ankle]], np.float64)
        other = L_LEG if leg == R_LEG else R_LEG
        if self.seen(other[1]) and self.seen(other[2]):
            shin = float(np.linalg.norm(self.xy[other[2]] - self.xy[other[1]]))
        else:
            shin = SHIN_PER_THIGH * float(np.linalg.norm(k - h))
        return np.array([h, k, k + [0.0, shin]])

    # --- OpenPose JSON ---------------------------------------------------------------
    def to_openpose(self, layout: str = "body25") -> dict:
        """The dict VITON-HD's ``openpose_json/<id>_keypoints.json`` files hold."""
        if layout == "body25":
            xy, conf = self.xy, self.confidence
        elif layout == "coco18":
            xy, conf = self.coco18()
        else:
            raise ValueError(f"unknown layout {layout!r} (body25 or coco18)")
        flat: list[float] = []
        for (x, y), c in zip(xy.tolist(), conf.tolist()):
            flat += [round(x, 3), round(y, 3), round(c, 6)] if c > 0 else [0.0, 0.0, 0.0]
        person = {
            "person_id": [-1],
            "pose_keypoints_2d": flat,
            "face_keypoints_2d": [],
            "hand_left_keypoints_2d": [],
            "hand_right_keypoints_2d": [],
            "pose_keypoints_3d": [],
            "face_keypoints_3d": [],
            "hand_left_keypoints_3d": [],
            "hand_right_keypoints_3d": [],
        }
        return {"version": 1.3, "people": [person]}

    def save_openpose(self, path: str | os.PathLike, layout: str = "body25") -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_openpose(layout)))
        return path

    @classmethod
    def from_openpose(cls, data: dict, width: int, height: int) -> "Keypoints":
        """Read an OpenPose JSON dict (BODY_25 or COCO-18) of the first person."""
        people = data.get("people") if isinstance(data, dict) else None
        if not people:
            raise InputError("keypoints file lists no person")
        flat = np.asarray(people[0].get("pose_keypoints_2d", []), np.float32)
        if flat.size not in (75, 54):
            raise InputError(f"pose_keypoints_2d has {flat.size} numbers; expected 75 (BODY_25) or 54 (COCO-18)")
        pts = flat.reshape(-1, 3)
        xy = np.zeros((25, 2), np.float32)
        conf = np.zeros(25, np.float32)
        if len(pts) == 25:
            xy[:], conf[:] = pts[:, :2], pts[:, 2]
        else:
            idx = list(COCO18_FROM_BODY25)
            xy[idx], conf[idx] = pts[:, :2], pts[:, 2]
            if conf[J.R_HIP] > 0 and conf[J.L_HIP] > 0:  # COCO-18 has no mid-hip: OpenPose's definition
                xy[J.MID_HIP] = (xy[J.R_HIP] + xy[J.L_HIP]) / 2
                conf[J.MID_HIP] = min(conf[J.R_HIP], conf[J.L_HIP])
        return cls(xy, conf, width, height)

    @classmethod
    def from_dresscode(cls, data: dict, width: int, height: int) -> "Keypoints":
        """DressCode's keypoint files: 18 COCO-order [x, y, score, id] at 384 px width, -1 if unseen."""
        k = np.asarray(data.get("keypoints", []), np.float32)
        if k.ndim != 2 or k.shape[0] != 18 or k.shape[1] < 3:
            raise InputError("a DressCode keypoint file holds 18 rows of [x, y, score, id]")
        s = width / 384.0
        conf = np.where((k[:, 0] >= 0) & (k[:, 1] > 0), k[:, 2], 0)
        flat = np.c_[k[:, :2] * s, conf].ravel().tolist()
        return cls.from_openpose({"people": [{"pose_keypoints_2d": flat}]}, width, height)

    @classmethod
    def load_openpose(cls, path: str | os.PathLike, width: int, height: int) -> "Keypoints":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable OpenPose JSON file ({exc})") from None
        if isinstance(data, dict) and "keypoints" in data:
            return cls.from_dresscode(data, width, height)
        return cls.from_openpose(data, width, height)


def as_keypoints(source: "str | os.PathLike | dict | Keypoints | None", width: int, height: int) -> Keypoints | None:
    """Keypoints from what a user may hand an engine: an OpenPose JSON path or dict, or Keypoints."""
    if source is None or isinstance(source, Keypoints):
        return source
    if isinstance(source, dict):
        return Keypoints.from_openpose(source, width, height)
    return Keypoints.load_openpose(source, width, height)
