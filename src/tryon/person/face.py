"""Face box, face outline and skin samples from MediaPipe's bundled face detection and face mesh."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.errors import MultiplePersonsError
from tryon.native import quiet_stderr

# Face-mesh vertices on the cheeks and forehead: bare skin in nearly every photo (no eyes, brows,
# lips or beard line), used to learn the person's skin colour.
_SKIN_VERTICES = (50, 280, 101, 330, 117, 346, 123, 352, 205, 425, 151, 108, 337, 9)

#: A skin point is bare skin only if its patch's chroma (CIELAB, OpenCV's 8-bit scale) is at
#: least BARE_CHROMA_SHARE of the chroma that BARE_CHROMA_PERCENTILE per cent of the points stay
#: under (a high percentile: a beard and lenses can cover half the points). On a turned head with
#: sunglasses and a grey beard (Any2anyTryon model2, tuning half) six of the fourteen points fell
#: on grey hair, the lenses and the beard, with chroma 1-5 against 13-20 on the skin; taken as
#: skin they stretched the skin model over every grey and black, and the black jacket was parsed
#: as skin. Skin of any tone is far more saturated than grey.
BARE_CHROMA_SHARE = 0.5
BARE_CHROMA_PERCENTILE = 75


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
    score: float
    outline: np.ndarray | None  # (N, 2) polygon of the face oval, pixels; None without a mesh
    skin_points: np.ndarray  # (M, 2) pixel positions of bare skin

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @staticmethod
    def patch_radius(height: float) -> int:
        """Half size (pixels) of the patch sampled around each skin point of a face this tall."""
        return max(1, int(round(height / 30)))

    def skin_samples(self, image: np.ndarray, scale: float = 1.0, readable: np.ndarray | None = None) -> np.ndarray:
        """Pixels (N, C) of ``image`` in small patches around the skin points (``scale``: the
        image's size relative to the photo the face was found in); points where ``readable`` is
        False or that lie outside the image give none."""
        if self.skin_points is None or not len(self.skin_points):
            return np.empty((0, image.shape[2]), image.dtype)
        h, w = image.shape[:2]
        r = self.patch_radius(self.height * scale)
        patches = []
        for x, y in np.round(self.skin_points * scale).astype(int):
            if 0 <= x < w and 0 <= y < h and (readable is None or readable[y, x]):
                patch = image[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1]
                if readable is not None:
                    patch = patch[readable[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1]]
                patches.append(patch.reshape(-1, image.shape[2]))
        return np.concatenate(patches) if patches else np.empty((0, image.shape[2]), image.dtype)


def bare_points(image: np.ndarray, points: np.ndarray, radius: int) -> np.ndarray:
    """The ``points`` (N, 2) whose patch of ``image`` (RGB) is saturated like skin, not grey
    (hair, a beard, lenses across the cheek of a turned head): see :data:`BARE_CHROMA_SHARE`."""
    h, w = image.shape[:2]
    chroma = np.full(len(points), np.nan, np.float32)
    for i, (x, y) in enumerate(np.round(points).astype(int)):
        if 0 <= x < w and 0 <= y < h:
            patch = image[max(0, y - radius): y + radius + 1, max(0, x - radius): x + radius + 1]
            ab = np.median(cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).reshape(-1, 3)[:, 1:].astype(np.float32), axis=0)
            chroma[i] = float(np.hypot(*(ab - 128.0)))
    if np.isnan(chroma).all():
        return points
    # Points off the photo stay (NaN compares False): they are read nowhere.
    keep = ~(chroma < BARE_CHROMA_SHARE * np.nanpercentile(chroma, BARE_CHROMA_PERCENTILE))
    return points[keep]


def _oval_order() -> list[int]:
    import mediapipe as mp

    edges = list(mp.solutions.face_mesh.FACEMESH_FACE_OVAL)
    nxt = dict(edges)
    start = edges[0][0]
    order, cur = [start], nxt[start]
    while cur != start and len(order) <= len(edges):
        order.append(cur)
        cur = nxt[cur]
    return order


class FaceAnalyzer:
    """Finds the main face; refuses photos in which several people are equally prominent. Calls from
    several threads take turns (a MediaPipe graph runs one image at a time)."""

    def __init__(self, crowd_ratio: float = 0.35):
        import mediapipe as mp

        self.crowd_ratio = crowd_ratio
        with quiet_stderr():
            self._det = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
            self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)
            blank = np.zeros((64, 64, 3), np.uint8)
            self._det.process(blank)
            self._mesh.process(blank)
        self._oval = _oval_order()
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray) -> Face | None:
        with self._lock:
            return self._find(image)

    def _find(self, image: np.ndarray) -> Face | None:
        h, w = image.shape[:2]
        det = self._det.process(image)
        boxes = []
        for d in det.detections or []:
            b = d.location_data.relative_bounding_box
            x0, y0 = max(0, int(b.xmin * w)), max(0, int(b.ymin * h))
            x1, y1 = min(w, int((b.xmin + b.width) * w)), min(h, int((b.ymin + b.height) * h))
            if x1 > x0 and y1 > y0:
                boxes.append(((x0, y0, x1, y1), float(d.score[0])))
        if not boxes:
            return None
        boxes.sort(key=lambda bs: -(bs[0][2] - bs[0][0]) * (bs[0][3] - bs[0][1]))
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b, _ in boxes]
        rivals = [a for a in areas[1:] if a >= self.crowd_ratio * areas[0]]
        if rivals:
            raise MultiplePersonsError(
                f"{1 + len(rivals)} people found in the photo; crop it to the one person to dress"
            )
        box, score = boxes[0]
        mesh = self._mesh.process(image)
        outline = None
        skin = np.array([[(box[0] + box[2]) / 2, box[1] + 0.55 * (box[3] - box[1])]], np.float32)
        if mesh.multi_face_landmarks:
            pts = np.array([[p.x * w, p.y * h] for p in mesh.multi_face_landmarks[0].landmark], np.float32)
            centre = pts.mean(axis=0)
            bx, by = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if abs(centre[0] - bx) < (box[2] - box[0]) and abs(centre[1] - by) < (box[3] - box[1]):
                outline = pts[self._oval]
                skin = bare_points(image, pts[list(_SKIN_VERTICES)], Face.patch_radius(box[3] - box[1]))
        return Face(box, score, outline, skin)

    def close(self) -> None:
        self._det.close()
        self._mesh.close()
