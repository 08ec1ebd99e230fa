"""OpenPose JSON layouts and the MediaPipe conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tryon.errors import InputError
from tryon.person.keypoints import BODY25_NAMES, COCO18_NAMES, HIP_SHIFT, Keypoints


def _mediapipe_pose() -> tuple[np.ndarray, np.ndarray]:
    lm = np.zeros((33, 3), np.float32)
    lm[11, :2], lm[12, :2] = (0.6, 0.3), (0.4, 0.3)  # person's left shoulder is on the image right
    lm[23, :2], lm[24, :2] = (0.58, 0.6), (0.42, 0.6)
    lm[0, :2] = (0.5, 0.15)
    vis = np.full(33, 0.9, np.float32)
    vis[[25, 26, 27, 28]] = 0.1  # knees and ankles unseen
    return lm, vis


def test_mediapipe_conversion_follows_openpose_definitions():
    kp = Keypoints.from_mediapipe(*_mediapipe_pose(), width=200, height=400)
    assert np.allclose(kp.xy[BODY25_NAMES.index("Neck")], (100, 120))
    assert np.allclose(kp.xy[BODY25_NAMES.index("LShoulder")], (120, 120))
    # Mid-hip: the hip midpoint, moved HIP_SHIFT of the torso towards the neck.
    torso = 240 - 120
    assert np.allclose(kp.xy[BODY25_NAMES.index("MidHip")], (100, 240 - HIP_SHIFT * torso), atol=0.01)
    for name in ("RKnee", "LAnkle", "LSmallToe", "RSmallToe"):
        j = BODY25_NAMES.index(name)
        assert kp.confidence[j] == 0 and (kp.xy[j] == 0).all()


def test_openpose_json_roundtrip_both_layouts(tmp_path):
    kp = Keypoints.from_mediapipe(*_mediapipe_pose(), width=200, height=400)
    body = kp.to_openpose("body25")
    assert body["version"] == 1.3 and len(body["people"][0]["pose_keypoints_2d"]) == 75
    coco = kp.to_openpose("coco18")
    assert len(coco["people"][0]["pose_keypoints_2d"]) == 54
    back = Keypoints.from_openpose(json.loads(json.dumps(coco)), 200, 400)
    for name in COCO18_NAMES:
        j = BODY25_NAMES.index(name)
        assert np.allclose(back.xy[j], kp.xy[j], atol=1e-3)
    path = kp.save_openpose(tmp_path / "k.json")
    assert Keypoints.load_openpose(path, 200, 400).torso_length() == pytest.approx(kp.torso_length(), abs=1e-3)


def test_bad_keypoint_files(tmp_path):
    with pytest.raises(InputError, match="no person"):
        Keypoints.from_openpose({"people": []}, 10, 10)
    with pytest.raises(InputError, match="expected 75"):
        Keypoints.from_openpose({"people": [{"pose_keypoints_2d": [1, 2, 3]}]}, 10, 10)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError):
        Keypoints.load_openpose(bad, 10, 10)


def test_reference_vitonhd_json_is_read(evalset):
    refs = [r for r, _ in evalset.references("pose_json") if r.path.name.endswith("_keypoints.json")]
    assert refs
    data = json.loads(refs[0].path.read_text())
    kp = Keypoints.from_openpose(data, 320, 512)
    assert kp.seen(1) and kp.torso_length() > 50


def _standing(height: int, knees: dict | None = None) -> Keypoints:
    """A person standing upright, neck at y 100, hips at y 300 (torso 200), cut by a frame ``height`` tall."""
    from tryon.person.keypoints import Joint as J

    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    for joint, point in ((J.NECK, (200, 100)), (J.MID_HIP, (200, 300)), (J.R_HIP, (170, 300)),
                         (J.L_HIP, (230, 300)), *(knees or {}).items()):
        xy[joint], conf[joint] = point, 1.0
    return Keypoints(xy, conf, 400, height)


def test_a_leg_cut_off_above_the_knee_runs_on_below_the_frame():
    """A photo cut at the thighs (most try-on datasets' photos): each leg runs on, a thigh down
    the torso's axis (THIGH_PER_TORSO torsos, or the other thigh's length where the pose sees it),
    to a knee below the frame, and a shin straight down from it. A knee the photo should show but
    the pose does not see is hidden, not cut off: that leg is unknown."""
    from tryon.person.keypoints import KNEE_CUT, L_LEG, R_LEG, SHIN_PER_THIGH, THIGH_PER_TORSO
    from tryon.person.keypoints import Joint as J

    kp = _standing(420)
    thigh = THIGH_PER_TORSO * 200
    leg = kp.standing_leg(R_LEG)
    assert np.allclose(leg, [[170, 300], [170, 300 + thigh], [170, 300 + thigh * (1 + SHIN_PER_THIGH)]])
    # The other thigh, where the pose sees it, sets the length.
    kp = _standing(420, {J.L_KNEE: (240, 500)})
    assert np.allclose(kp.standing_leg(R_LEG)[1], [170, 300 + np.hypot(10, 200)], atol=0.01)
    # A knee a little above the bottom edge is cut off there; higher up it is hidden.
    assert _standing(int(300 + thigh * (1 + KNEE_CUT)) - 1).standing_leg(L_LEG) is not None
    assert _standing(int(300 + thigh * (1 + KNEE_CUT)) + 20).standing_leg(L_LEG) is None
    # Without the neck there is no torso to measure a thigh by.
    kp = _standing(420)
    kp.confidence[J.NECK] = 0
    assert kp.standing_leg(R_LEG) is None
