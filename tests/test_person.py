"""Person analysis on real evalset photos: keypoints on the body, parsing and masks against references."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tryon.errors import MultiplePersonsError, NoPersonError
from tryon.imageio import load_image, load_mask
from tryon.metrics.analysis import parsing_scores, pck_hits
from tryon.person.keypoints import BODY_JOINTS, Joint, Keypoints
from tryon.person.parsing import ARMS, LOWER_GARMENT, UPPER_GARMENT, Label


def test_keypoints_match_reference_openpose(evalset, person_analyzer):
    hits = total = 0
    for ref, person in evalset.references("pose_json"):
        img = load_image(person.path)
        gt = Keypoints.load_openpose(ref.path, img.shape[1], img.shape[0])
        h, n = pck_hits(person_analyzer.pose(img).keypoints, gt)
        hits, total = hits + h, total + n
    assert total > 150
    assert hits / total >= 0.93, f"PCK@0.1 {hits / total:.3f}"


def test_keypoints_land_on_the_body(evalset, person_analysis):
    studio = [e for e in evalset.of_kind("person", "studio")][::6]
    inside = seen = 0
    for e in studio:
        res = person_analysis(e.path)
        mask = res.person_mask > 0
        grown = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(
            __import__("PIL.ImageFilter", fromlist=["MaxFilter"]).MaxFilter(9))) > 0
        for j in BODY_JOINTS:
            if res.keypoints.seen(j):
                x, y = res.keypoints.xy[j].astype(int)
                seen += 1
                inside += bool(grown[y, x])
        assert res.keypoints.seen(1), e.file
    assert inside / seen >= 0.95


def test_parsing_overlaps_reference_maps(evalset, person_analysis):
    refs = [(r, p) for r, p in evalset.references("parse") if "human parsing" in r.notes][:8]
    assert len(refs) >= 6
    scores: dict[str, list[float]] = {}
    for ref, person in refs:
        gt = np.asarray(Image.open(ref.path))
        res = person_analysis(person.path)
        assert res.parse.shape == res.image.shape[:2] and res.parse.max() <= 19
        pred = np.asarray(Image.fromarray(res.parse).resize(gt.shape[::-1], Image.NEAREST))
        for name, iou in parsing_scores(pred, gt).items():
            if iou is not None:
                scores.setdefault(name, []).append(iou)
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    # Well above the naive split of the person mask (0.60 / 0.46 / 0.00 / 0.54 / 0.99).
    assert mean["background"] >= 0.97, mean
    assert mean["upper"] >= 0.65, mean
    assert mean["lower"] >= 0.65, mean
    assert mean["face+hair"] >= 0.65, mean
    assert mean["arms"] >= 0.35, mean


def test_sides_follow_openpose(vitonhd_analysis):
    """Label 14 (left arm) is the person's left arm, like OpenPose's L joints."""
    parse, kp = vitonhd_analysis.parse, vitonhd_analysis.keypoints
    for label, wrist in ((Label.LEFT_ARM, 7), (Label.RIGHT_ARM, 4)):
        ys, xs = np.nonzero(parse == label)
        assert len(xs) > 100
        other = 4 if wrist == 7 else 7
        assert abs(xs.mean() - kp.xy[wrist][0]) < abs(xs.mean() - kp.xy[other][0])


def test_upper_mask_covers_reference_and_protects_face(evalset, vitonhd_analysis, vitonhd_person):
    ref_entry = next(r for r, p in evalset.references("mask") if p.file == vitonhd_person.file)
    ref = load_mask(ref_entry.path) > 0
    ours = vitonhd_analysis.agnostic_mask("upper") > 0
    parse = vitonhd_analysis.parse
    # The reference (the region a published try-on model regenerates) is mostly inside ours.
    assert (ours & ref).sum() / ref.sum() >= 0.8
    assert not (ours & np.isin(parse, (Label.FACE,))).any()
    assert (ours & np.isin(parse, UPPER_GARMENT)).sum() / np.isin(parse, UPPER_GARMENT).sum() >= 0.97
    lower_garment = np.isin(parse, LOWER_GARMENT)
    if lower_garment.any():
        assert (ours & lower_garment).sum() / lower_garment.sum() <= 0.05


def test_masks_per_category(evalset, person_analysis):
    person = next(e for e in evalset.of_kind("person") if "24_9A87AAA0D87689GS" in e.file)  # shirt and jeans
    res = person_analysis(person.path)
    upper, lower, dress = (res.agnostic_mask(c) > 0 for c in ("upper", "lower", "dress"))
    parse = res.parse
    pants = np.isin(parse, LOWER_GARMENT)
    shirt = np.isin(parse, UPPER_GARMENT)
    assert pants.sum() > 1000 and shirt.sum() > 1000
    assert (lower & pants).sum() / pants.sum() >= 0.95
    assert (lower & shirt).sum() / shirt.sum() <= 0.05
    assert (upper & pants).sum() / pants.sum() <= 0.05
    assert (dress & (pants | shirt)).sum() / (pants | shirt).sum() >= 0.95
    for m in (upper, lower, dress):
        assert not (m & (parse == Label.FACE)).any()
    # A longer target garment extends the region down the legs, never shrinks it: a skirt to the
    # ankles over these jeans adds the gap between the legs, all of it below the hips.
    long = res.agnostic_mask("lower", length=1.0) > 0
    added = long & ~lower
    assert added.sum() > 0 and (lower & ~long).sum() == 0
    assert np.nonzero(added.any(axis=1))[0].min() > res.keypoints.xy[Joint.MID_HIP][1]
    short_top = res.agnostic_mask("upper") > 0
    long_top = res.agnostic_mask("upper", length=1.4) > 0
    assert np.nonzero(long_top.any(axis=1))[0].max() > np.nonzero(short_top.any(axis=1))[0].max()
    assert (short_top & ~long_top).sum() == 0


def test_a_black_sleeve_below_the_hips_is_no_trousers(evalset, person_analyzer):
    """OOTDiffusion 01008_00 wears black mesh long sleeves down to below her hips, over a leopard
    skirt with black spots. The sleeves' lower ends are the top, not the bottom: the upper
    region takes (nearly) all the dark cloth along her forearms (the previous parser left 11% of
    it, the cuffs and an edge, as "trousers")."""
    import cv2

    image = load_image(evalset.root / "persons/OOTDiffusion__01008_00.jpg")
    res = person_analyzer.analyze(image)
    kp = res.keypoints
    canvas = np.full(image.shape[:2], 255, np.uint8)
    for elbow, wrist in ((3, 4), (6, 7)):
        assert kp.seen(elbow) and kp.seen(wrist)
        cv2.line(canvas, tuple(int(v) for v in kp.xy[elbow]), tuple(int(v) for v in kp.xy[wrist]), 0, 1)
    near = cv2.distanceTransform(canvas, cv2.DIST_L2, 3) < 0.12 * np.linalg.norm(kp.xy[2] - kp.xy[5])
    sleeve = near & (image.max(axis=2) < 70)
    left = sleeve & ~(res.agnostic_mask("upper") > 0)
    assert sleeve.sum() > 10000
    assert left.sum() < 0.05 * sleeve.sum(), (left.sum(), sleeve.sum())


def test_a_skin_coloured_houndstooth_is_no_skin(evalset, person_analysis):
    """A beige-and-brown houndstooth dress has skin's mean colour, and at the parser's working
    size its pattern is smooth: the whole front was labelled neck and legs. At the photo's own
    size it is no skin: the torso between the shoulders and the hips is garment, the arms skin."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("OOTDiffusion__052964_0.jpg"))
    p = person_analysis(person.path)
    kp = p.keypoints
    (x0, x1) = sorted((int(kp.xy[Joint.R_SHOULDER][0]), int(kp.xy[Joint.L_SHOULDER][0])))
    neck, hip = float(kp.xy[Joint.NECK][1]), float(kp.xy[Joint.MID_HIP][1])
    y0, y1 = int(neck + 0.3 * (hip - neck)), int(hip)
    torso = p.parse[y0:y1, x0 + (x1 - x0) // 4:x1 - (x1 - x0) // 4]
    assert np.isin(torso, UPPER_GARMENT + LOWER_GARMENT).mean() > 0.9
    assert (np.isin(p.parse, ARMS).sum()) > 0.01 * p.parse.size


def test_a_blush_shirt_is_the_top_down_its_shaded_sides(evalset, person_analysis):
    """IDM-VTON 00034's sleeveless blush shirt is near her skin's colour: its shaded sides and
    hem were labelled arms and neck (a quarter of the torso between the shoulder joints), kept
    as skin, and stood beside a new top as pink strips. Nearer in chroma to the shirt's own
    colour than to the skin's, they are the shirt; her bare arms stay arms."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("IDM-VTON__00034_00.jpg"))
    p = person_analysis(person.path)
    kp = p.keypoints
    (x0, x1) = sorted((int(kp.xy[Joint.R_SHOULDER][0]), int(kp.xy[Joint.L_SHOULDER][0])))
    neck, hip = float(kp.xy[Joint.NECK][1]), float(kp.xy[Joint.MID_HIP][1])
    torso = p.parse[int(neck + 0.3 * (hip - neck)):int(hip), x0:x1]
    assert np.isin(torso, UPPER_GARMENT).mean() > 0.9
    assert np.isin(torso, ARMS + (Label.NECK,)).mean() < 0.1
    assert np.isin(p.parse, ARMS).mean() > 0.05


def test_a_coats_skirt_over_the_thighs_is_the_top_and_the_jeans_between_the_trousers(evalset, person_analysis):
    """multimodal-garment-designer 050915's tweed coat hangs open to mid-thigh over jeans. Half-way
    from the hips to the knees and below, its skirt beside the jeans is the top (the prior falling
    off below the hips gave all of it to the trousers: none at 0.6 of the way); the jeans between
    its sides stay the trousers."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("multimodal-garment-designer__050915_0.jpg"))
    p = person_analysis(person.path)
    kp = p.keypoints
    hip = kp.xy[Joint.MID_HIP][1]
    knee = (kp.xy[Joint.R_KNEE][1] + kp.xy[Joint.L_KNEE][1]) / 2
    for t in (0.5, 0.6):
        row = p.parse[int(hip + t * (knee - hip))]
        top, trousers = np.isin(row, UPPER_GARMENT).sum(), np.isin(row, LOWER_GARMENT).sum()
        assert top > 0.25 * (top + trousers) and trousers > 0.4 * (top + trousers), (t, top, trousers)


def test_beige_shorts_are_shorts_and_the_legs_below_them_legs(evalset, person_analysis):
    """Beige shorts within a few Lab units of the face's skin were parsed as legs, and a new skirt
    left them showing. The crotch is never bare: the shorts are the lower garment down to their
    hem, and the bare shins below it stay legs."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("FitDiT__1.jpg"))
    p = person_analysis(person.path)
    kp = p.keypoints
    hips = [kp.xy[j] for j in (Joint.R_HIP, Joint.L_HIP)]
    knees = [kp.xy[j] for j in (Joint.R_KNEE, Joint.L_KNEE)]
    ankles = [kp.xy[j] for j in (Joint.R_ANKLE, Joint.L_ANKLE)]
    x0, x1 = sorted(int(h[0]) for h in hips)
    hip_y, knee_y = float(np.mean([h[1] for h in hips])), float(np.mean([k[1] for k in knees]))
    shorts = p.parse[int(hip_y):int(hip_y + 0.4 * (knee_y - hip_y)), x0:x1]
    shorts = shorts[~np.isin(shorts, ARMS)]  # his left hand rests on them
    assert np.isin(shorts, LOWER_GARMENT).mean() > 0.7
    for knee, ankle in zip(knees, ankles):
        shin = [knee + t * (ankle - knee) for t in np.linspace(0.2, 0.8, 7)]
        labels = [p.parse[int(y), int(x)] for x, y in shin]
        assert np.isin(labels, (Label.LEFT_LEG, Label.RIGHT_LEG)).mean() >= 6 / 7, labels


def test_no_person_in_a_garment_photo(evalset, person_analyzer):
    garment = evalset.of_kind("garment", "lower")[0]
    with pytest.raises(NoPersonError):
        person_analyzer.analyze(garment.path)


def test_two_people_are_refused(evalset, person_analyzer):
    a = load_image(next(e for e in evalset.of_kind("person") if e.pair_id == "00034_00").path)
    b = load_image(next(e for e in evalset.of_kind("person") if e.pair_id == "00035_00").path)
    both = np.concatenate([a, b], axis=1)
    with pytest.raises(MultiplePersonsError, match="2 people"):
        person_analyzer.analyze(both)


def test_analyses_from_two_threads_take_turns_and_agree(evalset, person_analyzer, person_analysis):
    """The warp engine analyses a garment worn by a model on its second thread while it analyses the
    person: one analyser's MediaPipe models, called from two threads at once, give what they give
    one call at a time."""
    from concurrent.futures import ThreadPoolExecutor

    paths = [next(e for e in evalset.of_kind("person") if e.pair_id == pair).path for pair in ("00034_00", "00055_00")]
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(person_analyzer.analyze, paths * 2))
    for path, result in zip(paths * 2, together):
        alone = person_analysis(path)
        assert np.array_equal(result.parse, alone.parse)
        assert np.array_equal(result.keypoints.xy, alone.keypoints.xy)
        assert result.face_box == alone.face_box


def test_arms_are_skin_only(vitonhd_analysis):
    """Arms (LIP 14/15) hold bare skin: their colour is close to the face's, not the garment's."""
    img, parse = vitonhd_analysis.image.astype(float), vitonhd_analysis.parse
    face = img[parse == Label.FACE].mean(axis=0)
    arms = img[np.isin(parse, ARMS)].mean(axis=0)
    top = img[np.isin(parse, UPPER_GARMENT)].mean(axis=0)
    assert np.linalg.norm(arms - face) < np.linalg.norm(arms - top)


def test_clasped_hands_are_no_face(evalset, person_analysis):
    """FitDiT 0223: the frame cuts the face off at the mouth and the hands are clasped in front of
    the shirt; the face detector takes the hands for a face. A face below the shoulders is
    dropped, so the head's protection does not cut a strip out of the shirt's mask."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("FitDiT__0223.jpg"))
    res = person_analysis(person.path)
    kp = res.keypoints
    shoulders = max(kp.xy[2][1], kp.xy[5][1])
    assert res.face is None or (res.face.box[1] + res.face.box[3]) / 2 < shoulders
    upper = res.agnostic_mask("upper") > 0
    shirt = np.isin(res.parse, UPPER_GARMENT)
    assert (upper & shirt).sum() / shirt.sum() >= 0.95
    # The middle of the chest, between the shoulders and above the hands, is regenerated.
    mid = int(kp.xy[1][0])
    rows = slice(int(shoulders + 0.1 * (kp.xy[4][1] - shoulders)), int(kp.xy[4][1] - 0.15 * (kp.xy[4][1] - shoulders)))
    assert upper[rows, mid - 5:mid + 5].mean() >= 0.98


def test_a_truncated_heavy_pose_model_is_replaced_whole(tmp_path):
    """A copy cut short (a process that died while installing the model) makes mediapipe crash
    with a segmentation fault on every later start: such a file is replaced, atomically, even
    by several threads at once, and no partial file stays behind."""
    import hashlib
    import threading

    from tryon import assets
    from tryon.person.pose import HEAVY, _install_heavy_model

    (tmp_path / HEAVY).write_bytes(b"\0" * 262_144)
    done: list[bool] = []
    threads = [threading.Thread(target=lambda: done.append(_install_heavy_model(tmp_path))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert done == [True] * 4
    assert hashlib.sha256((tmp_path / HEAVY).read_bytes()).hexdigest() == assets.MODELS[HEAVY].sha256
    assert [p.name for p in tmp_path.iterdir()] == [HEAVY]
    assert (tmp_path / HEAVY).stat().st_mode & 0o044 == 0o044  # others may read it, as a package file


def test_without_a_face_skin_is_learned_on_the_hands(evalset, person_analysis):
    """FitDiT 0179's head is cut off by the frame: no face to learn the skin tone on. The grey
    and beige plaid of his cardigan is no skin; his hand, beside the trousers, is."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("FitDiT__0179.jpg"))
    res = person_analysis(person.path)
    kp = res.keypoints
    assert res.face is None and all(kp.seen(j) for j in (2, 5, 9, 12))
    x0, x1 = sorted((kp.xy[2][0], kp.xy[5][0]))
    y0, y1 = max(kp.xy[2][1], kp.xy[5][1]), min(kp.xy[9][1], kp.xy[12][1])
    torso = res.parse[int(y0):int(y1), int(x0):int(x1)]
    skin = np.isin(torso, ARMS + (Label.NECK,))
    assert skin.mean() < 0.01, f"{skin.mean():.3f} of the cardigan's front parsed as skin"
    wrist = next(j for j in (4, 7) if kp.seen(j))
    x, y = kp.xy[wrist].astype(int)
    hand = res.parse[y:y + 50, x - 25:x + 25]  # below the wrist
    assert np.isin(hand, ARMS).mean() > 0.3


def test_a_pale_persons_rim_of_white_backdrop_is_no_arm(evalset, person_analysis):
    """multimodal-garment-designer 050915 is pale and lit bright on a white backdrop; the person mask
    runs a few percent of the height past his coat's sleeve. That rim passed the skin model: 57 % of
    the pixels parsed as arms were the backdrop, and a try-on drew a grey, see-through arm from them.
    Now almost none are, and his hands are still arms."""
    import cv2

    person = next(e for e in evalset.of_kind("person") if e.file.endswith("multimodal-garment-designer__050915_0.jpg"))
    p = person_analysis(person.path)
    lab = cv2.cvtColor(np.ascontiguousarray(p.image), cv2.COLOR_RGB2LAB).astype(np.float32)
    backdrop = np.median(np.concatenate([lab[:, :8].reshape(-1, 3), lab[:, -8:].reshape(-1, 3)]), axis=0)
    arms = np.isin(p.parse, ARMS)
    like = np.linalg.norm(lab - backdrop, axis=-1) < 8
    assert (arms & like).sum() < 0.05 * arms.sum(), f"{(arms & like).sum() / arms.sum():.2f} of the arms are backdrop"
    for wrist in (Joint.R_WRIST, Joint.L_WRIST):  # the hands: pixels of skin's chroma below the wrists
        x, y = p.keypoints.xy[wrist].astype(int)
        hand = np.s_[y - 20:y + 60, x - 40:x + 40]
        skin = (lab[hand][..., 1] > 136) & ~like[hand]
        assert skin.sum() > 500 and np.isin(p.parse[hand], ARMS)[skin].mean() > 0.75


def test_bare_shins_in_ankle_boots_are_legs_and_shoes_only(evalset, person_analysis):
    """FitDiT 0347 wears a beige skirt to above the knees and brown ankle boots. Below the knees the
    parse had the skirt's label on the boots' shafts (past the shoe's zone), on both legs' outlines
    (the pixel where skin meets the white backdrop) and in specks of the skirt's tone on the shins:
    12.7 % of the person there, which a new dress redrew as skin over the boots' tops and ragged legs.
    Now the shafts are the shoes' and the legs' outlines the legs'."""
    person = next(e for e in evalset.of_kind("person") if e.file.endswith("FitDiT__0347.jpg"))
    p = person_analysis(person.path)
    knees = int(max(p.keypoints.xy[j][1] for j in (Joint.R_KNEE, Joint.L_KNEE)))
    below = p.parse[knees:]
    worn = np.isin(below, UPPER_GARMENT + LOWER_GARMENT).sum() / max(int((below > 0).sum()), 1)
    assert worn < 0.005, f"{worn:.3f} of the person below the knees parsed as a garment"
    shoes = np.isin(below, (Label.LEFT_SHOE, Label.RIGHT_SHOE))
    legs = np.isin(below, (Label.LEFT_LEG, Label.RIGHT_LEG))
    assert shoes.sum() > 0.2 * legs.sum() and legs.sum() > 0.3 * (below > 0).sum()


@pytest.mark.parametrize("name", ["FitDiT__0303.jpg", "IDM-VTON__Jensen.jpeg"])
def test_skin_is_never_bluish(evalset, person_analysis, name):
    """The face's chroma model is an ellipse long in the direction of shade, toward grey, and it
    reached past grey: FitDiT 0303's dark purple trousers beside his dark hands (7.6 % of what was
    parsed as arms and legs had a blue tint) and Jensen's black leather jacket's cool highlights
    (27 %) were skin, and a try-on kept them as dark shards beside new jeans. Skin leans from grey
    the face's way, in shade too: now almost none of it is bluish, and the arms are still there."""
    import cv2

    person = next(e for e in evalset.of_kind("person") if e.file.endswith(name))
    p = person_analysis(person.path)
    lab = cv2.cvtColor(np.ascontiguousarray(p.image), cv2.COLOR_RGB2LAB)
    skin = np.isin(p.parse, ARMS + (Label.LEFT_LEG, Label.RIGHT_LEG))
    bluish = skin & (lab[..., 2] < 128)
    assert bluish.sum() < 0.02 * skin.sum(), f"{bluish.sum() / skin.sum():.3f} of the skin is bluish"
    assert skin.sum() > 0.001 * skin.size


@pytest.mark.parametrize("name", ["FitDiT__8.png", "FitDiT__0179.jpg"])
def test_a_hem_over_the_shoes_is_the_garment(evalset, person_analysis, name):
    """A maxi skirt's plaid hem (FitDiT 8) and a trouser's turn-ups (FitDiT 0179) hang below the
    ankle joints, where every garment pixel about the foot was a shoe: 13 % and 11 % of the
    shoes had the lower garment's colour, and the old hem stayed under new jeans. The hem is the
    garment's now; the shoes are still shoes."""
    import cv2

    from tryon.person.parsing import SHOES

    person = next(e for e in evalset.of_kind("person") if e.file.endswith(name))
    p = person_analysis(person.path)
    lab = cv2.cvtColor(np.ascontiguousarray(p.image), cv2.COLOR_RGB2LAB).astype(np.float32)
    shoes, lower = np.isin(p.parse, SHOES), np.isin(p.parse, LOWER_GARMENT)
    like = shoes & (np.linalg.norm(lab - np.median(lab[lower], axis=0), axis=-1) < 25)
    assert like.sum() < 0.05 * shoes.sum(), f"{like.sum() / shoes.sum():.3f} of the shoes are of the garment's colour"
    assert shoes.sum() > 0.003 * shoes.size


def test_a_trousers_hem_over_trainers_with_a_sole_of_its_colour_is_the_trousers(evalset, person_analysis):
    """FitDiT 0223's navy trousers hang over white trainers with navy soles: their hem was as
    near the shoes' colours (the soles') as the trousers', and stayed a shoe, 20 % of the shoes
    navy above their white uppers: a new dress left navy scraps at the ankles. The hem is the
    trousers' now; the navy soles, below the white, are still the shoes'."""
    import cv2

    from tryon.person.parsing import SHOES

    person = next(e for e in evalset.of_kind("person") if e.file.endswith("FitDiT__0223.jpg"))
    p = person_analysis(person.path)
    lab = cv2.cvtColor(np.ascontiguousarray(p.image), cv2.COLOR_RGB2LAB).astype(np.float32)
    shoes, lower = np.isin(p.parse, SHOES), np.isin(p.parse, LOWER_GARMENT)
    navy = shoes & (np.linalg.norm(lab - np.median(lab[lower], axis=0), axis=-1) < 25)
    white = shoes & (lab[..., 0] > 200)
    first_white = np.where(white.any(axis=0), np.argmax(white, axis=0), -1)
    above = navy & (np.arange(shoes.shape[0])[:, None] < first_white[None, :])
    assert above.sum() < 0.08 * shoes.sum(), f"{above.sum() / shoes.sum():.3f} of the shoes are navy above the white"
    assert navy.sum() > 0.05 * shoes.sum() and white.sum() > 0.3 * shoes.sum()  # the soles and uppers stay
