"""Units of person analysis and the warp engine that need no photos: the BODY_25 joint enum, the
polyline coordinates, the fills, agnostic masks and the parser itself on drawn persons."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from tryon.engines.warp.fill import decontaminate, push_pull
from tryon.engines.warp.mapping import polyline_coords, polyline_points, rounded
from tryon.person.agnostic import agnostic_mask, protected
from tryon.person.face import Face, bare_points
from tryon.person.keypoints import BODY25_LIMBS, BODY25_NAMES, COCO18_FROM_BODY25, Joint, Keypoints
from tryon.person.parsing import ARMS, LEGS, LOWER_GARMENT, UPPER_GARMENT, GeometricParser, Label, ParserParams
from tryon.person.waistline import _reach

# --- the joint enum ----------------------------------------------------------------------------

#: OpenPose's BODY_25 joints in its own order (``poseParameters.cpp``, POSE_BODY_25_BODY_PARTS).
OPENPOSE_BODY25 = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
#: OpenPose's BODY_25 limbs, in its rendering order (POSE_BODY_25_PAIRS_RENDER).
OPENPOSE_BODY25_PAIRS = (
    1, 8, 1, 2, 1, 5, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 10, 11, 8, 12, 12, 13, 13, 14, 1, 0,
    0, 15, 15, 17, 0, 16, 16, 18, 14, 19, 19, 20, 14, 21, 11, 22, 22, 23, 11, 24,
)


def test_joint_enum_is_openpose_body25():
    assert [j.value for j in Joint] == list(range(25))
    assert BODY25_NAMES == OPENPOSE_BODY25
    for j in Joint:  # R_BIG_TOE is OpenPose's RBigToe
        assert j.name.replace("_", "").lower() == OPENPOSE_BODY25[j].lower()
    assert [v for pair in BODY25_LIMBS for v in pair] == list(OPENPOSE_BODY25_PAIRS)
    assert COCO18_FROM_BODY25 == (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
    # The enum indexes keypoint arrays like the plain number.
    xy = np.arange(50, dtype=np.float32).reshape(25, 2)
    assert (xy[Joint.L_SHOULDER] == xy[5]).all()


# --- polylines and fills -----------------------------------------------------------------------


def test_polyline_coordinates_round_trip():
    """Points laid off a bent polyline by (arc length, offset) come back as the same coordinates
    and the same points, also beyond its ends, where it runs on straight."""
    line = np.array([[10.0, 20.0], [110.0, 20.0], [110.0, 120.0], [40.0, 190.0]])
    u = np.r_[np.linspace(-30, 90, 13), np.linspace(112, 188, 9), np.linspace(212, 330, 9)]
    rng = np.random.default_rng(0)
    v = rng.uniform(-8, 8, len(u))
    points = polyline_points(line, u, v)
    back_u, back_v, dist = polyline_coords(points, line)
    assert np.allclose(back_u, u) and np.allclose(back_v, v) and np.allclose(dist, np.abs(v))
    assert np.allclose(polyline_points(line, back_u, back_v), points)
    # The offset's sign: left of the direction of travel (x right, y down: +y on the first leg).
    assert polyline_points(line, np.array([50.0]), np.array([5.0]))[0] == pytest.approx((60.0, 25.0))


def test_a_limb_rounded_at_its_bends_lays_a_print_without_a_seam():
    """Near a bend the arc length a point is laid at jumps where the nearest segment changes: a
    print showed a seam there (a white zigzag across a striped sleeve). Rounded (its ends kept),
    the polyline moves neighbouring pixels' arc length by a third as much."""
    line = np.array([[100.0, 20.0], [100.0, 120.0], [40.0, 200.0]])  # a bend of 37 degrees
    smooth = rounded(line)
    assert np.allclose(smooth[0], line[0]) and np.allclose(smooth[-1], line[-1])
    ys, xs = np.mgrid[0:260, 0:200]
    points = np.c_[xs.ravel(), ys.ravel()].astype(np.float64)
    jumps = []
    for polyline in (line, smooth):
        u, _, dist = (a.reshape(xs.shape) for a in polyline_coords(points, polyline))
        near = dist < 25  # within a sleeve's width of it
        jumps.append(max(np.abs(np.diff(u, axis=0))[near[1:] & near[:-1]].max(),
                         np.abs(np.diff(u, axis=1))[near[:, 1:] & near[:, :-1]].max()))
    assert jumps[0] > 10 and jumps[1] < jumps[0] / 2.5, jumps


def test_a_sleeve_on_a_sharply_bent_arm_fans_out_nowhere():
    """A point beyond a bend's convex side is offset by its whole distance, on that side; a sleeve
    laid with its outer edge along a polyline bent by 110 degrees (an arm akimbo) covers nothing
    out there. (The perpendicular offset there is about 0: the edge's pixels were smeared out into
    a wing past the elbow.)"""
    from tryon.engines.warp.mapping import limb_layer

    line = np.array([[100.0, 50.0], [100.0, 200.0], [200.0, 160.0]])  # down, then sharply back up-right
    beyond = np.array([[80.0, 215.0], [100.0, 230.0]])  # past the elbow, outside its convex side
    u, v, dist = polyline_coords(beyond, line)
    assert np.allclose(np.abs(v), dist) and (v > 0).all()  # the left of the way down (-x): the convex side
    garment = np.full((400, 100, 3), 200, np.uint8)
    sleeve = np.zeros((400, 100), bool)
    sleeve[:, 10:50] = True  # 40 wide, its outer edge at x = 10: outside (x < 10) is the left of +y
    axis = np.array([[10.0, 0.0], [10.0, 399.0]])
    layer = limb_layer("sleeve", garment, sleeve, axis, line, 1.0, 60.0, (300, 300), outer=1)
    assert layer.alpha[120, 105:140].mean() > 0.9  # the sleeve lies inward of the edge, along the arm
    ys, xs = np.mgrid[0:300, 0:300]
    fan = (np.hypot(xs - 100, ys - 200) > 8) & (ys > 200) & (xs < 110)
    assert layer.alpha[fan].max() < 0.05


def test_a_sleeve_wrapped_round_its_arm_is_foreshortened_toward_both_folds():
    """A long sleeve photographed flat is half a tube: from the front its width is the tube's
    diameter, and the flat fabric is seen square-on in the middle, edge-on at the folds."""
    from tryon.engines.warp.mapping import wrap_across

    flat, seen = 60.0, 40.0
    inward = np.linspace(0.0, seen, 41)
    back = wrap_across(inward, flat, seen)
    assert back[0] == pytest.approx(0.0) and back[-1] == pytest.approx(flat) and back[20] == pytest.approx(flat / 2)
    step = np.diff(back)
    assert (step > 0).all()
    # Flat pixels per seen pixel: 2/pi of the mean in the middle (square-on: about one, as the
    # tube is seen about 2/pi as wide as it lies), several times that at the folds.
    assert step[19:21].mean() == pytest.approx(2 / np.pi * flat / seen, rel=0.02)
    assert step[0] > 3 * step[20] and step[-1] > 3 * step[20]


def test_a_sleeves_outer_edge_keeps_its_distance_round_a_bent_elbow():
    """The outer edge is offset from the arm's joints; at a bend its corner is where both offset
    sides meet (a mitre), so each side keeps the whole radius from its own bone (at the radius
    along the bisector, it cut inside the arm's round and a strip of the arm showed there)."""
    from tryon.engines.warp.fit import _outer_contour

    arm = np.array([[100.0, 50.0], [100.0, 150.0], [150.0, 236.6]])  # bent inward by 30 degrees
    edge = _outer_contour(arm, np.array([200.0, 50.0]), 10.0)
    elbow, corner = arm[1], edge[1]
    fore = (arm[2] - elbow) / np.linalg.norm(arm[2] - elbow)
    assert corner[0] == pytest.approx(90.0, abs=0.01)  # the radius from the upper arm's line
    assert abs((corner - elbow) @ np.array([-fore[1], fore[0]])) == pytest.approx(10.0, abs=0.01)  # and the forearm's


def test_the_upper_arms_outer_reach_is_read_off_the_silhouette_within_a_bound():
    """How far the person's silhouette reaches out from the upper arm's joint line, away from the
    neck: the median along the upper arm (a lock of hair over the shoulder, above REACH_ALONG, does
    not count), never more than allowed."""
    from tryon.engines.warp.fit import _outer_reach

    silhouette = np.zeros((300, 300), bool)
    silhouette[40:160, 75:125] = True  # the upper arm, 25 px either side of its line (x = 100)
    silhouette[40:60, 20:125] = True  # hair down over the shoulder
    shoulder, elbow, neck = np.array([100.0, 50.0]), np.array([100.0, 150.0]), np.array([200.0, 40.0])
    assert _outer_reach(silhouette, shoulder, elbow, neck, most=60) == pytest.approx(25, abs=1)
    assert _outer_reach(silhouette, shoulder, elbow, neck, most=15) == 15
    # The neck on the other side: the other edge.
    silhouette[40:160, 100:140] = True
    assert _outer_reach(silhouette, shoulder, elbow, np.array([0.0, 40.0]), most=60) == pytest.approx(40, abs=1)


def test_a_trouser_leg_ends_at_the_feet_and_shorts_keep_their_length():
    """A trouser leg longer than the leg it is laid on is laid shorter (at most HEM_SQUEEZE) and cut
    below the feet; a full-length one that would end above them is laid longer (at most
    HEM_STRETCH); a short one (shorts, a cropped leg) keeps its scale and every pixel. An ankle
    the pose does not see is put straight below the knee, the other shin's length down."""
    from tryon.engines.warp import fit

    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    for joint, point in ((Joint.R_HIP, (100, 400)), (Joint.R_KNEE, (100, 600)), (Joint.R_ANKLE, (100, 800)),
                         (Joint.L_HIP, (200, 400)), (Joint.L_KNEE, (260, 580))):
        xy[joint], conf[joint] = point, 1.0
    kp = Keypoints(xy, conf, 400, 1000)
    body = fit.Body(kp)
    limb = body.leg(fit._RIGHT, np.array([100.0, 450.0]), extend=0.25)
    assert np.allclose(limb, [[100, 450], [100, 600], [100, 800], [100, 850]])
    # The left ankle is hidden: straight below the knee, as far down as the right shin is long.
    assert np.allclose(body.leg(fit._LEFT, np.array([200.0, 450.0]), extend=0.25)[2:], [[260, 780], [260, 830]])
    floor = 350 + fit.HEM_BELOW_ANKLE * 200  # the crotch to just below the ankle
    leg = np.zeros((900, 300), bool)
    leg[100:900, 50:150] = True  # 800 px from the crotch (row 100) down
    axis = (np.array([100.0, 100.0]), np.array([100.0, 899.0]))
    waist = 300.0  # the leg is 2.7 waistbands long from the crotch: full length
    along, cut = fit._to_the_feet(limb, leg, axis, scale=1.0, waist_g=waist)
    assert along == pytest.approx(fit.HEM_SQUEEZE)
    hem = np.nonzero(cut.any(axis=1))[0].max()
    assert (hem - 100) * along == pytest.approx(floor, abs=1.0)
    # Slightly long: squeezed to the feet, nothing cut.
    along, cut = fit._to_the_feet(limb, leg, axis, scale=1.05 * floor / 799, waist_g=waist)
    assert along == pytest.approx(floor / 799) and (cut == leg).all()
    # Slightly short (a slim person's narrow hips): stretched to the feet, nothing cut.
    along, cut = fit._to_the_feet(limb, leg, axis, scale=0.8 * floor / 799, waist_g=waist)
    assert along == pytest.approx(floor / 799) and (cut == leg).all()
    # Far too short: stretched by HEM_STRETCH at most.
    along, cut = fit._to_the_feet(limb, leg, axis, scale=0.2, waist_g=waist)
    assert along == pytest.approx(0.2 * fit.HEM_STRETCH) and (cut == leg).all()
    # Shorts and a cropped leg (short for their waistband): as they were.
    for waist in (799 / 0.55, 799 / 1.3):
        along, cut = fit._to_the_feet(limb, leg, axis, scale=0.3, waist_g=waist)
        assert along == 0.3 and (cut == leg).all()


def test_push_pull_fills_holes_from_the_known_pixels():
    h, w = 64, 96
    ramp = np.broadcast_to(np.linspace(0, 255, w, dtype=np.float32)[None, :, None], (h, w, 3)).copy()
    known = np.ones((h, w), bool)
    known[20:44, 30:70] = False
    filled = push_pull(ramp * known[..., None], known)
    assert np.array_equal(filled[known], ramp[known])  # known pixels are kept exactly
    hole = filled[~known]
    assert hole.min() >= ramp[known].min() and hole.max() <= ramp[known].max()
    # Smooth: a flat image stays flat, a ramp is continued roughly.
    flat = push_pull(np.full((h, w, 3), 80.0, np.float32) * known[..., None], known)
    assert np.allclose(flat, 80.0)
    assert np.abs(filled[32, 30:70, 0] - ramp[32, 30:70, 0]).mean() < 40


def test_a_filled_hole_keeps_the_backdrops_texture_and_stripes():
    """A hole in a backdrop of level stripes with grain (a flag, grass): the smooth fill plus the
    mirrored detail runs the stripes on across it (they match the hidden ones) with about the
    backdrop's contrast; the smooth fill alone does not follow them. Nothing is added beyond the reach."""
    from tryon.engines.warp.fill import mirrored_detail

    h, w = 120, 200
    rows = np.arange(h)[:, None, None]
    truth = 120 + 40 * np.sign(np.sin(2 * np.pi * rows / 10)) + np.random.default_rng(0).normal(0, 6, (h, w, 3))
    truth = np.clip(np.broadcast_to(truth, (h, w, 3)), 0, 255).astype(np.uint8)
    known = np.ones((h, w), bool)
    known[20:100, 80:120] = False
    smooth = push_pull(truth.astype(np.float32) * known[..., None], known)
    (ys, xs), detail = mirrored_detail(truth, known, ~known, sigma=8.0, reach=30)
    filled = smooth.copy()
    filled[ys, xs] += detail
    hole = ~known
    hidden = truth[hole].astype(float).mean(axis=1)
    got, flat = filled[hole].mean(axis=1), smooth[hole].mean(axis=1)
    assert np.corrcoef(got, hidden)[0, 1] > 0.6 and abs(np.corrcoef(flat, hidden)[0, 1]) < 0.3
    assert 0.5 < got.std() / hidden.std() < 1.2 and flat.std() < 0.5 * hidden.std()
    assert np.array_equal(filled[known], smooth[known])
    # A hole wider than twice the reach stays smooth in its middle.
    wide = np.ones((h, w), bool)
    wide[20:100, 30:170] = False
    (ys, xs), detail = mirrored_detail(truth, wide, ~wide, sigma=8.0, reach=30)
    assert np.abs(detail[np.abs(xs - 100) < 35]).max() == 0 and np.abs(detail[xs < 40]).max() > 20


def test_decontaminate_recolours_the_rim_from_the_interior():
    """A red disc photographed with a white halo on its outline: the halo takes the disc's colour,
    the interior and the backdrop stay as they are."""
    img = np.full((80, 80, 3), 255, np.uint8)
    mask = np.zeros((80, 80), np.uint8)
    cv2.circle(mask, (40, 40), 25, 1, -1)
    img[mask > 0] = (200, 20, 20)
    ring = (mask > 0) & ~(cv2.erode(mask, np.ones((5, 5), np.uint8)) > 0)
    img[ring] = (250, 240, 240)
    out = decontaminate(img, mask > 0, rim=2)
    assert np.abs(out[ring].astype(int) - (200, 20, 20)).max(axis=1).mean() < 20
    inner = cv2.erode(mask, np.ones((11, 11), np.uint8)) > 0
    far = cv2.dilate(mask, np.ones((5, 5), np.uint8)) == 0
    assert np.array_equal(out[inner], img[inner]) and np.array_equal(out[far], img[far])


# --- a drawn person ----------------------------------------------------------------------------

J = Joint
SIZE = (240, 480)  # width, height: the parser works at this size (under its working height)
JOINTS = {
    J.NOSE: (120, 62), J.NECK: (120, 102), J.R_SHOULDER: (84, 108), J.L_SHOULDER: (156, 108),
    J.R_ELBOW: (74, 172), J.L_ELBOW: (166, 172), J.R_WRIST: (70, 232), J.L_WRIST: (170, 232),
    J.MID_HIP: (120, 242), J.R_HIP: (101, 242), J.L_HIP: (139, 242), J.R_KNEE: (99, 340),
    J.L_KNEE: (141, 340), J.R_ANKLE: (98, 430), J.L_ANKLE: (142, 430), J.R_EYE: (111, 56),
    J.L_EYE: (129, 56), J.R_EAR: (99, 60), J.L_EAR: (141, 60), J.L_BIG_TOE: (156, 456),
    J.L_SMALL_TOE: (160, 452), J.L_HEEL: (140, 448), J.R_BIG_TOE: (84, 456), J.R_SMALL_TOE: (80, 452),
    J.R_HEEL: (100, 448),
}
SKIN, HAIR, BACKDROP = (222, 170, 140), (60, 40, 30), (245, 245, 245)
BLUE, GREY, RED, BROWN = (40, 70, 170), (60, 60, 64), (190, 30, 50), (110, 60, 25)


def _keypoints(without: tuple[Joint, ...] = ()) -> Keypoints:
    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    for j, p in JOINTS.items():
        if j not in without:
            xy[j], conf[j] = p, 0.9
    return Keypoints(xy, conf, *SIZE)


def _limb(img: np.ndarray, joints: tuple[Joint, ...], colour: tuple[int, int, int], width: int) -> None:
    for a, b in zip(joints, joints[1:]):
        cv2.line(img, JOINTS[a], JOINTS[b], colour, width)


def _person(top: tuple[int, int, int] = BLUE, bottom: tuple[int, int, int] | None = GREY,
            skirt: tuple[int, int, int] | None = None, flare: int = 16) -> tuple[np.ndarray, np.ndarray, Face]:
    """A person facing the camera: hair, a face, a short-sleeved top, bare forearms and hands,
    trousers (``bottom``) or a knee-length skirt over bare legs (``skirt``, ``flare`` pixels
    wider on each side at its hem than at its waist), shoes."""
    img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    cv2.ellipse(img, (120, 50), (30, 34), 0, 0, 360, HAIR, -1)
    cv2.rectangle(img, (110, 80), (130, 112), SKIN, -1)  # the neck
    face_outline = cv2.ellipse2Poly((120, 62), (21, 28), 0, 0, 360, 10).astype(np.float32)
    cv2.fillPoly(img, [face_outline.astype(np.int32)], SKIN)
    for arm in ((J.R_SHOULDER, J.R_ELBOW, J.R_WRIST), (J.L_SHOULDER, J.L_ELBOW, J.L_WRIST)):
        _limb(img, arm[1:], SKIN, 16)
        e, w = np.array(JOINTS[arm[1]]), np.array(JOINTS[arm[2]])
        cv2.circle(img, tuple(int(v) for v in w + 0.3 * (w - e)), 10, SKIN, -1)
        _limb(img, arm[:2], top, 26)
    legs = ((J.R_HIP, J.R_KNEE, J.R_ANKLE), (J.L_HIP, J.L_KNEE, J.L_ANKLE))
    for leg in legs:
        _limb(img, leg, SKIN if skirt else bottom, 30 if not skirt else 22)
    if skirt:
        cv2.fillPoly(img, [np.array([(96, 232), (144, 232), (144 + flare, 330), (96 - flare, 330)], np.int32)], skirt)
    else:
        cv2.fillPoly(img, [np.array([(86, 236), (154, 236), (150, 280), (90, 280)], np.int32)], bottom)
    cv2.fillPoly(img, [np.array([(70, 104), (170, 104), (156, 250), (84, 250)], np.int32)], top)
    for ankle, toe, heel in ((J.R_ANKLE, J.R_BIG_TOE, J.R_HEEL), (J.L_ANKLE, J.L_BIG_TOE, J.L_HEEL)):
        cv2.fillPoly(img, [np.array([JOINTS[ankle], JOINTS[toe], JOINTS[heel]], np.int32)], BROWN)
        _limb(img, (ankle, toe), BROWN, 12)
    person = img.any(axis=2)
    img[~person] = BACKDROP
    skin_points = np.array([(110, 70), (130, 70), (120, 46), (112, 78), (128, 78)], np.float32)
    face = Face((99, 34, 141, 90), 0.95, face_outline, skin_points)
    return img, person.astype(np.float32), face


def _share(parse: np.ndarray, where: np.ndarray, labels: tuple[int, ...]) -> float:
    """The share of the pixels ``where`` that carry one of ``labels``."""
    return float(np.isin(parse[where], labels).mean())


def _colour(img: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return (img == colour).all(axis=2)


def test_parser_labels_a_drawn_person():
    img, person, face = _person()
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert parse.shape == person.shape and parse.dtype == np.uint8
    assert not parse[person == 0].any()
    assert _share(parse, _colour(img, BLUE), (Label.UPPER_CLOTHES,)) > 0.95
    # The trousers, down to the ankles: the hem just above them is not of the shoes' colour, so
    # it is no shoe (kept as one, it stayed under a new skirt as a dark band).
    above_ankles = np.arange(SIZE[1])[:, None] < 400
    assert _share(parse, _colour(img, GREY) & above_ankles, (Label.PANTS,)) > 0.98
    hem = _colour(img, GREY) & ~above_ankles & (np.arange(SIZE[1])[:, None] < JOINTS[J.R_ANKLE][1])
    assert hem.sum() > 100 and _share(parse, hem, (Label.LEFT_SHOE, Label.RIGHT_SHOE)) < 0.05
    assert _share(parse, _colour(img, BROWN), (Label.LEFT_SHOE, Label.RIGHT_SHOE)) > 0.95
    feet = np.isin(parse, (Label.LEFT_SHOE, Label.RIGHT_SHOE))
    assert (parse[feet & (np.arange(SIZE[0])[None, :] > 120)] == Label.LEFT_SHOE).all()
    assert _share(parse, _colour(img, HAIR), (Label.HAIR,)) > 0.9
    face_mask = np.zeros(person.shape, np.uint8)
    cv2.fillPoly(face_mask, [face.outline.astype(np.int32)], 1)
    assert _share(parse, face_mask > 0, (Label.FACE,)) > 0.9
    # Bare forearms are arms, on the side of their joints: the person's right on the image's left.
    skin = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 150)
    assert _share(parse, skin, ARMS) > 0.9
    left = skin & (np.arange(SIZE[0])[None, :] > 120)
    assert _share(parse, left, (Label.LEFT_ARM,)) > 0.9
    assert _share(parse, skin & ~left, (Label.RIGHT_ARM,)) > 0.9


def test_a_dark_collar_joined_to_short_hair_is_no_hair():
    """Short dark hair, and a jacket of its colour whose collar reaches the jaw: joined to the head,
    it was taken for hair falling below the chin (a chest-up photo's whole jacket was). With no
    hair beside the face on either side, nothing below the ears is hair: neither below the chin
    nor where the collar rises beside the jaw, above the chin's row."""
    img, person, face = _person(top=HAIR)
    chin = int(face.box[3])
    short = np.zeros(person.shape, bool)
    short[int(face.box[1]) + 14:chin] = True  # the hair ends above the eyes
    img[short & _colour(img, HAIR)] = BACKDROP
    for side in (1, -1):  # the collar rises from the jacket to the jaw on each side
        collar = [(120 - side * 20, 104), (120 - side * 9, 84), (120 - side * 3, 92), (120 - side * 8, 104)]
        cv2.fillPoly(img, [np.array(collar, np.int32)], HAIR)
    person = (~_colour(img, BACKDROP)).astype(np.float32)
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, _colour(img, HAIR) & (np.arange(SIZE[1])[:, None] < face.box[1] + 10), (Label.HAIR,)) > 0.9
    below = (parse == Label.HAIR) & (np.arange(SIZE[1])[:, None] > chin)
    assert not below.any(), below.sum()
    beside_jaw = _colour(img, HAIR) & (np.arange(SIZE[1])[:, None] > face.box[1] + 46)
    assert beside_jaw.sum() > 20 and not (parse[beside_jaw] == Label.HAIR).any()


def test_skin_points_on_lenses_and_a_grey_beard_do_not_make_a_grey_jacket_skin():
    """The face mesh's skin points of a turned head fall on sunglasses and a grey beard: more than
    half of them here. Only those saturated like skin are samples, and the grey jacket stays the top.
    With all of them the skin model's chroma reaches grey; the jacket, which leans from grey away
    from the face's tint, stays the top all the same (``SkinParams.warm_share``)."""
    jacket, lens, beard = (128, 126, 130), (40, 42, 46), (165, 163, 160)
    img, person, face = _person(top=jacket)
    for eye in (JOINTS[J.R_EYE], JOINTS[J.L_EYE]):
        cv2.circle(img, eye, 7, lens, -1)
    cv2.ellipse(img, (120, 84), (14, 8), 0, 0, 360, beard, -1)
    cheeks = [(110, 70), (130, 70), (120, 46), (120, 40), (108, 64), (132, 64)]
    grey = [JOINTS[J.R_EYE], JOINTS[J.L_EYE], (112, 78), (128, 78), (113, 84), (127, 84), (120, 86)]
    points = np.array(cheeks + grey, np.float32)
    bare = bare_points(img, points, 2)
    assert sorted(map(tuple, bare.astype(int).tolist())) == sorted(cheeks)
    worn = _colour(img, jacket)
    shares = {}
    for name, pts in (("all", points), ("bare", bare)):
        parse = GeometricParser()(img, person, _keypoints(), Face(face.box, face.score, face.outline, pts))
        shares[name] = _share(parse, worn, (Label.UPPER_CLOTHES,))
    assert shares["bare"] > 0.98 and shares["all"] > 0.98


def test_the_jaw_follows_the_face_outline_at_the_photos_own_size():
    """A photo three times the working height: the face's lower outline is the face mesh's jaw at
    the photo's resolution, not a staircase of working pixels (which showed wherever a try-on
    redraws what meets the jaw). At most a few pixels differ along it."""
    img, person, face = _person()
    k = 3
    size = (SIZE[0] * k, SIZE[1] * k)
    big = cv2.resize(img, size, interpolation=cv2.INTER_NEAREST)
    mask = cv2.resize(person, size, interpolation=cv2.INTER_NEAREST)
    outline = face.outline * k
    big_face = Face(tuple(int(v * k) for v in face.box), face.score, outline, face.skin_points * k)
    parse = GeometricParser()(big, mask, _keypoints().scaled(k, width=size[0], height=size[1]), big_face)
    jaw = np.zeros(parse.shape, np.uint8)
    cv2.fillPoly(jaw, [np.round(outline).astype(np.int32)], 1)
    x0, y0, x1, y1 = big_face.box
    band = np.zeros(parse.shape, bool)
    band[int(y1 - 0.1 * (y1 - y0)):int(y1) + 10] = True
    outline_px = ((cv2.morphologyEx(jaw, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0) & band).sum()
    off = (((parse == Label.FACE) != (jaw > 0)) & band).sum()
    assert off < 0.05 * outline_px, (off, outline_px)


def test_outlines_between_labels_follow_the_photo_at_its_own_size():
    """A label map worked out at a third of the photo's size, brought up to it: the slanted edge
    between a red sleeve and black trousers is a staircase of working pixels, whose wrong side a
    try-on kept as red slivers along the trousers. Refined by colour, it follows the photo's edge;
    a strap one working pixel wide keeps its pixels, and two skin parts of one colour keep the
    outline the geometry gave them."""
    k, (h, w) = 3, (60, 60)
    H, W = h * k, w * k
    yy, xx = np.mgrid[0:H, 0:W]
    red = xx > 0.6 * yy + 40  # the photo's edge, slanted
    image = np.where(red[..., None], np.uint8((190, 30, 50)), np.uint8((20, 20, 24))).astype(np.uint8)
    image[:, : W // 4] = SKIN  # arm and neck skin on the left, one colour
    strap = (xx >= 120) & (xx < 123)  # a black strap across the red, one working pixel wide
    image[strap] = (20, 20, 24)
    truth = np.where(red, Label.UPPER_CLOTHES, Label.PANTS).astype(np.uint8)
    truth[strap] = Label.PANTS
    truth[:, : W // 4] = np.where(yy[:, : W // 4] < H // 2, Label.NECK, Label.RIGHT_ARM)
    small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    labels = truth[k // 2::k, k // 2::k].copy()  # the working map: right at its pixels' centres
    full = cv2.resize(labels, (W, H), interpolation=cv2.INTER_NEAREST)
    edge = (xx > W // 4 + k) & ~strap & (np.abs(xx - 0.6 * yy - 40) < 2 * k)  # about the slanted edge
    before = (full != truth)[edge].mean()
    refined = full.copy()
    GeometricParser()._sharp_edges(refined, labels, small, image)
    after = (refined != truth)[edge].mean()
    assert before > 0.05 and after < 0.3 * before, (before, after)
    assert (refined[strap] == Label.PANTS).all()  # the strap is no thinner
    assert np.array_equal(refined[:, : W // 4], full[:, : W // 4])  # neck and arm as they were


def _head_and_locks(face: Face, rows: slice, left: tuple[int, int], right: tuple[int, int]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The drawn person's head around the face (``_person``'s hair ellipse less the face), and two
    locks falling over ``rows`` between the columns ``left`` and ``right`` (masks)."""
    shape = (SIZE[1], SIZE[0])
    head = np.zeros(shape, np.uint8)
    cv2.ellipse(head, (120, 50), (30, 34), 0, 0, 360, 1, -1)
    outline = np.zeros(shape, np.uint8)
    cv2.fillPoly(outline, [face.outline.astype(np.int32)], 1)
    locks = np.zeros(shape, bool)
    locks[rows, left[0]:left[1]] = locks[rows, right[0]:right[1]] = True
    return (head > 0) & (outline == 0), locks


def test_blonde_locks_of_skins_colour_are_hair_by_their_strands():
    """Blonde locks falling beside the neck, lit to the colour of the skin: the skin's model takes
    them, but they run in strands down and join the hair on the head, so they are hair (kept as
    skin, a try-on cut them into blocks); the bare neck between them, as smooth as skin, is not."""
    from tryon.person.parsing import HairParams

    img, person, face = _person()
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    around_face, locks = _head_and_locks(face, slice(60, 104), (76, 100), (140, 164))
    crown = around_face & ~locks
    img[crown] = (224, 172, 140)
    img[crown & (xs % 3 == 0)] = (150, 110, 72)  # darker strands on the crown: the hair's colour model
    img[locks] = SKIN
    img[locks & (xs % 3 == 0)] = (190, 140, 110)
    person = np.maximum(person, locks.astype(person.dtype))
    falling = locks & (ys > 70) & (ys < 98)
    neck = np.zeros(person.shape, bool)
    neck[92:104, 110:131] = True
    shares = {}
    for name, params in (("strands", ParserParams()),
                         ("none", dataclasses.replace(ParserParams(), hair=HairParams(strand_energy=1e9)))):
        parse = GeometricParser(params)(img, person, _keypoints(), face)
        shares[name] = _share(parse, falling, (Label.HAIR,))
        assert _share(parse, neck, (Label.HAIR,)) < 0.05
    assert shares["strands"] > 0.4 and shares["none"] < 0.1, shares


def _long_hair_over(top: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long brown hair, lit in streaks, falling from the head over a ``top`` down to the chest on
    both sides of the neck; the parse, the locks and the top below the chin."""
    img, person, face = _person(top=top)
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    around_face, locks = _head_and_locks(face, slice(60, 190), (78, 98), (142, 162))
    hair = around_face | locks
    img[hair] = HAIR
    img[hair & (xs % 4 == 0)] = (150, 105, 70)  # lit strands: the hair's model spreads in lightness
    person = np.maximum(person, hair.astype(person.dtype))
    parse = GeometricParser()(img, person, _keypoints(), face)
    below = ys > face.box[3] + 0.3 * (face.box[3] - face.box[1])
    return parse, locks & below, _colour(img, top) & below


def test_long_hair_over_a_dark_top_is_hair_down_to_its_ends():
    """Brown hair falling over a navy top: hair's colour model spreads wide in lightness, and the
    top's colour lay within it, so hair was cut off at the chin (the new top was then drawn over
    the locks). The top's own colour model tells the two apart; black hair over a top of its own
    colour still ends at the chin, where nothing tells them apart."""
    parse, locks, top = _long_hair_over((30, 36, 70))
    assert _share(parse, locks, (Label.HAIR,)) > 0.9
    assert _share(parse, top, (Label.HAIR,)) < 0.02
    parse, locks, _ = _long_hair_over(HAIR)
    assert _share(parse, locks, (Label.HAIR,)) < 0.05


def test_an_open_jacket_of_the_hairs_colour_is_no_hair_down_its_panels():
    """Long dark hair over a light top, and an open jacket of the hair's colour over it: joined to the
    locks, the jacket's panels were taken for hair down to where hair can end, and stayed as dark
    blocks over a new top. Hair's colour going on below that end is a garment's; hair then stops
    at the shoulders, and the panels are the top's."""
    img, person, face = _person(top=WHITE)
    ys = np.arange(SIZE[1])[:, None]
    around_face, locks = _head_and_locks(face, slice(60, 190), (78, 98), (142, 162))
    img[around_face | locks] = HAIR
    for x0, x1 in ((70, 92), (148, 170)):
        cv2.rectangle(img, (x0, 104), (x1, 300), HAIR, -1)
    person = (~_colour(img, BACKDROP)).astype(np.float32)
    parse = GeometricParser()(img, person, _keypoints(), face)
    panels = _colour(img, HAIR) & (ys > 200)
    assert panels.sum() > 1000 and _share(parse, panels, (Label.HAIR,)) < 0.02
    assert _share(parse, panels, UPPER_GARMENT) > 0.9
    assert _share(parse, around_face & (ys < face.box[3]), (Label.HAIR,)) > 0.9


def test_parser_tells_skirts_and_dresses_from_trousers():
    img, person, face = _person(skirt=RED)
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, _colour(img, RED), (Label.SKIRT,)) > 0.9
    assert _share(parse, _colour(img, BLUE), (Label.UPPER_CLOTHES,)) > 0.95
    shins = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 340)
    assert _share(parse, shins, LEGS) > 0.9
    # A top and a skirt of one colour are one dress.
    img, person, face = _person(top=RED, skirt=RED)
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, _colour(img, RED), (Label.DRESS,)) > 0.95


def test_a_skirt_and_trousers_of_skins_colour_are_garments_down_to_their_hems():
    """Nude and beige garments pass the face's skin model (here 16 lightness units and 2 of
    chroma from the skin), and were parsed as legs: a new skirt then left the old trousers
    showing below it. The crotch is never bare, so its "skin" is a garment's, down each leg to
    its hem (a skirt wider than the legs below it) or all the way (trousers)."""
    nude = (200, 155, 125)
    img, person, face = _person(skirt=nude)
    parse = GeometricParser()(img, person, _keypoints(), face)
    worn = _colour(img, nude)
    assert _share(parse, worn, LOWER_GARMENT + (Label.DRESS,)) > 0.9
    shins = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 340)
    assert _share(parse, shins, LEGS) > 0.9
    img, person, face = _person(bottom=nude)
    parse = GeometricParser()(img, person, _keypoints(), face)
    above_shoes = _colour(img, nude) & (np.arange(SIZE[1])[:, None] < 400)
    assert _share(parse, above_shoes, LOWER_GARMENT) > 0.9
    # The hands and face stay skin.
    hands = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 200)
    assert _share(parse, hands, ARMS) > 0.9


def _off_skin(light: float, off: float) -> tuple[int, int, int]:
    """A colour ``light`` Lab units lighter than SKIN and ``off`` units off its chroma, always the
    same way: a lit front 12 off is past the skin model's three spreads of 3, a shaded side 8.5 off
    is within it, 3.5 from the front."""
    skin_lab = cv2.cvtColor(np.array([[SKIN]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0].astype(float)
    lab = np.round(skin_lab + (light, 0, 0) + off * np.array([0.0, -0.6, -0.8])).astype(np.uint8)
    return tuple(int(v) for v in cv2.cvtColor(lab[None, None], cv2.COLOR_LAB2RGB)[0, 0])


def test_the_shaded_sides_of_a_top_of_nearly_skins_colour_are_the_top():
    """A blush top (IDM-VTON 00034's pink shirt): its lit front is too light for skin, but its
    shaded sides pass the face's skin model and were parsed as skin (kept as "real skin", they
    stood as pink strips beside a new top). Nearer in chroma to the top's own colour than to the
    skin's, they are the top; the bare forearms, hands and neck stay skin."""
    front, side = _off_skin(20, 12), _off_skin(-10, 8.5)
    img, person, face = _person(top=front)
    sides = _colour(img, front) & ((np.arange(SIZE[0]) < 92) | (np.arange(SIZE[0]) > 148))[None, :]
    sides &= (np.arange(SIZE[1]) > 130)[:, None]
    img[sides] = side
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, sides, (Label.UPPER_CLOTHES,)) > 0.9
    assert _share(parse, _colour(img, front), (Label.UPPER_CLOTHES,)) > 0.95
    forearms = _colour(img, SKIN) & (np.arange(SIZE[1]) > 150)[:, None]
    assert _share(parse, forearms, ARMS) > 0.9
    neck = _colour(img, SKIN) & (np.arange(SIZE[1]) > 92)[:, None] & (np.arange(SIZE[1]) < 104)[:, None]
    assert _share(parse, neck, (Label.NECK, Label.FACE)) > 0.9


def test_the_shaded_sides_of_a_skirt_of_nearly_skins_colour_are_the_skirt():
    """Beige shorts (FitDiT 1's): their lit front is off the skin's chroma, but their shaded sides
    and the waist pass the face's skin model and were parsed as skin, which a new top's hem then
    followed in tongues. Nearer in chroma to the garment's own colour than to the skin's, they are
    the garment's; the hands beside them and the bare legs below stay skin."""
    front, side = _off_skin(20, 12), _off_skin(-10, 8.5)
    img, person, face = _person(skirt=front)
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    sides = _colour(img, front) & ((xs < 104) | (xs > 136)) & (ys > 250) & (ys < 300)
    img[sides] = side
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, sides, LOWER_GARMENT) > 0.9
    assert _share(parse, _colour(img, front), LOWER_GARMENT) > 0.9
    hands = _colour(img, SKIN) & (ys > 200) & (ys < 270)
    assert _share(parse, hands, ARMS) > 0.9
    assert _share(parse, _colour(img, SKIN) & (ys > 340), LEGS) > 0.9


def test_the_shaded_sides_of_a_skirt_beside_the_hands_are_the_skirt():
    """A flared skirt of nearly skin's colour (FitDiT 1's beige shorts): its shaded sides beside the
    hanging hands, nearer the arms than the legs, were parsed as the hands, and stayed as a strip
    of the old garment beside new trousers. Nearer in chroma to the garment than to the skin by
    far (``closer_by_near_arms``) they are the garment's; the hands stay skin."""
    front, side = _off_skin(20, 11), _off_skin(-10, 8.5)  # the side is 2.5 off the front, 8.5 off the skin
    img, person, face = _person(skirt=front, flare=40)
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    sides = _colour(img, front) & ((xs < 90) | (xs > 150)) & (ys > 240) & (ys < 300)
    img[sides] = side
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert _share(parse, sides, LOWER_GARMENT) > 0.9
    hands = _colour(img, SKIN) & (ys > 200) & (ys < 270) & ((xs < 85) | (xs > 155))
    assert _share(parse, hands, ARMS) > 0.9


def test_fingers_reaching_across_the_body_are_the_hands():
    """A hand held in front of the body, its fingers reaching to the middle: they lie nearer the
    torso's chain or a leg's than their own arm's and were parsed as torso or leg skin, which a new
    lower garment then painted over. Joined to the wrist through skin, above the hips, they are
    the arm's; the neck stays neck."""
    img, person, face = _person()
    cv2.line(img, (72, 236), (100, 236), SKIN, 10)  # from the right wrist, under half a shoulder width
    person = img.any(axis=2) & ~(img == BACKDROP).all(axis=2)
    parse = GeometricParser()(img, person.astype(np.float32), _keypoints(), face)
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    fingers = _colour(img, SKIN) & (xs > 90) & (xs < 110) & (ys > 230) & (ys < 242)
    assert fingers.sum() > 100
    assert _share(parse, fingers, ARMS) > 0.9
    neck = _colour(img, SKIN) & (ys > 92) & (ys < 104)
    assert _share(parse, neck, (Label.NECK, Label.FACE)) > 0.9


def test_a_hand_past_the_cuff_of_a_long_sleeve_across_the_body_is_the_hand():
    """On a long sleeve the pose puts the wrist at the cuff, and the hand begins past it. With the
    forearm across the body and the fingers reaching sideways off its line, the hand is joined
    to the wrist through no skin at all: parsed as the torso's, a new short-sleeved top was drawn
    over it (FitDiT 0223's clasped hands). Found along the forearm's line run on past the wrist,
    it is the arm's."""
    img, person, face = _person()
    elbow, wrist = np.array(JOINTS[J.R_ELBOW], float), np.array([96.0, 214.0])
    u = (wrist - elbow) / np.linalg.norm(wrist - elbow)
    n = np.array([-u[1], u[0]]) * 9
    cv2.fillPoly(img, [np.round([elbow + n, wrist + n, wrist - n, elbow - n]).astype(np.int32)], BLUE)  # the sleeve
    palm = np.round(wrist + 12 * u).astype(int)
    cv2.circle(img, tuple(int(v) for v in palm), 6, SKIN, -1)
    cv2.line(img, tuple(int(v) for v in palm), (int(palm[0]) + 26, int(palm[1])), SKIN, 8)  # the fingers
    kp = _keypoints()
    kp.xy[J.R_WRIST] = wrist
    parse = GeometricParser()(img, person, kp, face)
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    fingers = _colour(img, SKIN) & (xs > palm[0] + 10) & (abs(ys - palm[1]) < 6)
    assert fingers.sum() > 80
    assert _share(parse, fingers, ARMS) > 0.9
    neck = _colour(img, SKIN) & (ys > 92) & (ys < 104)
    assert _share(parse, neck, (Label.NECK, Label.FACE)) > 0.9


def test_parser_without_face_or_legs():
    """No face (a head turned away): the head's joints place it, the skin model is learned on the
    hands; no knees or ankles (a close-up): no legs, no shoes, and the top stays the top."""
    img, person, _ = _person()
    kp = _keypoints(without=(J.R_KNEE, J.L_KNEE, J.R_ANKLE, J.L_ANKLE) + tuple(j for j in Joint if j >= J.L_BIG_TOE))
    parse = GeometricParser()(img, person, kp, None)
    assert (parse == Label.FACE).sum() > 500
    assert _share(parse, _colour(img, BLUE), (Label.UPPER_CLOTHES,)) > 0.95
    hands = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 200)
    assert _share(parse, hands, ARMS) > 0.8
    assert not np.isin(parse, (Label.LEFT_SHOE, Label.RIGHT_SHOE)).any()


def test_parser_finds_the_trousers_of_a_photo_cut_off_at_the_hips():
    """A waist-up photo shows the trousers' waistband only, not the thighs the bottom's colour is
    learned from: the band along the frame's bottom, unlike the top, is still the trousers (taken
    for the top, a new top erased them). Where the cloth is alike all the way down (a black top
    over black trousers), nothing tells the two apart but the hips: the top ends about them. (All
    top, the trousers were erased down to the frame and the body ended at the hips over the
    backdrop; a long top taken for trousers below the hips at worst stays there under a shorter
    new one.)"""
    cut = 266  # rows: the frame ends a little below the hip joints, above the thighs' seeds
    legs = (J.R_KNEE, J.L_KNEE, J.R_ANKLE, J.L_ANKLE) + tuple(j for j in Joint if j >= J.L_BIG_TOE)
    base = _keypoints(without=legs)
    kp = Keypoints(base.xy, base.confidence, SIZE[0], cut)
    img, person, face = _person()
    img, person = img[:cut].copy(), person[:cut].copy()
    parse = GeometricParser()(img, person, kp, face)
    band = _colour(img, GREY)
    assert band.sum() > 500
    assert _share(parse, band, (Label.PANTS,)) > 0.9
    assert _share(parse, _colour(img, BLUE), (Label.UPPER_CLOTHES,)) > 0.95
    img, person, face = _person(bottom=BLUE)
    parse = GeometricParser()(img[:cut].copy(), person[:cut].copy(), kp, face)
    rows = np.arange(cut)[:, None]
    hips = JOINTS[J.MID_HIP][1]
    blue = _colour(img[:cut], BLUE)
    assert _share(parse, blue & (rows < hips - 20), (Label.UPPER_CLOTHES,)) > 0.95
    assert _share(parse, blue & (rows > hips + 8), (Label.PANTS,)) > 0.9


def test_a_long_coat_over_trousers_is_the_top_down_to_its_hem():
    """A coat to mid-thigh over trousers: the bottom's colour is learned about the knees, which
    the coat does not reach (learned on the whole thigh, it took in the coat, and the coat's
    skirt below the hips was labelled trousers and kept under a new top)."""
    img, person, face = _person()
    coat = np.zeros(person.shape, np.uint8)
    cv2.fillPoly(coat, [np.array([(70, 104), (170, 104), (168, 300), (72, 300)], np.int32)], 1)
    img[coat > 0] = BLUE
    person = np.maximum(person, coat.astype(np.float32))
    parse = GeometricParser()(img, person, _keypoints(), face)
    skirt = (coat > 0) & (np.arange(SIZE[1])[:, None] > JOINTS[J.MID_HIP][1] + 10)
    assert _share(parse, skirt, (Label.UPPER_CLOTHES,)) > 0.8
    assert _share(parse, _colour(img, GREY), (Label.PANTS,)) > 0.9


def test_a_bag_held_below_the_hand_is_not_the_top():
    """A bag of the top's colour hanging from a hand, beyond the arm's reach and off the torso: it
    is background in LIP's labels, not a piece of the top (which a new top then erased)."""
    img, person, face = _person()
    cv2.rectangle(img, (24, 262), (66, 330), BLUE, -1)  # hanging from the right hand
    bag = np.zeros(person.shape, bool)
    bag[262:331, 24:67] = True
    person = np.maximum(person, bag.astype(np.float32))
    parse = GeometricParser()(img, person, _keypoints(), face)
    inner = bag & (np.arange(SIZE[1])[:, None] > 280)  # clear of the hand
    assert _share(parse, inner, (Label.BACKGROUND,)) > 0.9
    assert _share(parse, _colour(img, BLUE) & ~bag, (Label.UPPER_CLOTHES,)) > 0.95


def test_a_print_of_the_trousers_colour_above_the_tops_hem_stays_the_top():
    """A top and trousers meet at one line across the torso, the top's hem. A print on the top
    in the trousers' colour just above the hem was split off as trousers by the colour models
    (a new skirt then left a hole in the top); the waistline keeps the top whole down to its hem,
    and the trousers stay the trousers."""
    img, person, face = _person()
    rows, cols = np.mgrid[0:SIZE[1], 0:SIZE[0]]
    for y0, x0, x1 in ((205, 100, 140), (222, 95, 145), (226, 110, 130)):
        drawn, drawn_person, _ = _person()
        on_top = _colour(drawn, BLUE) & (rows >= y0) & (rows < y0 + 10) & (cols >= x0) & (cols < x1)
        drawn[on_top] = GREY
        parse = GeometricParser()(drawn, drawn_person, _keypoints(), face)
        assert on_top.sum() >= 200
        assert _share(parse, on_top, (Label.UPPER_CLOTHES,)) > 0.95
        assert _share(parse, _colour(drawn, GREY) & ~on_top, (Label.PANTS,)) > 0.95


def test_the_shaded_sides_of_trousers_beside_hanging_forearms_are_the_trousers(monkeypatch):
    """Forearms hanging beside the hips make cloth along them likely a sleeve; the trousers' sides
    there, in a shade neither garment's colour model knows, went to the top with that prior (a new
    skirt left them standing beside it as "top"). Below the top's hem they are the trousers."""
    for joint, point in ((J.R_ELBOW, (80, 185)), (J.R_WRIST, (84, 262)), (J.L_ELBOW, (160, 185)),
                         (J.L_WRIST, (156, 262))):
        monkeypatch.setitem(JOINTS, joint, point)
    img, person, face = _person()
    rows, cols = np.mgrid[0:SIZE[1], 0:SIZE[0]]
    sides = _colour(img, GREY) & (rows > 244) & (rows < 280) & ((cols < 96) | (cols > 144))
    img[sides] = (110, 104, 96)
    parse = GeometricParser()(img, person, _keypoints(), face)
    assert sides.sum() > 400
    assert _share(parse, sides, (Label.PANTS,)) > 0.95
    assert _share(parse, _colour(img, BLUE), (Label.UPPER_CLOTHES,)) > 0.95


def test_high_waisted_jeans_of_the_tops_colour_are_the_jeans_up_to_the_waist():
    """A navy top tucked into dark jeans that reach well above the hip joints: the colour models
    cannot tell the two apart, so the prior decides, and it changed over at the hip joints (the
    jeans' upper half stayed as "top" above a new skirt). With colours this alike it changes over
    at the natural waist."""
    navy, denim = (34, 36, 70), (30, 40, 78)
    rows = np.arange(SIZE[1])[:, None]
    for waist in (205, 215):
        img, person, face = _person(top=navy, bottom=denim)
        high = _colour(img, navy) & (rows >= waist) & (rows < 252)
        img[high] = denim
        top = _colour(img, navy)
        grain = np.random.default_rng(0).integers(-6, 7, img.shape)
        img = np.where(person[..., None] > 0, np.clip(img.astype(int) + grain, 0, 255), img).astype(np.uint8)
        parse = GeometricParser()(img, person, _keypoints(), face)
        assert high.sum() > 2000
        assert _share(parse, high, (Label.PANTS,)) > 0.95
        assert _share(parse, top, (Label.UPPER_CLOTHES,)) > 0.95


def test_the_waistline_search_weighs_every_step_it_allows():
    """The line's step from one column to the next: one row is free, each further row costs
    ``step_cost``; the running maxima that find it in linear time agree with trying every row."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        best, cost = rng.normal(0, 10, rng.integers(1, 30)), rng.uniform(0, 5)
        value, origin = _reach(best, cost)
        for y in range(len(best)):
            tried = [best[k] - cost * max(0, abs(y - k) - 1) for k in range(len(best))]
            assert value[y] == pytest.approx(max(tried))
            assert tried[origin[y]] == pytest.approx(value[y])


def test_parser_parameters():
    """The default parameters are the parser's defaults; they are frozen, and the stages read them
    (a smallest skin island larger than the person leaves no bare arms; the working height sets
    the resolution the labels are worked out at)."""
    img, person, face = _person()
    kp = _keypoints()
    parse = GeometricParser()(img, person, kp, face)
    assert np.array_equal(GeometricParser(ParserParams())(img, person, kp, face), parse)
    params = ParserParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.work_height = 256  # type: ignore[misc]
    islands = dataclasses.replace(params, skin=dataclasses.replace(params.skin, min_island_px=100_000))
    no_skin = GeometricParser(islands)(img, person, kp, face)
    assert not np.isin(no_skin, ARMS).any() and np.isin(parse, ARMS).any()
    # The working height: a photo no taller is parsed as it is; a taller one at that height and
    # brought back up.
    assert np.array_equal(GeometricParser(ParserParams(work_height=SIZE[1]))(img, person, kp, face), parse)
    big = cv2.resize(img, (2 * SIZE[0], 2 * SIZE[1]), interpolation=cv2.INTER_NEAREST)
    big_person = cv2.resize(person, (2 * SIZE[0], 2 * SIZE[1]), interpolation=cv2.INTER_NEAREST)
    big_face = Face((198, 68, 282, 180), 0.95, face.outline * 2, face.skin_points * 2)
    up = GeometricParser()(big, big_person, kp.scaled(2.0), big_face)
    assert up.shape == big_person.shape
    assert (cv2.resize(up, SIZE, interpolation=cv2.INTER_NEAREST) == parse).mean() > 0.97


# --- agnostic masks from a drawn parse ---------------------------------------------------------


def _parse() -> np.ndarray:
    """The drawn person's label map, drawn directly (no parser): top, trousers, arms, face."""
    img, person, face = _person()
    parse = np.zeros(person.shape, np.uint8)
    parse[person > 0] = Label.NECK
    parse[_colour(img, HAIR)] = Label.HAIR
    parse[_colour(img, BLUE)] = Label.UPPER_CLOTHES
    parse[_colour(img, GREY)] = Label.PANTS
    shoes = _colour(img, BROWN)
    parse[shoes & (np.arange(SIZE[0])[None, :] > 120)] = Label.LEFT_SHOE
    parse[shoes & (np.arange(SIZE[0])[None, :] <= 120)] = Label.RIGHT_SHOE
    skin_below = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] > 150)
    parse[skin_below & (np.arange(SIZE[0])[None, :] > 120)] = Label.LEFT_ARM
    parse[skin_below & (np.arange(SIZE[0])[None, :] <= 120)] = Label.RIGHT_ARM
    face_mask = np.zeros(person.shape, np.uint8)
    cv2.fillPoly(face_mask, [face.outline.astype(np.int32)], 1)
    parse[face_mask > 0] = Label.FACE
    return parse


def test_agnostic_masks_per_category():
    parse, kp = _parse(), _keypoints()
    top, pants = parse == Label.UPPER_CLOTHES, parse == Label.PANTS
    head = np.isin(parse, (Label.FACE, Label.HAIR))
    shoes = np.isin(parse, (Label.LEFT_SHOE, Label.RIGHT_SHOE))
    upper, lower, dress = (agnostic_mask(parse, kp, c) > 0 for c in ("upper", "lower", "dress"))
    assert upper[top].all() and not upper[pants].any()
    assert lower[pants].all() and not lower[top].any()
    assert dress[top | pants].all()
    for mask in (upper, lower, dress):
        assert not (mask & (head | shoes)).any()
    # The hands stay as they are (the arms' skin around each wrist); the forearms above are regenerated.
    arms = np.isin(parse, ARMS)
    wrist = np.array(JOINTS[J.L_WRIST]) + 0.35 * (np.array(JOINTS[J.L_WRIST]) - np.array(JOINTS[J.L_ELBOW]))
    assert not upper[int(wrist[1]), int(wrist[0])]
    assert (upper & arms).sum() > 0.3 * arms.sum()
    assert np.array_equal(protected(parse, kp, "upper") & pants, pants)
    # Trousers and gowns longer than the worn clothes may cover the shoes' tops (worn over them);
    # nothing else may.
    for category in ("lower", "dress"):
        assert shoes.any() and not (protected(parse, kp, category, over=True) & shoes).any()
    for category, over in (("lower", False), ("upper", True), ("dress", False)):
        assert np.array_equal(protected(parse, kp, category, over=over) & shoes, shoes)


def test_a_high_collar_beside_the_chin_is_replaced_under_the_jaw_only():
    """A high collar reaches up beside the chin, into the head's box (protected: the mask's
    margin must not eat into what lies beside the face, such as hair falling to the jaw parsed
    as garment). Where the neck runs up to the chin the collar is replaced, so the new neck
    reaches the jaw (it stopped at the chin's height under a straight line); further out,
    beside the jaw, the box still protects it."""
    parse, kp = _parse(), _keypoints()
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    collar = np.zeros(parse.shape, bool)
    collar[76:92, 104:137] = True
    collar &= parse != Label.FACE
    parse[collar] = Label.UPPER_CLOTHES
    parse[76:90, 90:100] = parse[76:90, 141:151] = Label.HAIR  # hair falls to the jaw
    region = agnostic_mask(parse, kp, "upper") > 0
    under_jaw = collar & (np.abs(xs - 120) < 10) & (ys < 90)  # beside the chin, above its lowest row
    assert under_jaw.sum() >= 8 and region[under_jaw].all()
    beside = collar & (np.abs(xs - 120) > 14) & (ys < 86)
    assert beside.sum() >= 12 and not region[beside].any()


def test_beside_short_hair_a_collar_is_replaced_up_to_the_jaw_but_not_an_ear():
    """Short hair, and a high collar rising beside the jaw (a head turned or tilted): there the
    head's box holds no hair, and the collar is replaced up to the jaw (kept, it stood as a dark
    wedge beside the new neck). An ear the parse took for garment, hanging on to the collar by a
    thin strip, stays."""
    parse, kp = _parse(), _keypoints()
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    parse[(parse == Label.HAIR) & (ys > 56)] = Label.BACKGROUND  # the hair ends above the ears
    collar = (ys >= 76) & (ys < 92) & (xs >= 96) & (xs <= 144) & (parse != Label.FACE)
    parse[collar] = Label.UPPER_CLOTHES
    ear = (ys >= 63) & (ys < 70) & (xs >= 92) & (xs < 97) & (parse != Label.FACE)
    parse[ear] = Label.UPPER_CLOTHES
    parse[70:76, 94] = Label.UPPER_CLOTHES  # the strip joining it to the collar
    region = agnostic_mask(parse, kp, "upper") > 0
    beside = collar & (np.abs(xs - 120) > 14)
    assert beside.sum() >= 100 and region[beside].mean() > 0.95
    assert ear.sum() >= 20 and not region[ear].any()
    # With hair falling to the jaw, the box keeps the same collar, as garment beside the jaw is
    # then often the hair's own edge.
    parse[76:90, 86:92] = parse[76:90, 148:154] = Label.HAIR
    region = agnostic_mask(parse, kp, "upper") > 0
    assert not region[beside & (ys < 86)].any()


def test_a_collar_under_a_pointed_chin_is_replaced_across_the_necks_width():
    """Under a pointed chin the collar rises on both sides of it, up to the jaw. The neck runs up
    to the chin's height across its whole width (``neck_top``), so that collar is replaced there;
    a round end at the chin point kept its corners (the old collar beside the new neck). What the
    parse calls garment inside the face (a beard's shade) stays the head's."""
    parse, kp = _parse(), _keypoints()
    xs, ys = np.arange(SIZE[0])[None, :], np.arange(SIZE[1])[:, None]
    parse[parse == Label.FACE] = Label.HAIR
    face = np.zeros(parse.shape, np.uint8)
    cv2.fillPoly(face, [np.array([(96, 40), (144, 40), (144, 60), (120, 90), (96, 60)], np.int32)], 1)
    collar = (ys >= 66) & (ys < 100) & (xs >= 92) & (xs <= 148) & (face == 0)
    parse[collar] = Label.UPPER_CLOTHES
    parse[face > 0] = Label.FACE
    parse[74:78, 118:123] = Label.UPPER_CLOTHES  # a patch of the beard parsed as garment
    parse[66:90, 84:92] = parse[66:90, 149:157] = Label.HAIR  # hair falls to the jaw
    region = agnostic_mask(parse, kp, "upper") > 0
    corners = collar & (np.abs(xs - 120) <= 10) & (ys < 90) & (np.hypot(xs - 120, ys - 90) > 11)
    assert corners.sum() >= 10 and region[corners].all()
    beside = collar & (np.abs(xs - 120) > 14) & (ys < 84)
    assert beside.sum() >= 50 and not region[beside].any()
    assert not region[74:78, 118:123].any()


def test_agnostic_masks_reach_as_far_as_the_new_garment():
    """A longer garment extends the region (never shrinks it): a long top below the hips, a long
    skirt over the shoes' tops; a garment no longer than the worn one changes nothing."""
    parse, kp = _parse(), _keypoints()
    short, long = agnostic_mask(parse, kp, "upper") > 0, agnostic_mask(parse, kp, "upper", length=1.4) > 0
    assert (short & ~long).sum() == 0
    assert np.nonzero(long.any(axis=1))[0].max() > np.nonzero(short.any(axis=1))[0].max()
    # Trousers to the ankles: a skirt to the ankles still adds the gap between the legs, below the hips.
    lower = agnostic_mask(parse, kp, "lower") > 0
    longer = agnostic_mask(parse, kp, "lower", length=1.0) > 0
    added = longer & ~lower
    assert (lower & ~longer).sum() == 0 and added.sum() > 0
    assert np.nonzero(added.any(axis=1))[0].min() > JOINTS[J.MID_HIP][1]


def test_trousers_are_worn_where_the_person_wears_their_waist():
    """High-waisted trousers worn now, under a short top: the new trousers' waistband goes up to
    their top, not to the hips, so no bare band shows under the top. A parse whose "trousers"
    reach up the chest says nothing about the waist."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_bottom, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks
    from tryon.person.agnostic import worn_waist

    parse, kp = _parse(), _keypoints()
    high = parse.copy()
    band = np.zeros(parse.shape, bool)
    band[200:250, 90:151] = True
    high[band & (parse == Label.UPPER_CLOTHES)] = Label.PANTS
    assert abs(worn_waist(high, kp) - 200) <= 2 and worn_waist(parse, kp) > 230
    chest = parse.copy()
    chest[120:250, 90:151] = Label.PANTS
    assert worn_waist(chest, kp) is None

    # Trousers seen flat: a waistband and two legs apart below the crotch.
    mask = np.zeros((400, 240), np.uint8)
    cv2.fillPoly(mask, [np.array([(40, 20), (200, 20), (215, 380), (135, 380), (120, 150), (105, 380),
                                   (25, 380)], np.int32)], 255)
    image = np.full((400, 240, 3), 255, np.uint8)
    image[mask > 0] = GREY
    garment = GarmentAnalysis(image, mask, Category.LOWER, 1.0, landmarks(mask > 0, Category.LOWER))
    tops = []
    for waist in (None, worn_waist(high, kp)):
        _, alpha = flatten(fit_bottom(garment, Body(kp, waist), SIZE))
        tops.append(np.flatnonzero((alpha > 0.5).any(axis=1)).min())
    assert tops[0] > 215 and abs(tops[1] - 200) <= 6, tops


def test_a_slip_dress_hangs_from_its_straps_on_the_shoulders():
    """A slip dress seen flat: a bodice, a flared skirt, two thin straps rising high above the
    bodice. Its straps' tops are found (not a tank top's short wide straps) and rest on the
    shoulders' tops: seated by the bodice's corners, the dress sat up on the shoulders and its
    straps stood up beside the head."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    def drawn(strap_width: int, strap_top: int) -> np.ndarray:
        mask = np.zeros((520, 400), np.uint8)
        cv2.fillPoly(mask, [np.array([(130, 120), (270, 120), (280, 230), (350, 500), (50, 500), (120, 230)],
                                     np.int32)], 255)
        for x in (150, 250 - strap_width):
            cv2.rectangle(mask, (x, strap_top), (x + strap_width, 125), 255, -1)
        return mask

    slip, tank = drawn(4, 10), drawn(40, 90)
    found = landmarks(slip > 0, Category.DRESS).points
    assert abs(found["strap_left"][1] - 10) <= 1 and abs(found["strap_right"][1] - 10) <= 1, found
    assert found["strap_left"][0] < 200 < found["strap_right"][0]
    assert "strap_left" not in landmarks(tank > 0, Category.DRESS).points
    assert "strap_left" not in landmarks(tank > 0, Category.UPPER).points

    kp = _keypoints()
    image = np.full(slip.shape + (3,), 255, np.uint8)
    image[slip > 0] = RED
    garment = GarmentAnalysis(image, slip, Category.DRESS, 1.0, landmarks(slip > 0, Category.DRESS))
    _, alpha = flatten(fit_top(garment, Body(kp), SIZE))
    rows = np.flatnonzero((alpha > 0.5).any(axis=1))
    shoulder_y = JOINTS[J.R_SHOULDER][1]
    sw = JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0]
    assert shoulder_y - 0.3 * sw < rows.min() < shoulder_y, (rows.min(), shoulder_y)
    # The bodice (the dress wider than its straps) begins well below the shoulders, on the chest.
    widths = (alpha > 0.5).sum(axis=1)
    assert np.flatnonzero(widths > 0.3 * sw).min() > shoulder_y + 0.3 * sw


def test_an_off_shoulder_dress_is_worn_across_the_upper_arms_below_bare_shoulders():
    """An off-shoulder dress seen flat: a V-necked bodice whose top corners run on into two short
    bands, their tops rising outwards (the neckline crosses the upper arms), and a bow at the waist.
    Its neckline is found (not a tee's, whose outline falls from its collar), its right sleeve ends
    at the band (not the bow); worn, the shoulders' tops stay bare, the bands lie on the upper
    arms and the V keeps its point. Seated on the shoulders like a tee, the dress rose to the chin,
    its V's sides went with the sleeves (a flat top edge) and a band was laid towards the bow."""
    from tryon.category import Category
    from tryon.engines.warp.compose import _shoulders_covered
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    dress = np.zeros((520, 400), np.uint8)
    cv2.fillPoly(dress, [np.array([(130, 120), (200, 160), (270, 120), (280, 230), (350, 500), (50, 500),
                                   (120, 230)], np.int32)], 255)
    for sign in (1, -1):
        x = lambda v: 200 + sign * (v - 200)  # noqa: E731 - mirrors the left band to the right
        cv2.fillPoly(dress, [np.array([(x(131), 120), (x(65), 108), (x(62), 165), (x(128), 175)], np.int32)], 255)
    cv2.circle(dress, (285, 235), 12, 255, -1)  # the bow
    tee = np.zeros((520, 400), np.uint8)
    cv2.rectangle(tee, (140, 110), (260, 400), 255, -1)
    for sign in (1, -1):
        x = lambda v: 200 + sign * (v - 200)  # noqa: E731
        cv2.fillPoly(tee, [np.array([(x(140), 110), (x(90), 150), (x(110), 190), (x(140), 170)], np.int32)], 255)

    found = landmarks(dress > 0, Category.DRESS).points
    assert found["neckline_left"][0] < 90 and found["neckline_right"][0] > 310, found
    assert found["sleeve_right"][1] < 180, found  # the band's end, not the bow
    assert "neckline_left" not in landmarks(tee > 0, Category.UPPER).points

    kp = _keypoints()
    sw = JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0]
    covered = {}
    for name, mask, category in (("dress", dress, Category.DRESS), ("tee", tee, Category.UPPER)):
        image = np.full(mask.shape + (3,), 255, np.uint8)
        image[mask > 0] = RED
        garment = GarmentAnalysis(image, mask, category, 1.0, landmarks(mask > 0, category))
        _, alpha = flatten(fit_top(garment, Body(kp), SIZE))
        covered[name] = _shoulders_covered(kp, alpha)
        if name == "dress":
            top = {x: np.flatnonzero(alpha[:, x] > 0.5).min() for x in (96, 120, 144)}
            assert top[120] > max(top[96], top[144]) + 0.1 * sw, top  # the V's point
            assert min(top.values()) > JOINTS[J.R_SHOULDER][1], top  # below the shoulder joints
            for s, e in ((J.R_SHOULDER, J.R_ELBOW), (J.L_SHOULDER, J.L_ELBOW)):
                x, y = np.round(np.add(JOINTS[s], 0.35 * np.subtract(JOINTS[e], JOINTS[s]))).astype(int)
                assert alpha[y, x] > 0.5, (s, x, y)  # the band on the upper arm
    assert covered == {"dress": False, "tee": True}


def test_sleeves_hanging_against_the_body_are_found_and_a_flaring_sleeveless_body_is_no_sleeve():
    """Two tops whose band below the armpits is wider than the shoulders the top outline shows. A
    sweater's sleeves hang against its body down to the hem: they widen it by their width on both
    sides, and are sleeves. A sleeveless top's body flares out below its armholes, hardly wider:
    its sides are no sleeves (they were laid along the arms as wings)."""
    from tryon.category import Category
    from tryon.garment.shape import landmarks

    sweater = np.zeros((520, 400), np.uint8)
    cv2.fillPoly(sweater, [np.array([(140, 110), (260, 110), (305, 390), (95, 390)], np.int32)], 255)
    sleeveless = np.zeros((520, 400), np.uint8)
    cv2.fillPoly(sleeveless, [np.array([(150, 110), (180, 110), (200, 130), (220, 110), (250, 110), (250, 200),
                                        (255, 230), (255, 300), (275, 400), (125, 400), (145, 300), (145, 230),
                                        (150, 200)], np.int32)], 255)
    found = landmarks(sweater > 0, Category.UPPER).points
    assert found["sleeve_left"][1] > 350 and found["sleeve_right"][1] > 350, found  # the cuffs, at the hem
    assert found["shoulder_left"][0] == pytest.approx(140, abs=6), found
    found = landmarks(sleeveless > 0, Category.UPPER).points
    assert "sleeve_left" not in found and "sleeve_right" not in found, found
    assert found["shoulder_left"][0] == pytest.approx(150, abs=6), found  # the strap's outer corner


def test_a_tie_hanging_below_the_hem_hangs_from_it_as_it_is_worn():
    """A tee with a tie hanging from its hem's left corner, far narrower than the tee. It is no
    sleeve, and worn it hangs from the hem where the product photo shows it: neither re-centred on
    the body nor widened to the hips (which laid it across them as a bar), and not laid as a long
    sleeve down the arm."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    mask = np.zeros((520, 400), np.uint8)
    cv2.rectangle(mask, (140, 110), (260, 400), 255, -1)
    for sign in (1, -1):
        x = lambda v: 200 + sign * (v - 200)  # noqa: E731 - mirrors the left sleeve to the right
        cv2.fillPoly(mask, [np.array([(x(140), 110), (x(90), 150), (x(110), 190), (x(140), 170)], np.int32)], 255)
    image = np.full(mask.shape + (3,), 255, np.uint8)
    image[mask > 0] = RED
    cv2.rectangle(mask, (144, 380), (153, 480), 255, -1)
    image[380:481, 144:154] = BLUE  # the tie, sewn on at the hem's corner
    garment = GarmentAnalysis(image, mask, Category.UPPER, 1.0, landmarks(mask > 0, Category.UPPER))
    layers = fit_top(garment, Body(_keypoints()), SIZE)
    assert [layer.name for layer in layers if layer.name.startswith("sleeve")]  # the tee's sleeves were found
    for layer in layers:
        tie = (np.abs(layer.rgb.astype(int) - BLUE).max(axis=2) < 40) & (layer.alpha > 0.5)
        assert layer.name == "body" or not tie.any(), layer.name
    rgb, alpha = flatten(layers)
    tee = (np.abs(rgb.astype(int) - RED).max(axis=2) < 40) & (alpha > 0.5)
    tie = (np.abs(rgb.astype(int) - BLUE).max(axis=2) < 40) & (alpha > 0.5)
    ty, tx = np.nonzero(tie)
    hem = np.flatnonzero(tee.any(axis=1)).max()
    left = np.flatnonzero(tee[hem - 2]).min()
    assert ty.max() > hem + 10  # it hangs below the hem
    below = tie[hem + 3:]
    widths = below.sum(axis=1)[below.any(axis=1)]
    assert widths.max() < 0.15 * tee[hem - 2].sum(), widths  # a strip, not a bar across the hips
    assert abs(np.median(tx[ty > hem + 3]) - left) < 0.15 * tee[hem - 2].sum()  # at the hem's left corner


def test_a_sleeve_on_an_arm_folded_back_up_covers_it_and_makes_no_loop():
    """A hand raised to the face: the forearm runs back up beside the upper arm. Both are in the
    sleeve; laid as one along the folded line, the forearm's part lay outside the forearm, a
    loop as wide again beside it, and left the upper arm half bare."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    mask = np.zeros((520, 400), np.uint8)
    cv2.fillPoly(mask, [np.array([(140, 110), (260, 110), (262, 400), (138, 400)], np.int32)], 255)
    for sign in (1, -1):  # long sleeves hanging from the shoulders
        x = lambda v: 200 + sign * (v - 200)  # noqa: E731 - mirrors the right sleeve to the left
        cv2.fillPoly(mask, [np.array([(x(260), 110), (x(290), 130), (x(345), 380), (x(300), 392), (x(262), 200)],
                                     np.int32)], 255)
    image = np.full(mask.shape + (3,), 255, np.uint8)
    image[mask > 0] = RED
    garment = GarmentAnalysis(image, mask, Category.UPPER, 1.0, landmarks(mask > 0, Category.UPPER))
    base = _keypoints()
    xy = base.xy.copy()
    wrist = np.array([172.0, 118.0])  # from the elbow back up, beside the shoulder
    xy[J.L_WRIST] = wrist
    _, alpha = flatten(fit_top(garment, Body(Keypoints(xy, base.confidence, *SIZE)), SIZE))
    shoulder, elbow = np.array(JOINTS[J.L_SHOULDER], float), np.array(JOINTS[J.L_ELBOW], float)
    for a, b in ((shoulder, elbow), (elbow, wrist)):
        for t in (0.3, 0.5, 0.7):
            x, y = np.round(a + t * (b - a)).astype(int)
            assert alpha[y, x] > 0.5, (x, y)
    # Nothing laid beside the forearm further out than a sleeve's width from it.
    x, y = np.round((elbow + wrist) / 2).astype(int)
    assert alpha[y - 10:y + 10, x + 30:x + 60].max() < 0.05


def test_long_sleeves_hanging_against_the_body_reach_a_hidden_wrist():
    """A cardigan photographed with its sleeves hanging against its sides, past its hem: its
    shoulder points lie outside the hanging sleeves, so the sleeves measure short against them
    (1.63 shoulder widths), yet they are long and end at the wrists. The right hand is in a pocket
    (its wrist unseen): that sleeve goes on down the hanging arm a forearm's length, where it
    used to end just past the elbow over the old sleeve. Sleeves ending well above the hem are
    three-quarter sleeves and stop short of the seen wrist."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    def alpha_of(cuff_y: int) -> np.ndarray:
        mask = np.zeros((520, 400), np.uint8)
        cv2.fillPoly(mask, [np.array([(118, 124), (175, 108), (225, 108), (282, 124), (285, 330), (115, 330)],
                                     np.int32)], 255)
        for sign in (1, -1):  # the sleeves, against the body from the armpit down
            x = lambda v: 200 + sign * (v - 200)  # noqa: E731 - mirrors the right sleeve to the left
            cv2.fillPoly(mask, [np.array([(x(282), 124), (x(298), 136), (x(318), cuff_y), (x(288), cuff_y),
                                          (x(285), 200)], np.int32)], 255)
        image = np.full(mask.shape + (3,), 255, np.uint8)
        image[mask > 0] = RED
        garment = GarmentAnalysis(image, mask, Category.UPPER, 1.0, landmarks(mask > 0, Category.UPPER))
        return flatten(fit_top(garment, Body(_keypoints(without=(J.R_WRIST,))), SIZE))[1]

    def covered(alpha: np.ndarray, a, b, ts) -> list[bool]:
        a, b = np.asarray(a, float), np.asarray(b, float)
        return [bool(alpha[int(round(y)), int(round(x))] > 0.5) for x, y in (a + t * (b - a) for t in ts)]

    shoulder, elbow = np.array(JOINTS[J.R_SHOULDER], float), np.array(JOINTS[J.R_ELBOW], float)
    forearm = np.linalg.norm(np.subtract(JOINTS[J.L_WRIST], JOINTS[J.L_ELBOW]))
    hidden_wrist = elbow + (elbow - shoulder) / np.linalg.norm(elbow - shoulder) * forearm
    long = alpha_of(400)
    assert all(covered(long, elbow, hidden_wrist, (0.3, 0.5, 0.7, 0.9))), covered(long, elbow, hidden_wrist, (0.3, 0.5, 0.7, 0.9))
    assert all(covered(long, JOINTS[J.L_ELBOW], JOINTS[J.L_WRIST], (0.3, 0.6, 0.9)))
    three_quarter = alpha_of(270)
    assert not covered(three_quarter, JOINTS[J.L_ELBOW], JOINTS[J.L_WRIST], (0.9,))[0]
    assert not covered(three_quarter, elbow, hidden_wrist, (0.9,))[0]


def test_a_bodysuits_brief_is_not_drawn_below_the_top():
    """A bodysuit's body narrows below the hips to its crotch: that brief is worn under the
    trousers or skirt, so the fitted top ends where the narrowing starts, here below the hips
    (drawn, the brief hung below the top as a dark shard; where the narrowing starts above the
    hips, the top is drawn down to them: ``test_a_long_sleeved_bodysuit_stays_on_the_body``)."""
    from tryon.category import Category
    from tryon.engines.warp.fit import Body, fit_top, flatten
    from tryon.garment.analyzer import GarmentAnalysis
    from tryon.garment.shape import landmarks

    mask = np.zeros((520, 400), np.uint8)
    cv2.fillPoly(mask, [np.array([(140, 110), (260, 110), (262, 330), (138, 330)], np.int32)], 255)
    cv2.fillPoly(mask, [np.array([(138, 330), (262, 330), (230, 360), (205, 470), (195, 470), (170, 360)], np.int32)], 255)  # the brief
    for sign in (1, -1):  # short sleeves
        x = lambda v: 200 + sign * (v - 200)  # noqa: E731 - mirrors the right sleeve to the left
        cv2.fillPoly(mask, [np.array([(x(260), 110), (x(300), 130), (x(320), 200), (x(262), 210)], np.int32)], 255)
    found = landmarks(mask > 0, Category.UPPER).points
    assert 330 <= found["brief"][1] <= 400, found
    tee = mask.copy()
    tee[331:] = 0
    assert "brief" not in landmarks(tee > 0, Category.UPPER).points

    def lowest(m: np.ndarray, points: dict) -> int:  # the fitted top's lowest row between the hip joints
        image = np.full(m.shape + (3,), 255, np.uint8)
        image[m > 0] = RED
        garment = GarmentAnalysis(image, m, Category.UPPER, 1.0, dataclasses.replace(found_all, points=points))
        _, alpha = flatten(fit_top(garment, Body(_keypoints()), SIZE))
        return int(np.flatnonzero((alpha[:, JOINTS[J.R_HIP][0]:JOINTS[J.L_HIP][0]] > 0.5).any(axis=1)).max())

    # Laid as the same top cut off at the brief by hand (the same landmarks, so the same fit).
    found_all = landmarks(mask > 0, Category.UPPER)
    cut = mask.copy()
    cut[int(found["brief"][1]):] = 0
    without = {k: v for k, v in found.items() if k != "brief"}
    assert abs(lowest(mask, found) - lowest(cut, without)) <= 2
    assert lowest(mask, without) > lowest(mask, found) + 20  # the brief drawn: further down


def test_a_bodysuit_is_worn_tucked_in_its_body_going_on_under_the_waistband():
    """A bodysuit whose brief begins above the wearer's hips: cut off there, the brief's leg
    openings lay above a waistband worn at the hips, with skin drawn beside them. It is worn as a
    top tucked in instead: down to the cut, its body keeps its width where the brief begins, in
    the fabric of the rows above (their pattern mirrored, not one row smeared down)."""
    from tryon.engines.warp.fit import _tucked_in

    mask = np.zeros((400, 300), bool)
    mask[50:240, 80:220] = True  # the body
    for y in range(240, 380):  # the brief: leg openings narrowing it to the crotch
        inset = min(60, (y - 240) * 2)
        mask[y, 80 + inset: 220 - inset] = True
    image = np.zeros(mask.shape + (3,), np.uint8)
    image[:240] = np.arange(240)[:, None, None] % 20 * 10  # horizontal stripes
    image[240:] = BLUE
    out_image, out = _tucked_in(image, mask, 150.0, 240, 300.0)
    assert (out[:240] == mask[:240]).all() and (out_image[:240] == image[:240]).all()
    assert out[240:300, 80:220].all() and not out[300:].any() and not out[240:300, :80].any()
    below = out_image[240:300, 80:220].astype(int)
    assert not (below == BLUE).all(axis=-1).any()  # the body's fabric, not the brief's
    rows = below[:, 0, 0]
    assert set(rows) <= set(image[200:240, 100, 0].astype(int)) and len(set(rows)) > 5
    # No brief found above the cut (``brief_y`` at or below it): cut there, as before.
    _, kept = _tucked_in(image, mask, 150.0, 320, 300.0)
    assert (kept == (mask & (np.arange(400)[:, None] < 300))).all()

def test_a_bodysuits_long_sleeves_hanging_against_it_are_sleeves():
    """A bodysuit laid with its long sleeves hanging against the body down to the brief: no row
    shows the torso alone, and measured with the sleeves its shoulder points lay on the sleeves'
    outer edges (one sleeve found, the blouse worn as a box on the chest). The cuffs, parted from
    the brief, bound the torso: the shoulder points lie between them, and both sleeves are found."""
    from tryon.category import Category
    from tryon.garment.shape import landmarks

    mask = np.zeros((560, 480), np.uint8)
    cv2.rectangle(mask, (150, 100), (330, 380), 255, -1)  # the body, 180 wide
    cv2.fillPoly(mask, [np.array([(150, 380), (330, 380), (270, 420), (250, 500), (230, 500), (210, 420)], np.int32)], 255)  # the brief
    for x0 in (90, 330):  # the sleeves, 60 wide, hanging against the body down past the brief's top
        cv2.rectangle(mask, (x0, 100), (x0 + 60, 470), 255, -1)
    found = landmarks(mask > 0, Category.UPPER).points
    assert "brief" in found
    assert 140 <= found["shoulder_left"][0] <= 165 and 315 <= found["shoulder_right"][0] <= 340, found
    assert found["sleeve_left"][0] < 150 and found["sleeve_right"][0] > 330, found
    assert found["sleeve_left"][1] > 400 and found["sleeve_right"][1] > 400, found


def test_a_bare_chest_shows_a_hollow_under_each_collarbone():
    """Synthesised chest skin is shaded under the collarbones, which run from the top of the
    breastbone out to the shoulders: darker just under the bone than on the chest lower down,
    lit along it, the same on both sides; no keypoints, no shading."""
    from tryon.engines.warp.compose import _collarbones

    kp = _keypoints()
    gain = _collarbones(kp, (SIZE[1], SIZE[0]))
    sw = JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0]
    shoulder_y = JOINTS[J.R_SHOULDER][1]
    for x in (JOINTS[J.NECK][0] - sw // 4, JOINTS[J.NECK][0] + sw // 4):  # halfway out each bone
        column = gain[:, x]
        bone = int(np.argmax(column[shoulder_y - sw // 4: shoulder_y + sw // 4])) + shoulder_y - sw // 4
        hollow = int(np.argmin(column[shoulder_y - sw // 4: shoulder_y + sw // 4])) + shoulder_y - sw // 4
        assert column[bone] > 1.02 and column[hollow] < 0.93 and bone < hollow
        assert abs(column[shoulder_y + sw // 2] - 1.0) < 0.01  # the chest lower down is left alone
    assert np.allclose(gain, gain[:, ::-1], atol=0.02)  # both sides alike (the drawn person is symmetric)
    assert _collarbones(_keypoints(without=(J.NECK,)), (SIZE[1], SIZE[0])) == 1.0


def test_a_bare_midriff_shows_a_navel_on_the_bodys_middle_line():
    """Synthesised belly skin has a navel: its darkest point on the line from the shoulders' middle
    to the hips', at NAVEL_AT of the way, lit just below it; elsewhere it is left alone. A person
    turned away (the joints' sides swapped) has none."""
    from tryon.engines.warp.compose import NAVEL_AT, _navel

    frame = (0.0, 0.0, float(SIZE[0]), float(SIZE[1]))
    gain = _navel(_keypoints(), frame, (SIZE[1], SIZE[0]))
    top = (np.array(JOINTS[J.R_SHOULDER]) + JOINTS[J.L_SHOULDER]) / 2
    hips = (np.array(JOINTS[J.R_HIP]) + JOINTS[J.L_HIP]) / 2
    navel = top + NAVEL_AT * (hips - top)
    y, x = np.unravel_index(np.argmin(gain), gain.shape)
    assert abs(x - navel[0]) <= 1 and abs(y - navel[1]) <= 1 and gain[y, x] < 0.75
    below = gain[y + 2:y + 8, x]
    assert below.max() > 1.02  # the lower rim catches the light
    assert np.allclose(gain[: int(top[1]) + 10], 1.0) and np.allclose(gain[int(hips[1]):], 1.0)
    assert np.allclose(gain[:, 1:], gain[:, :0:-1], atol=0.02)  # both sides alike about x = 120
    turned = _keypoints()
    turned.xy[[J.R_SHOULDER, J.L_SHOULDER]] = turned.xy[[J.L_SHOULDER, J.R_SHOULDER]]
    assert _navel(turned, frame, (SIZE[1], SIZE[0])) == 1.0


def test_synthesised_skin_takes_the_photos_light_and_grain():
    """Skin lit from the left, with some grain: the light measured on it falls across the photo as
    the photo's does, and the grain is about the photo's (a flat colour reads as plastic)."""
    from tryon.engines.warp.compose import skin_light

    parse = _parse()
    img, _, _ = _person()
    rng = np.random.default_rng(1)
    lit = np.linspace(1.1, 0.9, SIZE[0])[None, :, None]  # brighter on the left
    skin = np.isin(parse, ARMS + LEGS + (Label.NECK,))
    shaded = np.clip(img * lit + rng.normal(0, 2.0, img.shape[:2])[..., None], 0, 255).astype(np.uint8)
    img = np.where(skin[..., None], shaded, img)
    light = skin_light(img, parse, np.ones(parse.shape, bool))
    gain = light.gain((10, SIZE[0]), (0, 0))[0]
    assert gain[40] > 1.03 and gain[200] < 0.97 and abs(gain[120] - 1) < 0.03
    assert 0.5 < light.grain < 2.0
    texture = light.texture((50, 60))
    strength = np.hypot(light.grain, light.mottle)  # two independent noises
    assert np.array_equal(texture, light.texture((50, 60))) and abs(texture.std() * light.mean - strength) < 0.1
    flat = skin_light(np.where(skin[..., None], _person()[0], img), parse, np.ones(parse.shape, bool))
    assert abs(flat.gain((1, SIZE[0]), (0, 0))[0] - 1).max() < 0.01 and flat.grain < 0.2


def test_synthesised_skin_is_mottled_as_the_photos_is():
    """Skin mottled at the scale of a few pixels (blotches, not grain): the mottling measured is
    MOTTLE_SHARE of its spread, and the synthesised texture varies at that scale as much; smooth
    skin gives none."""
    from tryon.engines.warp.compose import MOTTLE_SHARE, MOTTLE_SIGMAS, skin_light

    parse = _parse()
    img, _, _ = _person()
    skin = np.isin(parse, ARMS + LEGS + (Label.NECK,))
    rng = np.random.default_rng(4)
    blotches = cv2.GaussianBlur(rng.standard_normal(img.shape[:2]).astype(np.float32), (0, 0), 1.8)
    blotches *= 4.0 / blotches.std()
    mottled = np.where(skin[..., None], np.clip(img + blotches[..., None], 0, 255), img).astype(np.uint8)
    light = skin_light(mottled, parse, np.ones(parse.shape, bool))
    # The blotches' own spread in that band (over the whole field: no outlines in it).
    band = cv2.GaussianBlur(blotches, (0, 0), MOTTLE_SIGMAS[0]) - cv2.GaussianBlur(blotches, (0, 0), MOTTLE_SIGMAS[1])
    spread = 1.4826 * np.median(np.abs(band - np.median(band)))
    assert light.mottle == pytest.approx(MOTTLE_SHARE * spread, rel=0.25) and light.mottle > 0.5
    texture = light.texture((120, 120))[..., 0] * light.mean
    t_band = cv2.GaussianBlur(texture, (0, 0), MOTTLE_SIGMAS[0]) - cv2.GaussianBlur(texture, (0, 0), MOTTLE_SIGMAS[1])
    assert t_band.std() > 0.5 * light.mottle
    assert skin_light(img, parse, np.ones(parse.shape, bool)).mottle < 0.2


def test_synthesised_skin_takes_the_faces_grain_when_no_body_skin_is_readable():
    """A close-up whose every bare part but the face the new garment replaces: the grain comes
    from the face, scaled to body skin's (BODY_GRAIN_PER_FACE); a smooth face gives none."""
    from tryon.engines.warp.compose import BODY_GRAIN_PER_FACE, GRAIN_SHARE, skin_light

    parse = _parse()
    img, _, _ = _person()
    face = parse == Label.FACE
    assert face.sum() > 1000
    readable = ~np.isin(parse, ARMS + LEGS + (Label.NECK,))  # the region: all body skin
    noise = np.random.default_rng(2).normal(0, 3.0, img.shape[:2])[..., None]
    grainy = np.where(face[..., None], np.clip(img + noise, 0, 255), img).astype(np.uint8)
    light = skin_light(grainy, parse, readable)
    measured = skin_light(grainy, np.where(face, Label.NECK, parse).astype(parse.dtype), face).grain
    assert light.grain > 0.5 and abs(light.grain - BODY_GRAIN_PER_FACE * measured) < 0.05 * measured
    assert measured == pytest.approx(GRAIN_SHARE * 3.0, rel=0.15)  # the face's noise, as body skin's would be
    assert skin_light(img, parse, readable).grain < 0.2


def test_a_face_lit_from_one_side_lights_that_side_of_every_rebuilt_arm():
    """A face lighter on its right half (the photo's +x) says the light comes from there: a bare
    arm rebuilt under a sleeveless top is lighter on its +x edge than on its -x edge, in proportion;
    lit from the other side, the other way round; an evenly lit face leaves the arm symmetric."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose, skin_light

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    region = cv2.dilate((parse == Label.UPPER_CLOTHES).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    readable = np.ones(region.shape, bool)
    steps = {}
    for name, lit in (("right", 1.25), ("even", 1.0), ("left", 0.8)):
        shade = np.where(np.arange(SIZE[0]) > 120, lit, 1.0)[None, :, None]
        photo = np.where((parse == Label.FACE)[..., None], np.clip(img * shade, 0, 255), img).astype(np.uint8)
        light = skin_light(photo, parse, readable)
        out = compose(photo, region, readable, [], parse, kp, Category.UPPER, ComposeOptions(), face)
        lum = out.astype(float).mean(axis=2)
        # Across each upper arm (about 8 px in half-width), halfway from shoulder to elbow, 3-5 px
        # either side of its axis.
        step = []
        for shoulder, elbow in ((J.R_SHOULDER, J.R_ELBOW), (J.L_SHOULDER, J.L_ELBOW)):
            x, y = (np.array(JOINTS[shoulder]) + np.array(JOINTS[elbow])) // 2
            step.append(lum[y, x + 3: x + 6].mean() - lum[y, x - 5: x - 2].mean())
        steps[name] = (light.lateral, step)
    assert steps["right"][0] > 0.03 and steps["left"][0] < -0.03 and abs(steps["even"][0]) < 0.01, steps
    assert all(s > 4 for s in steps["right"][1]) and all(s < -4 for s in steps["left"][1]), steps
    assert all(abs(s) < 2 for s in steps["even"][1]), steps


def test_side_light_has_no_step_where_an_arm_meets_the_torso():
    """Lit from one side, an arm's outer edge and the torso's flank beside it face opposite ways:
    the side flips where one ends and the other begins. The light drawn from it changes smoothly
    there (a step of a tenth of the lightness was a visible seam down a rebuilt arm)."""
    from tryon.engines.warp.compose import body_shape, side_light

    kp = _keypoints()
    drawing = body_shape(kp, ("arms", "torso"), (SIZE[1], SIZE[0]), bare_arms=True)
    raw = 0.2 * np.clip(drawing.side, -1, 1)
    gain = side_light(drawing, 0.2, SIZE[1])
    inside = cv2.erode(drawing.inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    pairs = inside[:, 1:] & inside[:, :-1]
    assert np.abs(np.diff(raw, axis=1))[pairs].max() > 0.1  # the flip is there
    assert np.abs(np.diff(gain, axis=1))[pairs].max() < 0.03
    # Still lit from one side: an arm's two edges differ.
    x, y = (np.array(JOINTS[J.R_SHOULDER]) + np.array(JOINTS[J.R_ELBOW])) // 2
    assert gain[y, x + 5] - gain[y, x - 5] > 0.03


def test_arms_whose_elbows_are_not_seen_hang_out_of_a_close_up_and_not_out_of_a_longer_shot():
    """A selfie cut at the chest: the pose sees the shoulders, not the elbows, which lie just past
    the frame's bottom edge (or at it). Each arm hangs from its shoulder down out of the frame, not
    left out (the new top then stood on a neck between two bands of background). In a photo
    reaching twice an upper arm below the shoulders, unseen elbows are hidden, not out of it."""
    from tryon.engines.warp.compose import HANG_REACH, UPPER_ARM, body_shape

    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    xy[J.NOSE], xy[J.NECK], xy[J.R_SHOULDER], xy[J.L_SHOULDER] = (150, 40), (150, 120), (90, 120), (210, 120)
    conf[[J.NOSE, J.NECK, J.R_SHOULDER, J.L_SHOULDER]] = 0.9
    sw = 120.0
    for below, hangs in ((1.0, True), ((1 + HANG_REACH) / 2, True), (2.0, False)):
        h = int(120 + below * UPPER_ARM * sw)
        drawing = body_shape(Keypoints(xy, conf, 300, h), ("arms",), (h, 300))
        for x in (90, 210):
            assert drawing.inside[h - 1, x - 5:x + 6].all() == hangs, (below, x)
        assert not drawing.inside[:, 140:161].any()  # the arms only, beside the body


def test_a_neck_under_a_body_turned_aside_is_as_wide_as_the_face_asks_not_a_stalk():
    """A body turned aside shows its shoulder joints close together; the neck drawn from their
    distance alone was a stalk under a head as wide as ever. The face's width across its lower
    half sets the neck's least width; a neck wider than that by the shoulders' share stays so."""
    from tryon.engines.warp.compose import NECK_PER_FACE, body_shape, face_width
    from tryon.person.agnostic import NECK_WIDTH, chin_point

    h, w = 400, 300
    face = np.zeros((h, w), np.uint8)
    cv2.ellipse(face, (150, 80), (50, 65), 0, 0, 360, 1, -1)
    face = face > 0
    width = face_width(face)
    assert 75 < width < 100  # the cheeks to the jaw, narrower than the widest row
    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    xy[J.NOSE], xy[J.NECK] = (150, 90), (150, 230)
    conf[[J.NOSE, J.NECK, J.R_SHOULDER, J.L_SHOULDER]] = 0.9
    for sw in (100.0, 220.0):  # turned aside; facing the camera
        xy[J.R_SHOULDER], xy[J.L_SHOULDER] = (150 - sw / 2, 230), (150 + sw / 2, 230)
        kp = Keypoints(xy.copy(), conf, w, h)
        drawing = body_shape(kp, ("torso",), (h, w), chin=chin_point(face), neck=NECK_PER_FACE * width)
        row = drawing.inside[175]  # between the chin and the shoulders' line
        drawn = np.ptp(np.flatnonzero(row)) + 1
        expected = max(NECK_PER_FACE * width, NECK_WIDTH * sw)
        assert abs(drawn - expected) <= 3, (sw, drawn, expected)
    assert NECK_PER_FACE * width > 1.3 * NECK_WIDTH * 100.0


def test_forearms_clasped_before_the_crotch_cross_in_front_of_the_body_and_hands_beside_the_hips_do_not():
    """Hands clasped in front of the crotch lie a little below the hip joints, below the torso's
    outline: the forearms there still cross in front of the body, so a new top's front goes under
    them (it hid them, with the hands floating on it). Arms hanging beside the hips do not."""
    from tryon.engines.warp.compose import body_shape, forearms_in_front

    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    xy[J.NOSE], xy[J.NECK], xy[J.R_SHOULDER], xy[J.L_SHOULDER] = (150, 40), (150, 120), (90, 120), (210, 120)
    xy[J.R_HIP], xy[J.MID_HIP], xy[J.L_HIP] = (115, 300), (150, 300), (185, 300)
    xy[J.R_ELBOW], xy[J.L_ELBOW] = (80, 220), (220, 220)
    conf[:] = 0.9
    for wrists, crossing in ((((140, 320), (160, 320)), True), (((70, 320), (230, 320)), False)):
        xy[J.R_WRIST], xy[J.L_WRIST] = wrists
        kp = Keypoints(xy.copy(), conf, 300, 400)
        front = forearms_in_front(body_shape(kp, ("arms",), (400, 300)), (xy[J.R_HIP], xy[J.L_HIP]))
        assert (front[320, 138:143].all() and front[320, 158:163].all()) if crossing else not front.any(), wrists


def test_a_patterned_band_of_skin_along_the_old_garment_is_no_skin():
    """The parse's border with the old garment is a few pixels off: a band of a houndstooth hem
    labelled legs above smooth kept legs. The band (patterned, beside what is replaced) is taken
    for the garment's remnant; the smooth skin below it, and patterned skin far from the garment,
    are not."""
    from tryon.engines.warp.compose import _mixed_border

    h, w = 400, 200
    img = np.zeros((h, w, 3), np.float32)
    img[:] = SKIN
    checks = ((np.arange(h)[:, None] // 2 + np.arange(w)[None, :] // 2) % 2).astype(bool)
    band = np.zeros((h, w), bool)
    band[100:104] = True  # 1 % of the height, under the garment's hem at row 100
    img[band & checks] = (120, 90, 70)
    far = np.zeros((h, w), bool)
    far[300:306, 50:150] = True  # the same pattern, far from any garment (a tattoo, a print)
    img[far & checks] = (120, 90, 70)
    replaced = np.zeros((h, w), bool)
    replaced[:100] = True
    real = ~replaced
    mixed = _mixed_border(img, real, replaced, h)
    assert mixed[band].mean() > 0.9
    assert not mixed[110:].any()  # smooth skin below, and the far pattern, stay the photo's


def test_rebuilt_skin_takes_the_tone_of_the_real_skin_it_meets(monkeypatch):
    """Forearms a fifth darker than the face (shade, a tan): the upper arms rebuilt above them
    under a sleeveless top meet them with about half the step at the elbow (what is left is the
    arm's own round shading, averaged across its width), and turn back towards the face's tone
    towards the shoulder; with the matching off, the step is the whole difference."""
    import tryon.engines.warp.compose as compose_module
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    forearms = np.isin(parse, ARMS)
    img = np.where(forearms[..., None], (img * 0.8).astype(np.uint8), img)
    region = cv2.dilate((parse == Label.UPPER_CLOTHES).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    readable = np.ones(region.shape, bool)

    def seam_and_top(out: np.ndarray) -> tuple[float, float, float]:
        """The step at the elbow, the rebuilt arm's lightness towards the shoulder and just above
        the elbow."""
        lum = out.astype(float).mean(axis=2)
        x, y = JOINTS[J.R_ELBOW]
        top = int(np.flatnonzero(forearms[:, x]).min())  # the kept forearm's first row
        above = lum[top - 6:top - 2, x - 1:x + 2].mean()
        step = above - lum[top + 2:top + 6, x - 1:x + 2].mean()
        sx, sy = (np.array(JOINTS[J.R_SHOULDER]) * 0.6 + np.array(JOINTS[J.R_ELBOW]) * 0.4).astype(int)
        return step, lum[sy - 2:sy + 3, sx - 1:sx + 2].mean(), above

    matched = seam_and_top(compose(img, region, readable, [], parse, kp, Category.UPPER, ComposeOptions(), face))
    monkeypatch.setattr(compose_module, "SKIN_MATCH_MAX", 0.0)
    plain = seam_and_top(compose(img, region, readable, [], parse, kp, Category.UPPER, ComposeOptions(), face))
    assert plain[0] > 20 and abs(matched[0]) < 0.55 * plain[0], (matched, plain)
    # Towards the shoulder, nearer the face's tone than the forearm's.
    assert matched[1] > plain[1] - 0.5 * plain[0], (matched, plain)
    # The forearms' top rows black (a dark cuff's edge parsed with the arm): no skin, not matched
    # to; the rebuilt arm keeps the tone it took from the skin below.
    monkeypatch.undo()
    rim = forearms & ~np.roll(forearms, 3, axis=0)
    dark = np.where(rim[..., None], np.uint8(15), img)
    darkened = seam_and_top(compose(dark, region, readable, [], parse, kp, Category.UPPER, ComposeOptions(), face))
    assert darkened[2] > matched[2] - 5, (darkened, matched)


def test_the_old_garments_outline_is_not_kept_where_the_parse_missed_it():
    """The parse's outline of the worn top falls a few pixels inside the photo's (as a real parse
    does): those pixels, labelled background, are filled like the background around them instead
    of being kept, which drew the old garment's outline beside the new one."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    top = parse == Label.UPPER_CLOTHES
    missed = top & ~(cv2.erode(top.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)  # 2 px of 480
    parse = np.where(missed & _colour(img, BLUE), Label.BACKGROUND, parse).astype(np.uint8)
    region = cv2.dilate(top.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    out = compose(img, region, np.ones(region.shape, bool), [], parse, kp, Category.UPPER,
                  ComposeOptions(), None)
    rim = missed & _colour(img, BLUE)
    assert rim.sum() > 100
    left = np.linalg.norm(out[rim].astype(float) - BLUE, axis=1) < 60
    assert left.mean() < 0.05, left.mean()


def test_a_narrow_gap_in_the_photos_own_skin_is_skin():
    """A forearm the pose does not place (no elbow or wrist: it is not drawn), crossed inside the
    region by a strip the parse took for the old top (a strand of hair, a strap): its two pieces
    of skin are kept, and the strip between them is skin too, not background between shards."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose

    img, _, face = _person()
    parse = _parse()
    strip = _colour(img, SKIN) & (np.arange(SIZE[1])[:, None] >= 196) & (np.arange(SIZE[1])[:, None] < 204)
    strip &= np.arange(SIZE[0])[None, :] > 150  # across the left forearm
    img[strip] = BLUE
    parse[strip] = Label.UPPER_CLOTHES
    kp = _keypoints(without=(J.L_ELBOW, J.L_WRIST))
    forearm = (parse == Label.LEFT_ARM) & (np.arange(SIZE[1])[:, None] < 225)
    region = cv2.dilate(((parse == Label.UPPER_CLOTHES) | forearm).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    out = compose(img, region, np.ones(region.shape, bool), [], parse, kp, Category.UPPER, ComposeOptions(), face)
    inner = strip & (cv2.erode(forearm.astype(np.uint8) | strip.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    assert inner.sum() > 20
    assert np.linalg.norm(out[inner].astype(float) - SKIN, axis=1).mean() < 40


def test_the_seam_with_what_is_kept_does_not_blend_the_old_garment_back_in():
    """Where the region meets what a try-on keeps (here the trousers under a new top; a hand at a
    sleeve's cuff), its last pixels are the old top: the seam's feather blended them back in and
    drew the old garment as a line along the kept part."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose
    from tryon.person.agnostic import agnostic_mask

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    region = agnostic_mask(parse, kp, Category.UPPER) > 0
    kept = ~region & (parse == Label.PANTS)
    seam = region & _colour(img, BLUE) & (cv2.dilate(kept.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    assert seam.sum() > 40
    out = compose(img, region, np.ones(region.shape, bool), [], parse, kp, Category.UPPER, ComposeOptions(), face)
    old = np.linalg.norm(out[seam].astype(float) - BLUE, axis=1) < 80
    assert old.mean() < 0.05, old.mean()


def test_a_rebuilt_forearm_is_widest_below_the_elbow():
    """A rebuilt forearm swells below the elbow (its muscles) and narrows to the wrist: a cone
    from the elbow down read as a tube."""
    from tryon.engines.warp.compose import body_shape

    kp = _keypoints()
    arm = body_shape(kp, ("arms",), (SIZE[1], SIZE[0])).inside
    elbow, wrist = np.array(JOINTS[J.R_ELBOW], float), np.array(JOINTS[J.R_WRIST], float)

    def width(t: float) -> int:  # across the forearm (it hangs nearly straight down) at share t
        x, y = np.round(elbow + t * (wrist - elbow)).astype(int)
        return int(arm[y, x - 30:x + 30].sum())

    assert width(0.25) > width(0.0) and width(0.25) > width(0.85) + 2


def test_hair_cut_by_the_region_falls_on_only_as_far_as_it_shows():
    """Hair the region cuts from above falls on below the cut, mirrored from the hair above it, as
    far as that hair shows and no further (a short run repeated down to the shoulders drew a grain
    of vertical stripes under short hair), and the same way in neighbouring columns whatever each
    one's run (mirrored each from its own, the strands turned into stripes)."""
    from tryon.engines.warp.compose import _hair_fall

    h, w = 400, 200
    image = np.full((h, w, 3), 240, np.uint8)
    parse = np.zeros((h, w), np.uint8)
    cut = 100
    runs = np.where(np.arange(w) % 2 == 0, 16, 24)  # ragged: every other column's hair is longer
    for x in range(60, 140):
        image[cut - runs[x]:cut, x] = HAIR
        parse[cut - runs[x]:cut, x] = Label.HAIR
    region = np.zeros((h, w), bool)
    region[cut:, 40:160] = True
    xy = np.zeros((25, 2), np.float32)
    conf = np.zeros(25, np.float32)
    xy[J.R_SHOULDER], xy[J.L_SHOULDER] = (50, 300), (150, 300)
    conf[[J.R_SHOULDER, J.L_SHOULDER]] = 0.9
    plate = np.full((h, w, 3), 240, np.float32)
    rgb, alpha = _hair_fall(image, region, np.ones((h, w), bool), parse, Keypoints(xy, conf, w, h), plate)
    middle = slice(70, 130)
    assert alpha[cut + 2:cut + 8, middle].min() > 0.5  # it falls on
    assert alpha[cut + 40:, middle].max() < 0.05  # no further than the hair shows (16-24 rows)
    row = alpha[cut + 12, middle]
    assert row.std() < 0.05  # alike in every column


def test_a_dress_worn_now_shows_under_a_shorter_new_top():
    """A new top shorter than the bodice of the dress worn now: the dress (blue all over) shows
    under it from below the bust (the top worn over the dress), not bare skin; trousers worn now
    show from the waist."""
    from tryon.engines.warp.compose import DRESS_SHOWS_FROM, _trousers_below

    img, _, _ = _person()
    kp = _keypoints()
    trousers = _parse()
    dress = np.where(np.isin(trousers, (Label.UPPER_CLOTHES, Label.PANTS)), Label.DRESS, trousers).astype(np.uint8)
    readable = np.ones(trousers.shape, bool)
    frame = (0.0, 0.0, float(SIZE[0]), float(SIZE[1]))
    neck, hip = JOINTS[J.NECK][1], JOINTS[J.MID_HIP][1]
    starts = {}
    for name, parse in (("trousers", trousers), ("dress", dress)):
        region = np.isin(parse, (Label.UPPER_CLOTHES,)) if name == "trousers" else \
            (parse == Label.DRESS) & (np.arange(SIZE[1])[:, None] < 220)
        photo = img if name == "trousers" else np.where((parse == Label.DRESS)[..., None], BLUE, img).astype(np.uint8)
        fill, alpha = _trousers_below(photo, region, readable, parse, kp, frame)
        rows = np.flatnonzero(alpha[:, 120] > 0.5)
        starts[name] = rows.min()
        assert np.abs(fill[rows, 120] - (GREY if name == "trousers" else BLUE)).max() < 40, name
    assert abs(starts["dress"] - (neck + DRESS_SHOWS_FROM * (hip - neck))) <= 4, starts
    assert starts["trousers"] > hip - 0.15 * (hip - neck), starts


def test_a_bare_midriff_is_as_wide_as_the_trousers_below_it():
    """Trousers wider at the hips than the canon's torso, under a top being replaced by a shorter
    one: their top edges are measured (an arm over one side for a few rows does not move them),
    the drawn torso is widened to reach them, and the waist shown above them is no wider than the
    torso drawn there. Before, the torso kept the canon's width and the waistband, as wide as the
    trousers, stood out past it on both sides by about 14 pixels."""
    from tryon.engines.warp.compose import TORSO_TAIL, WAIST_ABOVE_HIPS, _torso_mask, _trousers_below, trousers_top

    h, w = SIZE[1], SIZE[0]
    img, _, _ = _person()
    kp = _keypoints()
    parse = _parse()
    rows = np.arange(h)[:, None]
    wide = (rows >= 250) & (rows < 300) & (np.arange(w)[None, :] >= 78) & (np.arange(w)[None, :] <= 162)
    parse[wide] = Label.PANTS
    img[wide] = GREY
    parse[(rows >= 252) & (rows < 255) & (np.arange(w)[None, :] >= 150) & (np.arange(w)[None, :] <= 165)] = \
        Label.LEFT_ARM  # a hand over the side, for a few rows
    region = parse == Label.UPPER_CLOTHES
    readable = np.ones((h, w), bool)
    frame = (0.0, 0.0, float(w), float(h))
    flanks = trousers_top(parse, readable, region, kp, h)
    assert flanks is not None
    (rx, ry), (lx, ly) = flanks
    assert abs(rx - 78) <= 1 and abs(lx - 162) <= 1 and 250 <= ry == ly <= 262
    hips = (kp.xy[J.R_HIP], kp.xy[J.L_HIP])
    hip_row = int(JOINTS[J.MID_HIP][1])

    def extent(mask: np.ndarray, y: int) -> tuple[int, int]:
        xs = np.flatnonzero(mask[y])
        return int(xs.min()), int(xs.max())

    canon, widened = _torso_mask(kp, hips, (h, w)), _torso_mask(kp, hips, (h, w), flanks, TORSO_TAIL)
    left, right = extent(widened, hip_row)
    assert abs(left - 78) <= 3 and abs(right - 162) <= 3
    waist = int(hip_row - WAIST_ABOVE_HIPS * (JOINTS[J.MID_HIP][1] - JOINTS[J.NECK][1]))
    cols = np.flatnonzero(canon[waist:hip_row].any(axis=0))  # the canon's, from the waist down
    assert cols.min() > left + 6 and cols.max() < right - 6
    _, zone = _trousers_below(img, region, readable, parse, kp, frame, flanks)
    for y in range(waist + 3, hip_row):
        shown, torso = extent(zone > 0.5, y), extent(widened, y)
        assert shown[0] >= torso[0] - 3 and shown[1] <= torso[1] + 3, (y, shown, torso)
    assert zone[hip_row + 4, 80] > 0.5 and zone[hip_row + 4, 160] > 0.5  # and reaches the trousers' sides


def test_an_upper_arm_drawn_above_a_short_sleeves_hem_meets_the_arm_below_it():
    """A short sleeve ending 0.6 of the way down the upper arm, over an arm wider than the canon's:
    where the arm leaves the sleeve, its middle and width are measured, and the upper arm drawn
    above passes through them (at the canon's width, it met the photo's arm with a step)."""
    from tryon.engines.warp.compose import body_shape, sleeve_ends

    h, w = SIZE[1], SIZE[0]
    kp = _keypoints()
    parse = np.zeros((h, w), np.uint8)
    half = 12  # the photo's upper arm: 24 pixels across; the canon's is about 13-17 there
    for (s_, e_), label in (((J.R_SHOULDER, J.R_ELBOW), Label.RIGHT_ARM), ((J.L_SHOULDER, J.L_ELBOW), Label.LEFT_ARM)):
        a, b = np.array(JOINTS[s_], float), np.array(JOINTS[e_], float)
        hem = a + 0.6 * (b - a)
        arm = np.zeros((h, w), np.uint8)
        cv2.line(arm, tuple(int(v) for v in hem), JOINTS[e_], 1, 2 * half)
        sleeve = np.zeros((h, w), np.uint8)  # square at its hem
        n = np.array([-(b - a)[1], (b - a)[0]]) / np.linalg.norm(b - a) * (half + 3)
        cv2.fillConvexPoly(sleeve, np.round([a - n, a + n, hem + n, hem - n]).astype(np.int32), 1)
        parse[arm > 0] = label
        parse[sleeve > 0] = Label.UPPER_CLOTHES
    ends = sleeve_ends(kp, parse, np.ones((h, w), bool), parse == Label.UPPER_CLOTHES)
    assert set(ends) == {J.R_ELBOW, J.L_ELBOW}
    for s_, e_ in ((J.R_SHOULDER, J.R_ELBOW), (J.L_SHOULDER, J.L_ELBOW)):
        a, b = np.array(JOINTS[s_], float), np.array(JOINTS[e_], float)
        middle, measured = ends[e_]
        assert np.linalg.norm(middle - (a + 0.6 * (b - a))) < 3 and abs(measured - half) <= 1.5
    row = int(round(ends[J.R_ELBOW][0][1]))
    for given, expected in ((ends, half), ({}, None)):
        drawn = body_shape(kp, ("arms",), (h, w), given).inside[row, : w // 2]
        width = np.ptp(np.flatnonzero(drawn)) + 1
        if expected is None:
            assert width < 2 * half - 4  # the canon's arm is narrower
        else:
            assert abs(width - 2 * expected) <= 3, width


def test_a_forearm_rebuilt_under_a_long_sleeve_reaches_its_cuff():
    """The pose's wrist on a loose long sleeve lies short of the cuff: a forearm drawn only to it
    ended mid-sleeve, and the fill drew background between it and the hand below the cuff. It now
    runs on down the old sleeve to where that ends on its axis; for a wrist the pose does not see,
    straight on from the upper arm. Not across the body (the top's own front goes on there), and
    not for a cuff at the wrist."""
    from tryon.engines.warp.compose import body_shape, cuff_ends

    h, w = SIZE[1], SIZE[0]
    frame = (0.0, 0.0, float(w), float(h))

    def sleeve(kp_from, end):  # 24 pixels across, square at its cuff
        a, b = np.array(JOINTS[kp_from], float), np.asarray(end, float)
        n = np.array([-(b - a)[1], (b - a)[0]]) / np.linalg.norm(b - a) * 12
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.round([a - n, a + n, b + n, b - n]).astype(np.int32), 1)
        return mask > 0

    r_elbow, r_wrist = np.array(JOINTS[J.R_ELBOW], float), np.array(JOINTS[J.R_WRIST], float)
    cuff = r_wrist + 0.5 * (r_wrist - r_elbow)  # half a forearm past the pose's wrist
    l_shoulder, l_elbow = np.array(JOINTS[J.L_SHOULDER], float), np.array(JOINTS[J.L_ELBOW], float)
    hidden = l_elbow + 1.1 * (l_elbow - l_shoulder)  # the left wrist unseen, its sleeve this long
    sleeves = sleeve(J.R_SHOULDER, cuff) | sleeve(J.L_SHOULDER, hidden)
    kp = _keypoints(without=(J.L_WRIST,))
    ends = cuff_ends(kp, sleeves, frame)
    assert set(ends) == {J.R_WRIST, J.L_WRIST}
    assert np.linalg.norm(ends[J.R_WRIST][0] - cuff) < 3 and np.linalg.norm(ends[J.L_WRIST][0] - hidden) < 3
    for given, reaches in ((ends, True), ({}, False)):
        drawn = body_shape(kp, ("arms",), (h, w), given, frame=frame).inside
        assert drawn[int(cuff[1]) - 2, int(cuff[0])] == reaches
    # A picture cut off 25 pixels below the wrist, the sleeve running out of it: the forearm runs
    # on past the edge (stopped there, it ended in a round cap just inside).
    edge = int(r_wrist[1]) + 25
    cut = cuff_ends(kp, sleeve(J.R_SHOULDER, cuff)[:edge], (0.0, 0.0, float(w), float(edge)))
    assert cut[J.R_WRIST][0][1] > edge + 5
    # A cuff at the wrist: nothing past it.
    assert J.R_WRIST not in cuff_ends(kp, sleeve(J.R_SHOULDER, r_wrist), frame)
    # A forearm across the body, its wrist over the top's front: the top is no sleeve there.
    across = _keypoints()
    across.xy[J.R_WRIST] = (115, 200)
    front = np.zeros((h, w), bool)
    front[104:250, 70:170] = True
    assert J.R_WRIST not in cuff_ends(across, front | sleeve(J.R_SHOULDER, r_elbow), frame)


def test_trousers_run_on_up_mirrored_from_their_own_pixels():
    """Above the trousers the photo shows, each column continues them with their own pixels
    mirrored at their top (a short run repeats), so weave and folds go on instead of a blur; not
    from a run shorter than asked for, nor from one that does not begin on the trousers."""
    from tryon.engines.warp.compose import mirrored_up

    h, w = 60, 4
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :, 0] = np.arange(h)[:, None]  # each row's red channel is its index
    source = np.zeros((h, w), bool)
    source[30:50, 0] = True  # a long run
    source[30:34, 1] = True  # a run of 4, mirrored and repeated
    source[30:32, 2] = True  # too short
    source[30:50, 3] = True
    start = np.ones((h, w), bool)
    start[30, 3] = False  # begins on something else (bare legs below shorts)
    out, found = mirrored_up(image, source, least=3, start=start)
    assert found[:30, 0].all() and not found[30:, 0].any()
    assert [int(v) for v in out[29:24:-1, 0, 0]] == [30, 31, 32, 33, 34]
    assert [int(v) for v in out[29:19:-1, 1, 0]] == [30, 31, 32, 33, 33, 32, 31, 30, 30, 31]
    assert not found[:, 2].any() and not found[:, 3].any()


def test_a_hem_casts_a_soft_shadow_down_on_the_body_only():
    """A garment's hem darkens the body just below it, fading out further down; the body under
    the garment, the body well below, and what is no body (the backdrop) keep their light."""
    from tryon.engines.warp.compose import HEM_SHADOW, _cast_shadow

    h, w = 400, 100
    garment = np.zeros((h, w), np.float32)
    garment[:200] = 1.0
    body = np.zeros((h, w), np.float32)
    body[:, :50] = 1.0
    gain = _cast_shadow(garment, body, h, HEM_SHADOW)
    reach = HEM_SHADOW[1] * h
    assert gain[200:200 + round(3 * reach), 25].min() < 1 - 0.5 * HEM_SHADOW[0]  # just below the hem
    assert gain[200 + round(8 * reach), 25] > 0.99  # well below
    assert (gain[:195, :50] == 1).all()  # under the garment
    assert (gain[:, 50:] == 1).all()  # no body: no shadow


def test_a_bare_arm_casts_a_soft_shadow_on_the_garment_beside_it():
    """An arm lying against a new sleeveless garment darkens the garment along its edge (without,
    the arm lay on it like a sticker); under the arm, far from it, and where there is no garment
    (the backdrop behind an arm held away) the light stays."""
    from tryon.engines.warp.compose import ARM_SHADOW, _cast_shadow

    h, w = 400, 200
    arm = np.zeros((h, w), np.float32)
    arm[100:300, 90:110] = 1.0
    garment = np.zeros((h, w), np.float32)
    garment[:, 40:] = 1.0
    gain = _cast_shadow(arm, garment, h, ARM_SHADOW)
    assert gain[200, 111] < 1 - 0.3 * ARM_SHADOW[0] and gain[200, 88] < 1 - 0.3 * ARM_SHADOW[0]  # both sides
    assert gain[200, 110 + round(8 * ARM_SHADOW[1] * h)] > 0.99  # well beside it
    assert (gain[110:290, 92:108] == 1).all()  # under the arm
    assert (gain[:, :40] == 1).all()  # no garment: no shadow


def test_light_is_read_off_a_lit_plain_garment_but_not_off_a_black_one():
    """The old garment's light goes onto the new one: a grey garment lit from the left gives a
    gain falling to the right; a near-black one, whose few grey levels of ribbing and noise are a
    large share of its lightness, gives next to none. Either way the gain fades out smoothly at
    the old garment's outline (a step there showed as a blotch on a new, wider garment)."""
    from tryon.engines.warp.compose import ComposeOptions, shading_gain

    h, w = 200, 160
    old = np.zeros((h, w), bool)
    old[40:160, 40:120] = True
    ramp = np.linspace(1.25, 0.75, w)[None, :, None]
    rng = np.random.default_rng(0)
    gains = {}
    for name, level in (("grey", 120.0), ("black", 22.0)):
        image = np.full((h, w, 3), 235.0)
        garment = level * ramp + rng.normal(0, 3, (h, w, 1))
        image = np.where(old[..., None], garment, image)
        gain, _ = shading_gain(np.clip(image, 0, 255).astype(np.uint8), [old], ComposeOptions())
        gains[name] = gain
    grey, black = gains["grey"], gains["black"]
    assert grey[100, 50] > 1.03 and grey[100, 110] < 0.97
    assert np.abs(black[45:155, 45:115] - 1).max() < 0.5 * np.abs(grey[45:155, 45:115] - 1).max()
    steps = np.abs(np.diff(grey[100, 30:50]))
    assert steps.max() < 0.03, steps.round(3)


def test_a_print_a_check_or_another_garment_is_not_read_as_light():
    """Only the old garment's ground colour and its smooth shade say how it is lit. A dark band
    printed across a plain tee, a check's squares, or a black skirt below an olive top (a dress
    replaces both) were read as shadow and stamped onto the new garment as grey ghosts; each is
    now read as no light at all, while the same tee's real shade still is."""
    from tryon.engines.warp.compose import ComposeOptions, shading_gain

    h, w = 240, 160
    rng = np.random.default_rng(1)
    top = np.zeros((h, w), bool)
    top[40:140, 40:120] = True
    skirt = np.zeros((h, w), bool)
    skirt[140:220, 40:120] = True

    def gain_of(garment: np.ndarray, pieces: list[np.ndarray]) -> np.ndarray:
        image = np.where(np.logical_or.reduce(pieces)[..., None], garment, 235.0)
        image = np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
        return shading_gain(image, pieces, ComposeOptions())[0]

    lilac = np.array([180.0, 160.0, 210.0])
    band = np.broadcast_to(lilac, (h, w, 3)).copy()
    band[80:100] *= 0.35  # a dark band of the same hue, printed across the chest
    check = np.broadcast_to(lilac, (h, w, 3)).copy()
    check[((np.arange(h)[:, None] // 12 + np.arange(w)[None, :] // 12) % 2) == 1] *= 0.75
    olive_over_black = np.broadcast_to(np.array([120.0, 135.0, 90.0]), (h, w, 3)).copy()
    olive_over_black[140:] = 45.0
    shaded = np.broadcast_to(lilac, (h, w, 3)) * np.linspace(1.2, 0.8, w)[None, :, None]

    assert np.abs(gain_of(band, [top])[84:96, 50:110] - 1).max() < 0.02
    assert np.abs(gain_of(check, [top])[50:130, 50:110] - 1).max() < 0.02
    assert np.abs(gain_of(olive_over_black, [top, skirt])[150:210, 50:110] - 1).max() < 0.02
    lit = gain_of(shaded, [top])
    assert lit[90, 50] > 1.03 and lit[90, 110] < 0.97


def test_a_forearm_whose_wrist_is_not_seen_is_drawn_on_to_what_hides_it():
    """A hand on a bag or in a pocket: the pose sees the elbow, not the wrist. The rebuilt arm goes
    on along the upper arm's line for about a forearm (it ended at the elbow, a stump halfway down
    the old sleeve), and stops where the photo shows background (the bag) or the hand in its way."""
    from tryon.engines.warp.compose import HIDDEN_FOREARM, body_shape

    kp = _keypoints(without=(J.R_WRIST,))
    shoulder, elbow = np.array(JOINTS[J.R_SHOULDER], float), np.array(JOINTS[J.R_ELBOW], float)
    upper = float(np.linalg.norm(elbow - shoulder))
    side = np.arange(SIZE[0])[None, :] <= JOINTS[J.NECK][0]  # the person's right, the image's left

    def lowest(background=None, hands=None) -> int:
        arm = body_shape(kp, ("arms",), (SIZE[1], SIZE[0]), background=background, hands=hands).inside & side
        for kept in (background, hands):  # compose draws no body over them
            if kept is not None:
                arm &= ~kept
        return int(np.flatnonzero(arm.any(axis=1)).max())

    reach = elbow[1] + HIDDEN_FOREARM * upper * (elbow - shoulder)[1] / upper
    assert lowest() > reach - 2 and lowest() > elbow[1] + 0.6 * upper, (lowest(), elbow, reach)
    bag = np.zeros((SIZE[1], SIZE[0]), bool)
    bag[int(elbow[1] + 0.65 * upper):, :] = True
    assert elbow[1] + 0.55 * upper < lowest(bag) < elbow[1] + 0.65 * upper, lowest(bag)
    # A hand the photo shows in the way: the forearm ends at it.
    assert elbow[1] + 0.55 * upper < lowest(hands=bag) < elbow[1] + 0.65 * upper, lowest(hands=bag)
    # Background close below the elbow: the forearm bends away there (to a pocket), not drawn on.
    bag[int(elbow[1] + 0.3 * upper):, :] = True
    assert lowest(bag) < elbow[1] + 0.2 * upper, lowest(bag)


def test_a_hands_tone_on_rebuilt_skin_fades_out_beside_it_without_a_step():
    """The rebuilt forearm takes the tone of the hand the photo shows, in full at the wrist. Beside
    the hand it fades: cut off at a distance from the forearm's axis, it drew a straight step of
    colour across the other forearm crossing in front, or a bare waist beside a hand on the hip."""
    from tryon.engines.warp.compose import _hand_tones

    h, w = SIZE[1], SIZE[0]
    skin = np.array(SKIN, np.float32)
    image = np.full((h, w, 3), SKIN, np.uint8)
    parse = np.zeros((h, w), np.uint8)
    wrist = JOINTS[J.R_WRIST]
    cv2.circle(parse, wrist, 9, int(Label.RIGHT_ARM), -1)
    hand = (150, 100, 80)
    image[parse > 0] = hand
    tones = _hand_tones(image, parse, np.ones((h, w), bool), _keypoints(), skin)
    difference = np.array(hand, np.float32) - skin
    assert np.allclose(tones[wrist[1], wrist[0]], difference, atol=2), tones[wrist[1], wrist[0]]
    # No tone for the left forearm, whose hand the photo does not show.
    assert not tones[:, w // 2 + 10:].any()
    step = max(np.abs(np.diff(tones, axis=0)).max(), np.abs(np.diff(tones, axis=1)).max())
    assert step < 0.1 * np.abs(difference).max(), step


def test_an_upper_arm_rebuilt_above_a_short_sleeve_takes_the_tone_of_the_forearm_below():
    """An upper arm rebuilt above the bare forearm the photo shows under a short sleeve takes that
    forearm's tone just below the hem, not the face's (a shaded face drew it darker than the arm
    below, a step at the old hem); towards the shoulder it turns back to the torso's. An arm with
    no crossing out of a short sleeve (a long sleeve, a hand only) keeps the face's."""
    from tryon.engines.warp.compose import ARM_TONE_FROM, arm_tones

    h, w = SIZE[1], SIZE[0]
    skin = np.array(SKIN, np.float32)
    image = np.full((h, w, 3), BACKDROP, np.uint8)
    parse = np.zeros((h, w), np.uint8)
    elbow, wrist, shoulder = (np.array(JOINTS[j], np.float64) for j in (J.R_ELBOW, J.R_WRIST, J.R_SHOULDER))
    hem = shoulder + 0.7 * (elbow - shoulder)
    cv2.line(parse, tuple(int(v) for v in np.round(hem)), JOINTS[J.R_WRIST], int(Label.RIGHT_ARM), 14)
    forearm = (160, 110, 85)
    image[parse > 0] = forearm
    sw = float(JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0])
    offset, tones = arm_tones(image, parse, np.ones((h, w), bool), _keypoints(), skin, sw,
                              {J.R_ELBOW: (hem, 7.0)})
    difference = np.array(forearm, np.float32) - skin
    below = shoulder + (ARM_TONE_FROM + 0.1) * (elbow - shoulder)
    x, y = (int(v) for v in np.round(below))
    assert np.allclose(offset[y, x], difference, atol=2), (offset[y, x], difference)
    x, y = JOINTS[J.R_SHOULDER]
    assert np.abs(offset[y, x]).max() < 0.1 * np.abs(difference).max(), offset[y, x]
    assert np.allclose(tones[J.R_WRIST], forearm, atol=1)
    # No tone for the left arm, nor for an arm without the crossing.
    assert not offset[:, w // 2 + 10:].any()
    offset, tones = arm_tones(image, parse, np.ones((h, w), bool), _keypoints(), skin, sw, {})
    assert not offset.any() and not tones


def test_bare_arms_begin_at_the_shoulder_and_arms_under_sleeves_below_it():
    """A bare arm's round top is the shoulder's (an arm begun lower hung from nothing beside a
    sleeveless top); under a sleeve the arm begins lower, so it never peeks out above the sleeve."""
    from tryon.engines.warp.compose import body_shape

    kp = _keypoints()
    sw = JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0]
    shoulder_y = JOINTS[J.R_SHOULDER][1]
    tops = {}
    for bare in (False, True):
        arms = body_shape(kp, ("arms",), (SIZE[1], SIZE[0]), bare_arms=bare).inside
        tops[bare] = np.flatnonzero(arms[:, : JOINTS[J.R_SHOULDER][0] + 1].any(axis=1)).min()
    assert tops[True] < tops[False]
    assert shoulder_y - 0.1 * sw < tops[True] < shoulder_y - 0.03 * sw, (tops, shoulder_y, sw)
    assert tops[False] > shoulder_y - 0.03 * sw, (tops, shoulder_y)


def test_the_neck_in_the_heads_shade_is_kept_even_where_parsed_as_the_garment():
    """Under the jaw the neck is in the head's shade: darker than the lit face, of the same hue,
    more saturated in warm light or less in the cool shade of an overcast day, and often parsed as
    the garment. A try-on keeps it (it drew a pale patch of synthesised skin there), in its tone up
    to the collar; a dark brown collar parsed the same way is replaced."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    lab = cv2.cvtColor(np.uint8([[SKIN]]), cv2.COLOR_RGB2LAB)[0, 0].astype(float)
    def shade(darker: float, chroma: float) -> np.ndarray:
        shaded_lab = np.array([lab[0] - darker, *(128 + chroma * (lab[1:] - 128))]).clip(0, 255).astype(np.uint8)
        return cv2.cvtColor(shaded_lab[None, None], cv2.COLOR_LAB2RGB)[0, 0]

    band = np.zeros(parse.shape, bool)
    band[91:100, 112:129] = True  # the neck just under the chin (the face ends at 90)
    region = np.isin(parse, (Label.UPPER_CLOTHES,)) | band
    kept = {}
    colours = (("shaded", shade(70, 1.6)), ("cool shade", shade(20, 0.6)), ("brown", np.array(BROWN, np.uint8)))
    for name, colour in colours:
        drawn = img.copy()
        drawn[band] = colour
        labels = parse.copy()
        labels[band] = Label.UPPER_CLOTHES
        out = compose(drawn, region, np.ones(region.shape, bool), [], labels, kp, Category.UPPER,
                      ComposeOptions(), face)
        off = np.abs(out.astype(int) - colour.astype(int)).max(axis=2)
        # Its last rows beside the collar are the border with the replaced garment, where the
        # parse may mix in the garment: drawn, in the kept skin's tone (within 25, where the lit
        # skin is 91 off).
        inner = band & (np.arange(band.shape[0])[:, None] < 97)
        kept[name] = (np.mean(off[inner] <= 8), np.mean(off[band & ~inner] <= 25))
    assert kept["shaded"][0] > 0.8 and kept["shaded"][1] > 0.9 and kept["brown"][0] < 0.2, kept
    assert kept["cool shade"][0] > 0.8, kept


def _red_layer(name: str, mask: np.ndarray):
    from tryon.engines.warp.mapping import Layer

    return Layer(name, np.broadcast_to(np.array(RED, np.uint8), mask.shape + (3,)).copy(), mask.astype(np.float32))


def _sleeves(length: float, inward: int = 4) -> np.ndarray:
    """Two red sleeves along the upper arms, a little inward of them (a narrow cap), from just
    below the shoulder joints to ``length`` of the way to the elbows."""
    out = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    for shoulder, elbow, side in ((J.R_SHOULDER, J.R_ELBOW, 1), (J.L_SHOULDER, J.L_ELBOW, -1)):
        a, b = np.array(JOINTS[shoulder], float), np.array(JOINTS[elbow], float)
        start, end = a + 0.1 * (b - a) + [side * inward, 0], a + length * (b - a) + [side * inward, 0]
        cv2.line(out, tuple(int(v) for v in start), tuple(int(v) for v in end), 1, 14)
    return out > 0


def test_no_rebuilt_skin_shows_beside_a_sleeves_cap():
    """Under a sleeve the shoulder is the sleeve's cap: the rebuilt arm's round top, where it pokes
    out beside a narrower cap, is filled like the background instead of drawn as a brown wedge at
    the shoulder seam. The neckline's skin inward of the shoulder joints is not touched, and under
    a cap sleeve too short to reach down the arm the arm keeps its skin."""
    from tryon.category import Category
    from tryon.engines.warp.compose import SLEEVE_CAP_DOWN, ComposeOptions, _beside_sleeve_caps, body_shape, compose

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    region = agnostic_mask(parse, kp, "upper") > 0
    torso = np.zeros(parse.shape, np.uint8)  # over the shoulders' tops, with a V neck
    cv2.fillPoly(torso, [np.array([(86, 100), (105, 100), (120, 116), (135, 100), (154, 100), (150, 240), (90, 240)],
                                  np.int32)], 1)
    layers = [_red_layer("body", torso > 0), _red_layer("sleeve-left", _sleeves(0.6))]
    covered = layers[0].alpha + layers[1].alpha > 0
    arms = body_shape(kp, ("arms",), parse.shape).inside
    xs = np.arange(SIZE[0])[None, :]
    outward = ((xs < JOINTS[J.R_SHOULDER][0]) | (xs > JOINTS[J.L_SHOULDER][0])) & (
        np.arange(SIZE[1])[:, None] < JOINTS[J.R_SHOULDER][1] + 0.2 * (JOINTS[J.R_ELBOW][1] - JOINTS[J.R_SHOULDER][1]))
    wedge = arms & ~covered & outward & region
    assert wedge.sum() >= 20, wedge.sum()
    beside = _beside_sleeve_caps(kp, layers, parse.shape)
    assert beside[wedge].mean() > 0.95
    neckline = region & ~covered & (xs > JOINTS[J.R_SHOULDER][0] + 4) & (xs < JOINTS[J.L_SHOULDER][0] - 4)
    assert neckline.sum() > 50 and not beside[neckline].any()
    short = [layers[0], _red_layer("sleeve-left", _sleeves(SLEEVE_CAP_DOWN - 0.1))]
    assert not _beside_sleeve_caps(kp, short, parse.shape).any()

    # The same for the photo's own bare shoulders (a camisole worn now): the real skin beside the
    # cap is not kept either.
    for real in (False, True):
        photo, labels = img.copy(), parse.copy()
        if real:
            photo[wedge] = SKIN
            labels[wedge & (xs < 120)] = Label.RIGHT_ARM
            labels[wedge & (xs >= 120)] = Label.LEFT_ARM
        out = compose(photo, region, np.ones(region.shape, bool), layers, labels, kp, Category.UPPER, ComposeOptions(),
                      face)
        to_skin = np.linalg.norm(out[wedge].astype(float) - SKIN, axis=1)
        to_backdrop = np.linalg.norm(out[wedge].astype(float) - BACKDROP, axis=1)
        assert (to_backdrop < to_skin).mean() > 0.8, (real, (to_backdrop < to_skin).mean(), to_skin.mean())


WHITE = (250, 250, 250)


def _hair_over_red_top(strand_colour, hair_colour=None, top=104, **options):
    """A lock of hair strands (every third column, of ``strand_colour``) falling over a red top,
    red between them, parsed as one mass of hair; composed with a new white top. Returns the
    photo, the lock's and its strands' masks, and the composed picture (float). The new top's
    neckline is at row ``top``."""
    from tryon.category import Category
    from tryon.engines.warp.compose import ComposeOptions, compose
    from tryon.engines.warp.mapping import Layer

    img, _, face = _person()
    parse, kp = _parse(), _keypoints()
    if hair_colour is not None:
        img[_colour(img, HAIR)] = hair_colour
    fall = np.zeros(parse.shape, bool)
    fall[112:170, 92:110] = True  # a lock of hair over the top's right side
    strand = fall & (np.arange(SIZE[0])[None, :] % 3 == 0)
    img[_colour(img, BLUE)] = RED
    img[fall & ~strand] = RED
    img[strand] = strand_colour
    parse[fall] = Label.HAIR
    region = (agnostic_mask(parse, kp, "upper") > 0) & ~fall
    torso = np.zeros(parse.shape, np.uint8)
    cv2.fillPoly(torso, [np.array([(80, top), (160, top), (154, 240), (86, 240)], np.int32)], 1)
    layers = [Layer("body", np.broadcast_to(np.array(WHITE, np.uint8), parse.shape + (3,)).copy(),
                    torso.astype(np.float32))]
    out = compose(img, region, np.ones(region.shape, bool), layers, parse, kp, Category.UPPER,
                  ComposeOptions(**options), face)
    return img, fall, strand, out.astype(np.float32)


def test_hair_over_the_replaced_top_shows_the_new_one_between_its_strands():
    """Strands of dark hair fall over a red top: parsed as one mass of hair, they stay (hair is
    never cut), but between them the new white top shows, not the old red (a red fringe around
    the hair); the strands keep their colour. With the option off, the photo's pixels stay."""
    img, fall, strand, out = _hair_over_red_top(HAIR)
    assert np.linalg.norm(out[fall & ~strand] - WHITE, axis=1).mean() < 40
    assert np.linalg.norm(out[strand] - HAIR, axis=1).mean() < 30
    _, _, _, kept = _hair_over_red_top(HAIR, past_region=False)
    assert (kept[fall] == img[fall]).all()


def test_hair_over_the_replaced_top_shows_the_skin_a_lower_neckline_bares_between_its_strands():
    """The same lock, where the new top's neckline is below it: the skin drawn there shows between
    the strands, not the old red (dark specks of the old top along the hair over a bare chest)."""
    img, fall, strand, out = _hair_over_red_top(HAIR, top=180)
    beside = out[125:160, 80:88].reshape(-1, 3).mean(axis=0)  # the chest drawn beside the lock
    assert np.linalg.norm(beside - RED) > 100
    gaps = out[fall & ~strand]
    assert np.linalg.norm(gaps - beside, axis=1).mean() < 40, (gaps.mean(axis=0), beside)
    assert np.linalg.norm(out[strand] - HAIR, axis=1).mean() < 30


def test_blonde_strands_lit_through_by_the_old_red_top_lose_its_tint():
    """Blonde strands over a red top, lighter than the hair's mean colour and tinted by the red
    between them, are no mix of that mean and red on a line: taken so they stayed salmon over a
    new white top. They take back the hair's hue; the red gaps show white."""
    from tryon.colour import to_lab

    blonde, lit = np.array((170, 130, 90)), np.array((240, 196, 150))
    tinted = np.round(0.65 * lit + 0.35 * np.array(RED)).astype(np.uint8)
    img, fall, strand, out = _hair_over_red_top(tinted, blonde)
    hue = to_lab(blonde)[1:]
    towards = to_lab(np.array(RED))[1:] - hue
    towards /= np.linalg.norm(towards)
    before, after = to_lab(img[strand]), to_lab(out[strand])
    # Their chroma's step from the hair's towards the red is gone; they stay strands, not white.
    assert ((before[:, 1:] - hue) @ towards).mean() > 12
    assert ((after[:, 1:] - hue) @ towards).mean() < 3
    assert np.linalg.norm(out[strand] - WHITE, axis=1).mean() > 40
    assert np.linalg.norm(out[fall & ~strand] - WHITE, axis=1).mean() < 40


def test_a_lock_falling_aslant_below_the_chin_is_kept_as_the_mass_it_is():
    """Below the chin only a solid mass of hair counts (dark dots of a print are none): opened by
    a square, a lock falling at 45 degrees, as wide as the kernel but narrower than its diagonal,
    was erased (and the new top drawn where it fell), and the mass's outline cut into steps."""
    from tryon.person.parsing import GeometricParser

    hair = np.zeros((300, 300), np.uint8)
    cv2.circle(hair, (100, 50), 45, 1, -1)  # the head's hair
    cv2.line(hair, (110, 100), (250, 240), 1, 18)  # a lock falling aslant, 18 px wide
    hair = hair.astype(bool)
    face_h = 120.0  # the mass's kernel: 15 px
    yy = np.mgrid[0:300, 0:300][0]
    out = GeometricParser()._hair_on_head(hair, np.array([70.0, 0.0, 130.0, 120.0]), face_h, yy)
    lock = hair & (yy > 130)
    assert (out & lock).sum() >= 0.9 * lock.sum()
    assert not (out & ~hair).any()
    dots = np.zeros((300, 300), bool)
    for x in range(40, 280, 24):
        cv2.circle(dots.view(np.uint8), (x, 270), 3, 1, -1)  # a print's dark dots, joined by nothing
    assert not (GeometricParser()._hair_on_head(hair | dots, np.array([70.0, 0.0, 130.0, 120.0]), face_h, yy)
                & dots & ~hair).any()


def test_the_person_masks_rim_of_plain_backdrop_is_told_apart():
    """A mask running past a pale arm onto a plain backdrop: that rim (of the backdrop's colour, joined
    to the backdrop outside) is found; the arm, a white patch inside the body behind a darker outline,
    and the same rim on a patterned backdrop (nothing known of its colour) are not."""
    from tryon.person.backdrop import backdrop_rim

    h, w = 400, 300
    image = np.full((h, w, 3), 238, np.uint8)  # a light grey studio backdrop
    image[:, 120:180] = (222, 190, 170)  # a pale arm, 60 px wide
    image[150:200, 140:160] = 238  # a backdrop-grey patch on the arm, behind its skin all round
    fg = np.zeros((h, w), bool)
    fg[:, 110:190] = True  # the mask runs 10 px past the arm on both sides
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    rim = backdrop_rim(lab, fg)
    halo = fg.copy()
    halo[:, 120:180] = False
    assert rim[halo].mean() > 0.95
    assert not rim[:, 120:180].any()  # the arm and the grey patch within it

    rng = np.random.default_rng(0)
    patterned = image.copy()
    outside = ~fg
    patterned[outside] = rng.integers(120, 255, (outside.sum(), 3), dtype=np.uint8)
    patterned[halo] = 238
    lab = cv2.cvtColor(patterned, cv2.COLOR_RGB2LAB).astype(np.float32)
    assert not backdrop_rim(lab, fg).any()



def test_a_limbs_anti_aliased_outline_is_the_limbs_not_a_garments():
    """A bare leg on a light backdrop: its outline pixel mixes the two colours, neither skin nor
    backdrop, and was parsed as the skirt above it (a rim down both legs that a new dress redrew as a
    ragged edge). Mixed pixels at the mask's outline beside the skin are found; a blue garment's
    edge beside the skin, pure backdrop and the inside of the mask are not."""
    from tryon.person.backdrop import mixed_rim

    h, w = 200, 200
    skin_rgb, back_rgb = np.array([222, 180, 160.0]), np.array([238, 238, 238.0])
    image = np.tile(back_rgb, (h, w, 1))
    image[:, 80:120] = skin_rgb  # the leg
    image[:, 79] = 0.5 * skin_rgb + 0.5 * back_rgb  # its anti-aliased outline, both sides
    image[:, 120] = 0.3 * skin_rgb + 0.7 * back_rgb
    image[100:, 120] = (40, 60, 160)  # lower down, a blue garment's edge beside it instead
    fg = np.zeros((h, w), bool)
    fg[:, 79:121] = True
    fg[:, 121] = True  # and a pixel of pure backdrop in the mask beyond it
    lab = cv2.cvtColor(image.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    skin = np.zeros((h, w), bool)
    skin[:, 80:120] = True
    rim = mixed_rim(lab, fg, skin)
    assert rim[:, 79].all() and rim[:100, 120].all()
    assert not rim[100:, 120].any() and not rim[:, 121].any() and not rim[:, 80:120].any()


def test_a_bare_shoulder_is_one_round_outline_not_a_pad():
    """Bare shoulders (a sleeveless garment) run from the torso's sloping top over the arm's round
    top in one convex outline: drawn apart, the arm's top stood out beside the torso's slope like a
    shoulder pad, with a notch where the two met (2.7 % of the shoulder's area short of its convex
    hull; 1.1 % now, the pixels' steps)."""
    from tryon.engines.warp.compose import body_shape

    k = 3  # drawn three times as large as the parser's working size: the notch is a few pixels deep
    base = _keypoints()
    kp = Keypoints(base.xy * k, base.confidence, SIZE[0] * k, SIZE[1] * k)
    inside = body_shape(kp, ("arms", "torso"), (SIZE[1] * k, SIZE[0] * k), bare_arms=True).inside
    sw = k * (JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0])
    centre, below = k * JOINTS[J.NECK][0], round(k * JOINTS[J.R_SHOULDER][1] + 0.15 * sw)
    for sign in (-1, 1):  # the image's left shoulder, then its right
        inner = round(centre + sign * 0.3 * sw)  # from the torso's slope outwards
        shoulder = inside.copy()
        shoulder[below:] = False
        if sign < 0:
            shoulder[:, inner:] = False
        else:
            shoulder[:, :inner] = False
        hull = np.zeros(shoulder.shape, np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.argwhere(shoulder)[:, ::-1].astype(np.int32)), 1)
        assert int(hull.sum()) - int(shoulder.sum()) < 0.015 * shoulder.sum()


def test_a_hidden_hand_beside_the_body_goes_into_a_pocket_not_a_stump():
    """A hand in a trouser pocket: the pose sees the elbow, not the wrist, and the forearm cannot
    go on straight (the photo shows background beside the body). It bends towards the hips until
    it ends on the new garment (the hand in its pocket); not drawn at all, the arm ended as a
    stump at the elbow. Stopped by a hand the photo shows instead (arms crossed), it is not bent:
    that forearm lies elsewhere."""
    from tryon.engines.warp.compose import body_shape

    kp = _keypoints(without=(J.R_WRIST,))
    shoulder, elbow = np.array(JOINTS[J.R_SHOULDER], float), np.array(JOINTS[J.R_ELBOW], float)
    upper = float(np.linalg.norm(elbow - shoulder))
    beside = np.zeros((SIZE[1], SIZE[0]), bool)
    beside[int(elbow[1]):, : int(elbow[0]) - 6] = True  # background beside the hanging forearm
    garment = np.zeros((SIZE[1], SIZE[0]), bool)
    garment[JOINTS[J.NECK][1]:JOINTS[J.R_KNEE][1], JOINTS[J.R_HIP][0] - 10:JOINTS[J.L_HIP][0] + 10] = True
    side = np.arange(SIZE[0])[None, :] <= JOINTS[J.NECK][0]

    def forearm(**kw) -> np.ndarray:
        arm = body_shape(kp, ("arms",), (SIZE[1], SIZE[0]), **kw).inside & side
        arm[: int(elbow[1] + 0.2 * upper)] = False  # below the upper arm's round end
        return arm & ~beside & ~kw.get("hands", np.zeros_like(beside))

    bent = forearm(background=beside, pockets=garment)
    assert np.flatnonzero(bent.any(axis=1)).max() > elbow[1] + 0.6 * upper
    assert (bent & garment).any() and (bent & garment).sum() < bent.sum()  # from the side into the garment
    assert not forearm(background=beside).any()  # no garment to end in: not drawn on
    assert not forearm(hands=beside, pockets=garment).any()  # a hand in the way: not bent


def test_a_head_cut_off_above_the_nose_still_gets_a_neck():
    """A shop's crop at the mouth: no eyes for the face detectors, so the parse has no face and
    calls the chin's skin neck. The neck is drawn from the neck joint up to that skin's lowest
    point about the neck's axis (without it no neck was drawn, and the chin floated over the
    backdrop above the new garment); with a face, the face is what it rises to."""
    from tryon.engines.warp.compose import body_shape
    from tryon.person.agnostic import chin_point, head_skin

    kp = _keypoints(without=(J.NOSE, J.R_EYE, J.L_EYE, J.R_EAR, J.L_EAR))
    x, y = JOINTS[J.NECK]
    shape = (SIZE[1], SIZE[0])
    skin = np.zeros(shape, bool)
    skin[:80, x - 25:x + 25] = True  # the chin, cut off by the frame
    skin[:40, :10] = True  # skin elsewhere (a hand raised beside the head) is not the head
    face = np.zeros(shape, bool)
    chin = chin_point(head_skin(face, skin, kp))
    assert chin is not None and abs(chin[0] - x) < 2 and abs(chin[1] - 79) < 2
    neck = body_shape(kp, ("torso",), shape, chin=chin).inside
    assert neck[80:y, x].all()  # from under the chin down to the joint
    assert not body_shape(kp, ("torso",), shape).inside[80:y - 25, x].any()  # nothing to rise to
    face[30:60, x - 20:x + 20] = True
    assert (head_skin(face, skin, kp) == face).all()


def test_the_neck_widens_into_the_shoulders():
    """Where the neck's column stands on the torso's top, the outline turns through a round
    (``NECK_FILLET``), as the muscles from the neck to the shoulders do: a square corner there
    read as a doll's neck under a high collar. Beside the column, above the torso's top, there is
    body now (none before: 26 pixels here, 0.09 of the radius squared; the torso's top slopes, so
    the corner is wider than square and its round small)."""
    from tryon.engines.warp.compose import NECK_FILLET, body_shape

    k = 3
    base = _keypoints()
    kp = Keypoints(base.xy * k, base.confidence, SIZE[0] * k, SIZE[1] * k)
    sw = k * (JOINTS[J.L_SHOULDER][0] - JOINTS[J.R_SHOULDER][0])
    chin = np.array([k * JOINTS[J.NECK][0], k * 80.0])
    inside = body_shape(kp, ("torso",), (SIZE[1] * k, SIZE[0] * k), chin=chin).inside
    top = round(k * JOINTS[J.R_SHOULDER][1] - 0.2 * sw)  # the torso's top beside the neck (TORSO_SIDE)
    beside = np.abs(np.arange(inside.shape[1]) - k * JOINTS[J.NECK][0]) > 0.15 * sw + 1
    r = NECK_FILLET * sw
    assert inside[:top, beside].sum() >= 0.05 * r * r
    assert not inside[: top - round(r) - 2, beside].any()  # the rounds are no wider than their radius


def test_thighs_drawn_under_a_dress_meet_the_legs_at_its_hem():
    """A dress's region runs down to the shoes, so the legs below its hem lie inside it, kept as
    the photo shows them, and no leg left the region: the thighs drawn from the hip joints met them
    at the hem wherever the joints put them, a step to one side. The legs' ends are found where
    they leave the dress instead, and the thighs end there at the legs' width; a leg parsed in
    patches as trousers below that is no hem (``_bare_below``)."""
    from tryon.engines.warp.compose import _bare_below, body_shape, leg_ends

    kp = _keypoints()
    shape = (SIZE[1], SIZE[0])
    parse = np.zeros(shape, np.uint8)
    parse[100:360, 70:170] = Label.DRESS
    legs = {J.R_ANKLE: (80, 106), J.L_ANKLE: (134, 160)}  # 6 px outwards of the joints' line
    for (x0, x1), label in zip(legs.values(), (Label.RIGHT_LEG, Label.LEFT_LEG)):
        parse[360:430, x0:x1] = label
        parse[430:456, x0:x1] = Label.LEFT_SHOE
    region = np.zeros(shape, bool)
    region[90:440, 60:180] = True
    visible = np.ones(shape, bool)
    assert leg_ends(kp, parse, visible, region) == {}  # no leg leaves the region
    clothed = region & (parse != Label.BACKGROUND) & ~np.isin(parse, LEGS + (Label.LEFT_SHOE,))
    ends = leg_ends(kp, parse, visible, clothed, below=True)
    assert set(ends) == set(legs)
    for j, (x0, x1) in legs.items():
        point, half = ends[j]
        assert abs(point[1] - 360) <= 3 and abs(point[0] - (x0 + x1 - 1) / 2) <= 1.5 and abs(half - (x1 - x0) / 2) <= 2
        assert _bare_below(point, np.array(JOINTS[j], float), clothed)
    drawn = body_shape(kp, ("legs",), shape, ends).inside
    for x0, x1 in legs.values():
        xs = np.flatnonzero(drawn[356, x0 - 15:x1 + 15]) + x0 - 15
        assert abs(xs.min() - x0) <= 2 and abs(xs.max() - (x1 - 1)) <= 2
    patchy = clothed.copy()
    patchy[395:410, 80:106] = True  # skin-toned tights parsed as trousers there
    assert not _bare_below(ends[J.R_ANKLE][0], np.array(JOINTS[J.R_ANKLE], float), patchy)

    # The region's edge holds more leg-labelled pixels than the legs' outline at the hem (a hand's
    # edge beside the dress, the shade between the legs): the ends keep the legs' own width there.
    parse[340:352, 62:72] = Label.RIGHT_LEG
    clothed = region & (parse != Label.BACKGROUND) & ~np.isin(parse, LEGS + (Label.LEFT_SHOE,))
    ends = leg_ends(kp, parse, visible, clothed, below=True)
    for j, (x0, x1) in legs.items():
        point, half = ends[j]
        assert abs(point[0] - (x0 + x1 - 1) / 2) <= 1.5 and abs(half - (x1 - x0) / 2) <= 2


def test_a_leg_under_a_new_dress_reaches_down_into_the_shoe():
    """Trousers down to a trainer's top, the ankle joint found above it: a leg drawn under a new
    dress down to the joint stopped short of the shoe, and the backdrop showed between them. It
    runs on down the shin's line as far as the heel lies (not bent to the heel: that drew a foot
    turned aside over the shoe's tongue); without a heel seen, it ends at the ankle as before."""
    from tryon.engines.warp.compose import body_shape

    shape = (SIZE[1], SIZE[0])
    kp = _keypoints()
    kp.xy[[J.R_ANKLE, J.L_ANKLE], 1] -= 25  # the joints 25 px above the heels' row, 448
    kp.xy[J.L_HEEL, 0] += 12  # the left foot turned outwards
    drawn = body_shape(kp, ("legs",), shape, {}).inside
    for knee, ankle in ((J.R_KNEE, J.R_ANKLE), (J.L_KNEE, J.L_ANKLE)):
        x, knee_x = kp.xy[ankle][0], kp.xy[knee][0]
        rows = np.flatnonzero(drawn[:, int(round(x))])
        assert rows.max() >= JOINTS[J.R_HEEL][1] - 3, (ankle, rows.max())
        # Down the shin's line: at the heel's row, as far out as the shin's slope puts it.
        cols = np.flatnonzero(drawn[JOINTS[J.R_HEEL][1] - 4])
        side = cols[(cols > 120) == (x > 120)]
        shin_x = x + (x - knee_x) * 25 / (kp.xy[ankle][1] - kp.xy[knee][1])
        assert abs((side.min() + side.max()) / 2 - shin_x) <= 2.5
    blind = _keypoints(without=(J.R_HEEL, J.L_HEEL))
    blind.xy[[J.R_ANKLE, J.L_ANKLE], 1] -= 25
    short = body_shape(blind, ("legs",), shape, {}).inside
    assert np.flatnonzero(short[:, int(round(kp.xy[J.R_ANKLE][0]))]).max() < JOINTS[J.R_HEEL][1] - 12

def test_an_arm_hanging_against_the_body_keeps_its_own_round_shading_over_the_torso_below_the_armpit():
    """Arms hanging close beside the torso overlap its outline. The torso drawn under them took
    the arm's pixels into its own roundness, and the two became one flat slab with no line where
    the arm lies against the body. Below the armpit the arm keeps its own shading term (dark at
    its outline, the torso beside it too); at the shoulder it runs into the torso without a line."""
    from tryon.engines.warp.compose import body_shape

    base = _keypoints()
    xy = base.xy.copy()
    xy[J.R_ELBOW], xy[J.R_WRIST], xy[J.L_ELBOW], xy[J.L_WRIST] = (86, 172), (88, 232), (154, 172), (152, 232)
    kp = Keypoints(xy, base.confidence, *SIZE)
    shape = (SIZE[1], SIZE[0])
    both = body_shape(kp, ("arms", "torso"), shape, bare_arms=True).ratio
    arms = body_shape(kp, ("arms",), shape, bare_arms=True).ratio
    torso = body_shape(kp, ("torso",), shape, bare_arms=True).ratio
    for y in (150, 170):
        for xs in (np.arange(80, 120), np.arange(160, 120, -1)):  # outwards in, each side
            on = xs[arms[y, xs] <= 1.0]
            edge = on[-1]  # the arm's inner outline, over the torso
            assert torso[y, edge] < 0.8  # the torso alone is round and lit there
            np.testing.assert_allclose(both[y, on], arms[y, on], atol=1e-5)
            assert both[y, edge] >= 0.85
    shoulder = 115
    np.testing.assert_allclose(both[shoulder], np.minimum(arms[shoulder], torso[shoulder]), atol=1e-5)


def test_synthesised_skin_keeps_clear_of_the_background_along_its_smoothed_outline():
    """A limb drawn wider than the old sleeve was cut by the parse's outline of it: a staircase.
    The skin now keeps a few pixels inside the background along that outline smoothed; a straight
    outline stays where it is."""
    from tryon.engines.warp.compose import SKIN_CLEAR, _clear_of

    height = 1000
    margin = SKIN_CLEAR * height
    background = np.zeros((200, 120), bool)
    teeth = np.where((np.arange(200) // 8) % 2 == 0, 50, 58)  # the parse's staircase, 8 px steps
    for y, x in enumerate(teeth):
        background[y, :x] = True
    skin = _clear_of(background, height) & ~background  # as compose clips it
    first = np.argmax(skin, axis=1)[20:-20]
    assert first.max() - first.min() <= 2  # the staircase (8 px) is gone
    assert abs(first.mean() - (teeth.mean() + margin)) <= 1.5
    straight = np.zeros((200, 120), bool)
    straight[:, :50] = True
    first = np.argmax(_clear_of(straight, height), axis=1)
    assert np.all(np.abs(first - (50 + margin)) <= 1)


def test_arm_skin_over_a_sleeveless_garment_is_the_arms_not_scraps_of_midriff_parsed_as_arm():
    """The photo's arm skin is drawn over a new sleeveless garment. The parse's arm label also
    takes in scraps of the bare midriff beside the old top; drawn over the new one they stood on
    it as skin-coloured patches. Arm skin near the arms drawn stays, but not what of it runs on
    beyond that (into trousers of skin's colour beside a hand: a strip at the hip), and so does a
    piece the size of a hand anywhere (a hand whose arm the keypoints missed)."""
    from tryon.engines.warp.compose import ARM_RADII, ARM_SKIN_LEAST, ARM_SKIN_REACH, _arm_skin, body_shape

    kp = _keypoints()
    shape = (SIZE[1], SIZE[0])
    bare = body_shape(kp, ("arms",), shape, bare_arms=True)
    real = np.zeros(shape, bool)
    wrist = np.array(JOINTS[J.R_WRIST])
    real[wrist[1] - 8:wrist[1] + 8, wrist[0] - 6:wrist[0] + 6] = True  # the hand at the arm's end
    real[200:206, 115:121] = True  # a scrap of midriff, far from both arms
    side = int(np.ceil(np.sqrt(2 * ARM_SKIN_LEAST) * bare.sw))
    real[20:20 + side, 200:200 + side] = True  # a hand-sized piece, far from the arms too
    # The parse's arm running on from the hand into the trousers beside it (skin-coloured corduroy).
    real[wrist[1] + 4:wrist[1] + 8, wrist[0] + 6:wrist[0] + 42] = True
    kept = _arm_skin(real, bare)
    assert kept[wrist[1], wrist[0]] and kept[20, 200]
    assert not kept[200:206, 115:121].any()
    far = wrist[0] + round((ARM_RADII[4] + ARM_SKIN_REACH) * bare.sw) + 3
    assert kept[wrist[1] + 6, wrist[0] + 6] and not kept[wrist[1] + 4:wrist[1] + 8, far:wrist[0] + 42].any()
