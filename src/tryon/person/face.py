"""Face box, face outline and skin samples from MediaPipe's bundled face detection and face mesh."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from tryon.errors import MultiplePersonsError
from tryon.native import quiet_stderr

# Face-mesh vertices on the cheeks and forehead: bare skin in nearly every photo (no eyes, brows,
# lips or beard line), used to learn the person's skin colour.
_SKIN_VERTICES = (50, 280, 101, 330, 117, 346, 123, 352, 205, 425, 151, 108, 337, 9)


@dataclass
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
    score: float
    outline: np.ndarray | None  # (N, 2) polygon of the face oval, pixels; None without a mesh
    skin_points: np.ndarray  # (M, 2) pixel positions of bare skin

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    def skin_samples(self, image: np.ndarray, scale: float = 1.0, readable: np.ndarray | None = None) -> np.ndarray:
        """Pixels (N, C) of ``image`` in small patches around the skin points (``scale``: the
        image's size relative to the photo the face was found in); points where ``readable`` is
        False or that lie outside the image give none."""
        if self.skin_points is None or not len(self.skin_points):
            return np.empty((0, image.shape[2]), image.dtype)
        h, w = image.shape[:2]
        r = max(1, int(round(self.height * scale / 30)))
        patches = []
        for x, y in np.round(self.skin_points * scale).astype(int):
            if 0 <= x < w and 0 <= y < h and (readable is None or readable[y, x]):
                patch = image[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1]
                if readable is not None:
                    patch = patch[readable[max(0, y - r): y + r + 1, max(0, x - r): x + r + 1]]
                patches.append(patch.reshape(-1, image.shape[2]))
        return np.concatenate(patches) if patches else np.empty((0, image.shape[2]), image.dtype)


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
                skin = pts[list(_SKIN_VERTICES)]
        return Face(box, score, outline, skin)

    def close(self) -> None:
        self._det.close()
        self._mesh.close()
