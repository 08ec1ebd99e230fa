"""Garment analysis on real product photos: masks against references, category, landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tryon.category import Category
from tryon.errors import GarmentError, InputError
from tryon.garment.segmentation import border_background, fill_holes
from tryon.imageio import load_image, load_mask
from tryon.metrics.analysis import mask_iou


def product_mask(garment_analysis, garment_analyzer, path) -> np.ndarray:
    """``garment_analyzer.mask`` of the photo at ``path``. For a product photo it is the mask of the
    photo's analysis, which ``analyze`` made with that very call (shared by the tests that read the
    same garments); for one a person wears, or one the analysis refuses, it is computed here."""
    try:
        analysis = garment_analysis(path)
    except GarmentError:
        analysis = None
    if analysis is None or analysis.worn_photo is not None:
        return garment_analyzer.mask(load_image(path))
    return analysis.mask


def test_masks_match_reference_cloth_masks(evalset, garment_analyzer, garment_analysis):
    refs = [(r, g) for r, g in evalset.references("mask") if "cloth-mask" in r.notes]
    assert len(refs) >= 5
    ious = []
    for ref, garment in refs:
        gt = load_mask(ref.path) > 0
        pred = product_mask(garment_analysis, garment_analyzer, garment.path)
        pred = np.asarray(Image.fromarray(pred).resize(gt.shape[::-1], Image.NEAREST)) > 0
        ious.append(mask_iou(pred, gt))
    assert np.mean(ious) >= 0.93 and min(ious) >= 0.85, ious


def test_white_garments_on_white_stay_whole(evalset, garment_analyzer, garment_analysis):
    """Light garments on light backgrounds: the mask is solid, not a hollow outline."""
    checked = 0
    for e in evalset.of_kind("garment"):
        img = load_image(e.path)
        bg = border_background(img)
        if bg is None or bg[0].min() < 225:
            continue
        mask = product_mask(garment_analysis, garment_analyzer, e.path) > 0
        if img[mask].mean() < 200:  # not a light garment
            continue
        checked += 1
        assert (mask == fill_holes(mask)).all(), e.file
        assert mask.mean() > 0.1, e.file
        # Nearly every pixel of the garment's silhouette that differs from white is inside the mask.
        differs = np.abs(img.astype(int) - 255).max(axis=2) > 40
        assert (differs & mask).sum() / max(differs.sum(), 1) > 0.9, e.file
    assert checked >= 2


def test_a_white_tee_on_a_clean_light_background_is_found_whole(evalset, garment_analyzer):
    """A white tee with a print, photographed on a digitally cleaned light grey: the shirt differs
    from the background by a few levels only, and U^2-Net sees just the print. The mask is the
    whole shirt (it was the print and some specks: 21% of the photo, full of holes), so the
    landmarks are the shirt's."""
    import cv2

    entry = next(e for e in evalset.of_kind("garment") if e.file.startswith("garments/OOTDiffusion__12562_00"))
    g = garment_analyzer.analyze(entry.path, "upper")
    mask = g.mask > 0
    assert 0.33 < mask.mean() < 0.5
    assert (mask == fill_holes(mask)).all()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    assert mask.sum() > 0.7 * cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    ys = np.nonzero(mask.any(axis=1))[0]
    for side in ("sleeve_left", "sleeve_right"):  # short sleeves end in the upper half
        assert g.landmarks.points[side][1] < ys.min() + 0.5 * (ys.max() - ys.min()), side


def test_a_print_on_a_white_tee_is_not_taken_for_the_garment(evalset, garment_analyzer, garment_analysis):
    """A white tee with a large floral print on a light grey background: shrunk for the catalog,
    the print's flowers join into one compact shape that passes the colour test; the mask must
    still be the tee (the same as at full size), not the print."""
    from tryon.catalog.embedding import _shrink_image

    tee = next(e for e in evalset.of_kind("garment") if e.file == "garments/OOTDiffusion__048554_1.jpg")
    full = load_image(tee.path)
    small = _shrink_image(full, 512)
    big = product_mask(garment_analysis, garment_analyzer, tee.path) > 127
    shrunk = np.asarray(Image.fromarray(garment_analyzer.mask(small)).resize(big.shape[::-1], Image.NEAREST)) > 127
    assert mask_iou(shrunk, big) > 0.9 and shrunk.mean() > 0.3


def test_category_detection_on_labelled_garments(evalset, garment_analysis):
    labelled = [e for e in evalset.of_kind("garment") if e.category in ("upper", "lower", "dress")]
    right = 0
    per_class = {c: [0, 0] for c in ("upper", "lower", "dress")}
    for e in labelled:
        got = garment_analysis(e.path).category.value
        right += got == e.category
        per_class[e.category][0] += got == e.category
        per_class[e.category][1] += 1
    assert right / len(labelled) >= 0.9, per_class
    for name, (ok, n) in per_class.items():
        assert ok / n >= 0.75, per_class


def test_user_category_overrides_detection(evalset, garment_analyzer):
    shirt = evalset.of_kind("garment", "upper")[0]
    res = garment_analyzer.analyze(shirt.path, category="dress")
    assert res.category == Category.DRESS and res.category_confidence == 1.0
    with pytest.raises(InputError, match="unknown category"):
        garment_analyzer.analyze(shirt.path, category="hat")


def test_landmarks_are_where_they_belong(evalset, garment_analysis):
    top = garment_analysis(next(e for e in evalset.of_kind("garment", "upper") if "PF-AFN" in e.file).path)
    p = top.landmarks.points
    assert p["shoulder_left"][0] < p["collar"][0] < p["shoulder_right"][0]
    assert p["collar"][1] < p["hem_left"][1] and p["shoulder_left"][1] < p["hem_left"][1]
    # Every landmark lies on the garment or right at its outline.
    import cv2

    outside = cv2.distanceTransform((top.mask == 0).astype(np.uint8), cv2.DIST_L2, 3)
    for name, (x, y) in p.items():
        assert outside[int(y), int(x)] <= 0.03 * top.mask.shape[0], name
    trousers = next(e for e in evalset.of_kind("garment", "lower") if garment_analysis(e.path).category == Category.LOWER)
    p = garment_analysis(trousers.path).landmarks.points
    assert p["waist_left"][1] < p["hem_left_outer"][1] and p["waist_left"][0] < p["waist_right"][0]
    assert p["waist_left"][1] < p["crotch"][1] < p["hem_left_outer"][1]


def test_a_hood_is_told_from_a_standing_collar_and_a_hanger(evalset, garment_analysis):
    """A hoodie's outline rises far above its shoulders, wide: its hood. Its collar (the neck
    opening) is at the hood's base, not the hood's top. A polo's standing collar, a polo's hanger
    hook and a mock neck rise less or narrower: no hood."""
    def analysis(name):
        return garment_analysis(next(e for e in evalset.of_kind("garment") if e.file.endswith(name)).path)

    hoodie = analysis("MagicClothing__t5.jpg")
    p = hoodie.landmarks.points
    height = float(np.ptp(np.nonzero(hoodie.mask.any(axis=1))[0]))
    assert "hood" in p and p["collar"][1] - p["hood"][1] > 0.15 * height, p
    assert abs(p["collar"][1] - p["shoulder_left"][1]) < 0.02 * height
    for name in ("MagicClothing__t3.jpg", "MagicClothing__t4.jpg", "IDM-VTON__09290_00.jpg"):
        assert "hood" not in analysis(name).landmarks.points, name


def test_a_notch_in_a_dress_hem_is_no_crotch(evalset, garment_analyzer):
    """A straight shift dress read as a long skirt has a notch in the middle of its hem: no gap
    between legs, so no crotch (it would be cut into two trouser legs)."""
    entry = next(e for e in evalset.of_kind("garment") if e.file.startswith("garments/OOTDiffusion__053790_1"))
    assert "crotch" not in garment_analyzer.analyze(entry.path, "lower").landmarks.points


def test_a_dress_with_full_sleeves_has_its_shoulders_inside_them(evalset, garment_analyzer):
    """Puffed sleeves joined to the bodice, and long sleeves hanging against a maxi dress: the
    rows the bodice is measured in hold the sleeves too, and the shoulders were put on the sleeves'
    outer edges (the dress then drawn a third too small). The shoulders lie inside the sleeves,
    and the sleeves end beyond them."""
    for name in ("CatVTON__24047235_54199143_1000.jpg", "OOTDiffusion__051998_1.jpg"):
        entry = next(e for e in evalset.of_kind("garment") if e.file == f"garments/{name}")
        g = garment_analyzer.analyze(entry.path, "dress")
        p = g.landmarks.points
        xs = np.flatnonzero(g.mask.any(axis=0))
        span = (p["shoulder_right"][0] - p["shoulder_left"][0]) / (xs.max() - xs.min())
        assert span < 0.8, (name, span)
        assert p["sleeve_left"][0] < p["shoulder_left"][0] and p["sleeve_right"][0] > p["shoulder_right"][0], name
    # The maxi dress's sleeves end at 47 % of its height (the hem step was looked for in the top 45 %
    # only): its shoulders are as wide as its straight bodice just below them, not a tenth wider.
    ys = np.flatnonzero(g.mask.any(axis=1))
    row = np.flatnonzero(g.mask[int(ys.min() + 0.55 * (ys.max() - ys.min()))])
    assert p["shoulder_right"][0] - p["shoulder_left"][0] < 1.05 * (row.max() - row.min())


def test_a_slit_at_the_hem_is_no_sleeve_end(evalset, garment_analyzer):
    """A short-sleeved polo with side vents: the flaps at its hem stand beyond the torso as a
    sleeve would, but the sleeve ends are the cuffs, in the upper half."""
    entry = next(e for e in evalset.of_kind("garment", "upper") if e.file.startswith("garments/IDM-VTON__09163_00"))
    g = garment_analyzer.analyze(entry.path, "upper")
    p = g.landmarks.points
    ys = np.nonzero(g.mask.any(axis=1))[0]
    for side in ("sleeve_left", "sleeve_right"):
        assert p[side][1] < ys.min() + 0.5 * (ys.max() - ys.min()), side


def test_photo_without_a_garment_outline_is_refused(garment_analyzer):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    flat = np.full((300, 300, 3), 200, np.uint8)
    for img in (noise, flat):
        with pytest.raises(GarmentError):
            garment_analyzer.analyze(img)


def test_person_photos_as_garments_give_the_garment_not_the_body(evalset, garment_analyzer):
    """An on-model photo sent as the garment: the garment is cut out along the parse and laid on
    white, or refused with a reason; never the person as a garment (no head and shoulders in it)."""
    persons = [e for e in evalset.half("tuning") if e.kind == "person"][:4]
    cut = 0
    for e in persons:
        photo = load_image(e.path)
        try:
            g = garment_analyzer.analyze(photo)
        except GarmentError as exc:
            assert "shows a person" in str(exc) or "several people" in str(exc), exc
            continue
        assert g.worn_photo is not None, f"{e.file} taken for a product photo"
        assert np.array_equal(g.worn_photo, photo) and g.image.shape == photo.shape
        assert (g.image[g.mask == 0] == 255).all()  # the garment alone, on white
        assert garment_analyzer.wearers(g.image) is None, f"{e.file}: the cut-out still shows a person"
        cut += 1
    assert cut >= len(persons) // 2, f"only {cut} of {len(persons)} person photos gave a garment"


def test_product_photos_are_not_taken_for_persons(evalset, garment_analyzer):
    garments = [e for e in evalset.half("tuning") if e.kind == "garment"][:12]
    worn = [e.file for e in garments if garment_analyzer.wearers(load_image(e.path)) is not None]
    # fashn's example garment is a man wearing the T-shirt: the one on-model photo among them.
    assert set(worn) <= {"garments/fashn-vton-1.5__garment.webp"}, worn


def test_wearers_whose_face_the_frame_cuts_are_found(evalset, garment_analyzer):
    """Shop photos cropped at the mouth or the chest: the pose model finds no head (or no body at
    all), yet a person wears the garment. Cut out or refused with the reason, never a product shot."""
    persons = {e.file: e for e in evalset.half("tuning") if e.kind == "person"}
    photos = {"cut above the mouth": load_image(persons["persons/FitDiT__0347.jpg"].path)}
    for name, top in (("FitDiT__1.jpg", 0.35), ("IDM-VTON__00034_00.jpg", 0.25)):
        image = load_image(persons[f"persons/{name}"].path)
        photos[f"{name} from {top:.0%} of its height down"] = image[round(top * len(image)):round(0.8 * len(image))]
    for name, photo in photos.items():
        try:
            g = garment_analyzer.analyze(photo)
        except GarmentError as exc:
            assert "shows a person" in str(exc), (name, exc)
            continue
        assert g.worn_photo is not None, f"{name}: taken for a product photo"


def test_a_print_the_pose_model_reads_as_a_tiny_person_is_no_wearer(evalset):
    """A shop's small re-encoded copy of embroidered jeans: the pose model places a whole skeleton
    inside the flower, a few pixels wide, its head below its shoulders and its hips above them."""
    from tryon.garment.worn import WearerCheck
    from tryon.imageio import encode_image

    jeans = next(e for e in evalset.of_kind("garment") if e.file == "garments/MagicClothing__a0.jpg")
    image = Image.open(jeans.path).convert("RGB")
    small = np.asarray(image.resize((round(image.width * 0.7), round(image.height * 0.7)), Image.LANCZOS))
    check = WearerCheck(persons=lambda: pytest.fail("the person analysis ran on a product photo"))
    try:
        assert check(load_image(encode_image(small, "jpeg", quality=70))) is None
    finally:
        check.close()


def test_a_chosen_category_the_person_does_not_wear_is_refused(evalset, garment_analyzer):
    """A person without a dress, asked for a dress: a reason (a 422), not some other garment."""
    from tryon.garment.worn import worn_garment
    from tryon.person.parsing import Label

    for e in (e for e in evalset.half("tuning") if e.kind == "person"):
        analysis = garment_analyzer.wearers(load_image(e.path))
        if analysis is not None and (analysis.parse == Label.DRESS).mean() < 0.001:
            break
    else:
        pytest.fail("no person without a dress on the tuning half")
    with pytest.raises(GarmentError, match="shows a person"):
        worn_garment(analysis, Category.DRESS)


def test_the_hand_detector_is_asked_only_where_hands_could_show():
    """No head and shoulders found: the hands are looked for only when there is skin colour enough
    for hands (a product photo of beige fabric spared 35 ms), and a photo that has it is asked."""
    from tryon.errors import NoPersonError
    from tryon.garment.worn import WearerCheck

    asked = []

    class NoPose:
        def __call__(self, image):
            raise NoPersonError("none")

    def hands(image):
        asked.append(image.shape)
        return []

    check = WearerCheck()
    check._pose, check._hands = NoPose(), hands
    skin = (215, 160, 125)  # hue 21 degrees, saturation 0.42
    for share, expected in ((0.003, 0), (0.03, 1)):
        image = np.full((400, 300, 3), 255, np.uint8)
        side = int(round((share * image.shape[0] * image.shape[1]) ** 0.5))
        image[50:50 + side, 50:50 + side] = skin
        assert check.params.min_skin_share < share
        asked.clear()
        assert check(image) is None and len(asked) == expected, (share, asked)


def _tee_neck(front: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A drawn white tee's top (400 x 300): the inside of the back, 16 grey levels darker, seen
    through a U-shaped crew neck above the front. ``front``: what the front shows (default plain
    white). Returns the photo, the garment mask and the inside's mask."""
    import cv2

    h, w = 300, 400
    img = np.full((h, w, 3), 246, np.uint8)
    if front is not None:
        img[:] = front
    mask = np.zeros((h, w), bool)
    mask[40:] = True
    xs = np.arange(w)
    neckline = (40 + 60 * (1 - ((xs - 200) / 70.0) ** 2)).round().astype(int)  # the front's edge
    inside = np.zeros((h, w), bool)
    for x in range(130, 271):
        inside[40:neckline[x], x] = True
    img[inside] = 230
    cv2.rectangle(img, (190, 52), (210, 64), (120, 120, 120), -1)  # a care label
    return img, mask, inside


def test_the_inside_of_a_light_crew_neck_is_found_above_its_front_neckline():
    """A white tee's inside is only a little darker than its front (not the 30 levels a dark inside
    is found by): found by the front neckline under it, the shaded inside above the lit front."""
    from tryon.garment.neckline import inside_back

    img, mask, inside = _tee_neck()
    cut = inside_back(img, mask, np.array([200.0, 40.0]), 70.0)
    assert (cut & inside).sum() > 0.85 * inside.sum()
    assert (cut & ~inside).sum() < 0.03 * inside.sum()


def test_a_dark_panel_down_the_front_is_no_dark_inside():
    """A black panel down the middle of a white top, printed through to the back: darker than the
    fabric and joined to the collar's middle like a dark tee's inside, but it runs on down the
    front. It is no opening (cut away, it showed skin as a rectangle in the chest); the shaded
    inside above the front neckline still is."""
    from tryon.garment.neckline import dark_inside, inside_back

    panel = np.full((300, 400, 3), 246, np.uint8)
    panel[:, 165:235] = 60
    img, mask, inside = _tee_neck(panel)
    img[inside & (np.arange(400) >= 165) & (np.arange(400) < 235)] = 40  # the panel on the back, in shade
    collar = np.array([200.0, 40.0])
    assert not dark_inside(img, mask, collar, 70.0).any()
    cut = inside_back(img, mask, collar, 70.0)
    assert (cut & inside).sum() > 0.85 * inside.sum()
    assert (cut & ~inside).sum() < 0.03 * inside.sum()


def test_a_printed_front_under_the_neckline_is_not_cut():
    """Under a printed neckline the pattern's own edges run across the opening: no neckline is
    taken from them, and nothing below the neckline is cut (a hole in the chest)."""
    from tryon.garment.neckline import inside_back

    stripes = np.full((300, 400, 3), 246, np.uint8)
    stripes[(np.arange(300) // 6) % 2 == 0] = 60
    img, mask, inside = _tee_neck(stripes)
    cut = inside_back(img, mask, np.array([200.0, 40.0]), 70.0)
    assert (cut & ~inside).sum() < 0.03 * inside.sum()
