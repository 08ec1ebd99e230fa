"""The catalog: metadata, embeddings of evalset product photos, the FAISS index (exact and graph),
incremental updates, similar search, "complete the look", and the command line."""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("faiss", reason="the catalog extra (faiss-cpu) is not installed")
pytest.importorskip("torch", reason="the catalog extra (torch) is not installed")

from tryon.catalog import index as index_module  # noqa: E402
from tryon.catalog.embedding import EmbeddingParams, GarmentEmbedder  # noqa: E402
from tryon.catalog.folder import read_catalog  # noqa: E402
from tryon.catalog.index import CatalogIndex  # noqa: E402
from tryon.catalog.recommend import colour_harmony, goes_with, similar  # noqa: E402
from tryon.errors import InputError  # noqa: E402


def _copy_as(src: Path, dst: Path, quality: int = 70, scale: float = 0.7) -> None:
    """A re-encoded, resized copy: what a shop's second upload of one product looks like."""
    image = Image.open(src).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    dst.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def embedder(garment_analyzer):
    return GarmentEmbedder(analyzer=garment_analyzer)


@pytest.fixture(scope="module")
def shop(tmp_path_factory, evalset, embedder):
    """Two garments per category with the shop's metadata, one re-encoded copy, indexed once."""
    folder = tmp_path_factory.mktemp("shop")
    rows = ["id,name,category,price,season"]
    for category in ("upper", "lower", "dress"):
        for i, entry in enumerate(evalset.of_kind("garment", category)[:2]):
            gid = f"{category}{i}"
            shutil.copy(entry.path, folder / f"{gid}{entry.path.suffix}")
            rows.append(f"{gid},The {category} no. {i},{category},{19.5 + i},summer")
    _copy_as(next(folder.glob("upper0.*")), folder / "upper0-again.jpg")
    rows.append("upper0-again,The upper no. 0 again,upper,19.5,summer")
    (folder / "catalog.csv").write_text("\n".join(rows) + "\n")
    index = CatalogIndex.load(folder)
    report = index.update(embedder)
    assert len(report.added) == 7 and not report.skipped
    return folder, index


def test_a_reencoded_copy_is_the_nearest_and_categories_come_first(shop):
    folder, index = shop
    garments = read_catalog(folder)
    found = similar(index, garments, "upper0-again", k=3)
    assert found[0]["id"] == "upper0" and found[0]["name"] == "The upper no. 0" and found[0]["price"] == 19.5
    assert set(found[0]["parts"]) == {"image", "colour", "category", "pattern"} and found[0]["parts"]["image"] > 0.9
    for gid in index.ids:  # the shop's categories: every same-category garment before any other
        category = index.items[gid]["category"]
        ranked = [index.items[r["id"]]["category"] for r in similar(index, garments, gid, k=len(index) - 1)]
        same = ranked.count(category)
        assert ranked[:same] == [category] * same, (gid, ranked)
    with pytest.raises(InputError, match="1 to 100"):
        similar(index, garments, "upper0", k=0)


def test_goes_with_proposes_the_complementary_category_with_its_reasons(shop):
    folder, index = shop
    garments = read_catalog(folder)
    looks = goes_with(index, garments, "upper1", k=5)
    assert [c["category"] for c in looks] == ["lower", "lower"]
    assert looks[0]["score"] >= looks[1]["score"]
    assert {"colour_harmony", "harmony_kind", "style"} <= set(looks[0]["parts"])
    liked = goes_with(index, garments, "upper1", k=5, liked=("lower1",))
    assert liked[0]["id"] == "lower1" and liked[0]["parts"]["interest"] > 0.99
    assert [c["category"] for c in goes_with(index, garments, "lower0", k=5)] == ["upper"] * 3
    assert goes_with(index, garments, "dress0") == []  # a dress is a whole outfit


def _trapezoid(height: int, top: int = 150, bottom: int = 400) -> np.ndarray:
    """A silhouette widening from ``top`` to ``bottom`` px over ``height`` rows (a dress's, when tall)."""
    mask = np.zeros((height + 20, bottom + 20), bool)
    for y in range(height):
        half = (top + (bottom - top) * y / (height - 1)) / 2
        mask[10 + y, round(10 + bottom / 2 - half):round(10 + bottom / 2 + half)] = True
    return mask


def test_a_silhouette_on_the_edge_between_two_categories_gets_some_of_both():
    """Aspect 1.4475 and 1.4525 (a photo and its copy, on either side of the dress rule's 1.45): the
    hard category flips, the probabilities and the embedding's category part hardly move."""
    from tryon.category import Category
    from tryon.catalog.embedding import category_part
    from tryon.garment.shape import category_probabilities, detect_category

    below, above = _trapezoid(579), _trapezoid(581)
    assert detect_category(below)[0] == Category.UPPER and detect_category(above)[0] == Category.DRESS
    p, q = category_probabilities(below), category_probabilities(above)
    assert 0.2 < p[Category.DRESS] < 0.5 < q[Category.DRESS] < 0.8 and sum(p.values()) == pytest.approx(1)
    assert category_part(p) @ category_part(q) > 0.95  # one-hot parts would have cosine 0
    assert category_probabilities(_trapezoid(440))[Category.UPPER] > 0.99  # clearly short: a top
    assert category_probabilities(_trapezoid(700))[Category.DRESS] > 0.99  # clearly tall and flared


def test_a_neckline_tells_a_straight_dress_from_a_long_skirt():
    """Long, straight and full-width at the top: a long skirt, unless the top edge dips between
    the shoulders (a sleeveless shift dress)."""
    from tryon.category import Category
    from tryon.garment.shape import detect_category

    skirt = np.zeros((620, 240), bool)
    skirt[10:610, 20:220] = True  # 600 x 200: aspect 3, straight, a flat waistband
    dress = skirt.copy()
    yy, xx = np.mgrid[:620, :240]
    dress &= ~(((xx - 120) / 35) ** 2 + ((yy - 10) / 8) ** 2 < 1)  # a shallow crew neckline, 8 px deep
    assert detect_category(skirt)[0] == Category.LOWER
    assert detect_category(dress)[0] == Category.DRESS


def test_a_detected_category_enters_the_vector_as_probabilities_a_given_one_one_hot(embedder, evalset):
    from tryon.catalog.embedding import category_part
    from tryon.category import Category
    from tryon.imageio import load_image

    photo = load_image(evalset.of_kind("garment", "upper")[0].path)
    image, mask, detected = embedder.analyse(photo)
    assert max(image.shape[:2]) == embedder.params.analysis_side  # analysed at the embedding's size
    assert set(detected) == {Category.UPPER, Category.LOWER, Category.DRESS}
    assert sum(detected.values()) == pytest.approx(1) and max(detected, key=detected.get) == Category.UPPER
    assert embedder.analyse(photo, "dress")[2] == Category.DRESS
    start, end, weight = embedder.params.parts["category"]
    vector = embedder.embed_analysed([(image, mask, detected)])[0].vector
    assert np.allclose(vector[start:end], np.sqrt(weight) * category_part(detected), atol=1e-6)


class _FakeEmbedder:
    """The embedder's interface without its networks: a photo's vector is its mean colour (and says
    which photo it came from), so that the index's bookkeeping can be checked quickly."""

    analysis_workers = 2  # chunks analysed side by side must still come back in order

    def __init__(self):
        self.params = EmbeddingParams()
        self.prepared_in: set[str] = set()

    def analyse(self, photo, category=None):
        from tryon.category import Category

        self.prepared_in.add(threading.current_thread().name)
        return photo, np.full(photo.shape[:2], 255, np.uint8), Category.parse(category or "upper")

    def prepare(self, analysed):
        from tryon.catalog.embedding import Prepared

        image, _, category = analysed
        return Prepared(image.reshape(-1, 3).mean(axis=0), {}, category, [([50.0, 0.0, 0.0], 1.0)])

    def finish(self, prepared):
        from tryon.catalog.embedding import GarmentEmbedding

        out = []
        for g in prepared:
            vector = np.zeros(self.params.dims, np.float32)
            vector[:3] = g.network_input / 255
            out.append(GarmentEmbedding(vector, g.category, g.palette))
        return out


def test_updates_analyse_the_next_photos_in_other_threads_and_keep_each_vector_with_its_photo(
        tmp_path, monkeypatch):
    import torch

    colours = {f"g{i}": (20 * i, 255 - 20 * i, 7 * i) for i in range(7)}
    for gid, colour in colours.items():
        Image.new("RGB", (64, 96), colour).save(tmp_path / f"{gid}.png")
    (tmp_path / "g3.png").write_bytes(b"broken")  # skipped, in the middle of the second chunk
    monkeypatch.setattr(index_module, "EMBED_BATCH", 2)  # four chunks
    threads = torch.get_num_threads()
    seen = []
    fake = _FakeEmbedder()
    report = CatalogIndex.load(tmp_path).update(fake, progress=lambda done, total: seen.append((done, total)))
    assert report.added == ["g0", "g1", "g2", "g4", "g5", "g6"] and [n for n, _ in report.skipped] == ["g3.png"]
    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)] and torch.get_num_threads() == threads
    assert fake.prepared_in and threading.main_thread().name not in fake.prepared_in  # beside the network
    index = CatalogIndex.load(tmp_path)
    for gid in report.added:
        assert np.allclose(index.vector(gid)[:3], np.array(colours[gid]) / 255, atol=1e-6), gid


def test_embedders_lend_each_of_their_analysers_to_one_thread_at_a_time(monkeypatch):
    """An embedder that makes its own analysers makes at most ``analysis_workers`` of them, however
    many threads analyse at once, and never lends one to two threads together (they are not
    thread-safe); a given analyser is the only one, and is never closed by the embedder."""
    import time

    from tryon.catalog import embedding
    from tryon.garment import analyzer as analyzer_module

    made, busy, clashes = [], set(), []
    lock = threading.Lock()

    class Fake:
        def __init__(self, threads=None):
            made.append(self)
            self.closed = False

        def analyze(self, image, category=None):
            with lock:
                if id(self) in busy:
                    clashes.append(self)
                busy.add(id(self))
            time.sleep(0.01)
            with lock:
                busy.discard(id(self))
            return type("G", (), {"image": image, "mask": image[..., 0], "category": "upper", "worn_photo": None})

        def close(self):
            self.closed = True

    monkeypatch.setattr(analyzer_module, "GarmentAnalyzer", Fake)
    photo = np.zeros((8, 8, 3), np.uint8)
    for given in (None, Fake()):
        made.clear()
        embedder = embedding.GarmentEmbedder(analyzer=given)
        workers = [threading.Thread(target=lambda: [embedder.analyse(photo, "upper") for _ in range(5)])
                   for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not clashes
        if given is None:
            assert len(made) == embedder.analysis_workers == embedding.ANALYSIS_WORKERS
        else:
            assert made == [] and embedder.analysis_workers == 1
        embedder.close()
        assert all(a.closed for a in made) and (given is None or not given.closed)


def test_colour_harmony_rules():
    red, cyan, orange = [50, 60, 40], [50, -60, -40], [60, 40, 60]
    grey = [80, 1, 1]
    assert colour_harmony([(grey, 1.0)], [(red, 1.0)]) == (1.0, "neutral")
    assert colour_harmony([(red, 1.0)], [(orange, 1.0)])[1] == "analogous"
    assert colour_harmony([(red, 1.0)], [(cyan, 1.0)])[1] == "complementary"
    # the main colour (largest share) decides
    assert colour_harmony([(red, 0.2), (grey, 0.8)], [(cyan, 1.0)])[1] == "neutral"


def test_metadata_rows_and_their_mistakes(tmp_path):
    for name in ("a.jpg", "b.png", "upper/c.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path / "catalog.csv").write_text("id,file,name,price,colour,url,material\n"
                                          "shirt,a.jpg,Linen shirt,\"€29,90\",white,https://x/1,linen\n")
    garments = read_catalog(tmp_path)
    card = garments["shirt"].describe()
    assert (card["name"], card["price"], card["colour"], card["extra"]) == ("Linen shirt", 29.9, "white", {"material": "linen"})
    assert garments["b"].describe()["name"] == "B" and garments["c"].category.value == "upper"  # no row: still there
    cases = {
        "id,name\nb,One\nb,Two\n": "described twice",
        "id,file\nb,a.jpg\n": "garment 'b' is described twice",  # a.jpg takes the id of the photo b.png
        "id,file\nx,missing.jpg\n": "no photo 'missing.jpg'",
        "id,name\nnothing,Ghost\n": "no photo for id 'nothing'",
        "id,price\nb,cheap\n": "price 'cheap'",
        "id,category\nb,hat\n": "row 2: unknown category",
    }
    for text, message in cases.items():
        (tmp_path / "catalog.csv").write_text(text)
        with pytest.raises(InputError, match=message):
            read_catalog(tmp_path)
    (tmp_path / "catalog.csv").unlink()
    (tmp_path / "catalog.json").write_text(json.dumps({"garments": [{"id": "b", "name": "Bee", "price": 5}]}))
    assert read_catalog(tmp_path)["b"].describe()["name"] == "Bee"


def test_updates_embed_only_what_changed(shop, tmp_path, embedder, evalset):
    folder = tmp_path / "shop"
    shutil.copytree(shop[0], folder)
    index = CatalogIndex.load(folder)
    assert len(index) == 7  # the stored index travels with the folder
    os.remove(folder / "upper0-again.jpg")
    lines = (folder / "catalog.csv").read_text().splitlines()
    (folder / "catalog.csv").write_text("\n".join(line for line in lines if not line.startswith("upper0-again")) + "\n")
    _copy_as(evalset.of_kind("garment", "upper")[3].path, folder / "new.jpg")
    (folder / "broken.jpg").write_bytes(b"not a photo")
    report = CatalogIndex.load(folder).update(embedder)
    assert report.added == ["new"] and report.removed == ["upper0-again"] and report.unchanged == 6
    assert [name for name, _ in report.skipped] == ["broken.jpg"] and "broken.jpg" in report.summary()
    again = CatalogIndex.load(folder)
    assert "new" in again.ids and "upper0-again" not in again.ids
    other = CatalogIndex.load(folder, EmbeddingParams(colour_bins=3))  # another embedding model
    assert len(other) == 0 and other.stored_model != other.params.model_id


def test_graph_index_past_the_exact_limit_finds_what_exact_search_finds(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    index = CatalogIndex(tmp_path)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index.vectors = vectors
    index.items = {f"g{i}": {"id": f"g{i}", "category": "upper"} for i in range(len(vectors))}
    queries = vectors[:50] + rng.normal(scale=0.05, size=(50, 32)).astype(np.float32)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    exact = [[int(g[1:]) for g, _ in index.search(q, 10)] for q in queries]
    assert exact == truth.tolist()
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 1000)
    index._faiss = None
    graph = [[int(g[1:]) for g, _ in index.search(q, 10)] for q in queries]
    assert type(index._faiss).__name__ == "IndexHNSWFlat"
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(graph, truth.tolist())])
    assert recall > 0.95


def test_command_line(shop, tmp_path, capsys):
    from test_cli import in_process

    folder = shop[0]
    code, out, err = in_process(capsys, "catalog", "similar", folder, "upper0-again", "-k", "2")
    assert code == 0, err
    assert [c["id"] for c in json.loads(out)][0] == "upper0"
    code, out, err = in_process(capsys, "catalog", "goes-with", folder, "lower0", "-k", "1", "--liked", "upper1")
    assert code == 0 and json.loads(out)[0]["category"] == "upper", err
    code, _, err = in_process(capsys, "catalog", "similar", folder, "nope")
    assert code == 2 and "no garment 'nope'" in err
    code, _, err = in_process(capsys, "catalog", "similar", folder, "upper0", "-k", "500")
    assert code == 2 and "1 to 100" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.new("RGB", (8, 8)).save(empty / "a.jpg")
    code, _, err = in_process(capsys, "catalog", "similar", empty, "a")
    assert code == 2 and "no index yet" in err


def test_service_answers_similar_and_recommend_from_the_index(shop, tmp_path, vitonhd_person):
    from serve_helpers import running_app

    folder = shop[0]
    unindexed = tmp_path / "unindexed"
    unindexed.mkdir()
    shutil.copy(next(folder.glob("upper0.*")), unindexed / "lonely.jpg")
    with running_app(catalog=folder, workers=1) as (client, _):
        listed = {g["id"]: g for g in client.get("/v1/garments").json()["garments"]}
        assert listed["upper0"]["name"] == "The upper no. 0" and listed["upper0"]["price"] == 19.5
        found = client.get("/v1/garments/upper0-again/similar", params={"k": 2})
        assert found.status_code == 200 and found.json()["garments"][0]["id"] == "upper0"
        look = client.post("/v1/recommend", json={"garment_id": "upper1", "k": 3, "liked": ["lower1"]})
        assert look.status_code == 200
        assert [g["category"] for g in look.json()["garments"]] == ["lower", "lower"]
        assert look.json()["garments"][0]["parts"]["interest"] > 0.99
        for response, status in ((client.get("/v1/garments/nope/similar"), 404),
                                 (client.get("/v1/garments/upper0/similar", params={"k": 0}), 422),
                                 (client.get("/v1/garments/upper0/similar", params={"k": "many"}), 422),
                                 (client.post("/v1/recommend", json={"k": 3}), 422),
                                 (client.post("/v1/recommend", json={"garment_id": "upper0", "liked": "x"}), 422),
                                 (client.post("/v1/recommend", content=b"{not json"), 422),
                                 (client.post("/v1/recommend", json={"garment_id": "upper0", "k": 101}), 422)):
            assert response.status_code == status, response.text
            assert set(response.json()) == {"error", "message", "request_id"}
        photo = vitonhd_person.path.read_bytes()
        outfit = client.post("/v1/recommend", files={"person": ("me.jpg", photo, "image/jpeg")}, data={"k": "3"})
        assert outfit.status_code == 200, outfit.text
        assert outfit.json()["wearing"] == "upper" and {g["category"] for g in outfit.json()["garments"]} == {"lower"}
        garment_photo = next(folder.glob("upper0.*")).read_bytes()
        for files, data, status, code in (
                ({"person": ("me.jpg", photo, "image/jpeg")}, {"wearing": "hat"}, 422, "bad_field"),
                ({"person": ("me.jpg", photo, "image/jpeg")}, {"wearing": "dress"}, 422, "no_outfit"),
                ({"other": ("x.jpg", photo, "image/jpeg")}, {}, 422, "bad_field"),
                ({"person": ("shirt.jpg", garment_photo, "image/jpeg")}, {}, 422, "no_person")):
            response = client.post("/v1/recommend", files=files, data=data)
            assert (response.status_code, response.json()["error"]) == (status, code), response.text
    from tryon.serve.errors import error_response
    from tryon.serve.catalog import Catalog, NotIndexedError

    with pytest.raises(NotIndexedError, match="tryon catalog index") as refused:
        Catalog(unindexed).similar("lonely", 8)
    assert error_response(refused.value).status_code == 409


def test_what_goes_with_the_outfit_in_a_person_photo(shop, vitonhd_person, person_analyzer, embedder, capsys):
    from test_cli import in_process
    from tryon.catalog.recommend import goes_with_outfit, worn_garment
    from tryon.imageio import load_image

    folder, index = shop
    worn = worn_garment(load_image(vitonhd_person.path), person_analyzer, embedder)
    assert worn.category.value == "upper"  # a VITON-HD photo: a top is what it shows
    looks = goes_with_outfit(index, read_catalog(folder), worn, k=5)
    assert [c["category"] for c in looks] == ["lower", "lower"] and "colour_harmony" in looks[0]["parts"]
    trousers = worn_garment(load_image(vitonhd_person.path), person_analyzer, embedder, "lower")
    assert {c["category"] for c in goes_with_outfit(index, read_catalog(folder), trousers, k=5)} == {"upper"}
    for args in ((), ("upper0", "--person", vitonhd_person.path)):
        code, _, err = in_process(capsys, "catalog", "goes-with", folder, *args)
        assert code == 2 and "one of the two" in err


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from tryon.catalog.testing import write_tiny_clip_model

    return write_tiny_clip_model(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def clip_shop(shop, tiny_clip, tmp_path_factory, embedder):
    """The shop indexed again with the tiny CLIP (only the CLIP embeddings are made)."""
    from tryon.catalog.clip import ClipEncoder

    folder = tmp_path_factory.mktemp("clip-shop") / "shop"
    shutil.copytree(shop[0], folder)
    clip = ClipEncoder(str(tiny_clip), device="cpu")
    report = CatalogIndex.load(folder).update(embedder, clip=clip)
    assert report.unchanged == 7 and not report.added and not report.without_clip
    return folder, clip


def test_text_search_with_clip_from_the_command_line_and_the_service(shop, clip_shop, tiny_clip, tmp_path, capsys):
    """A tiny random CLIP in the published layout: the index keeps its image embeddings with its name,
    a query ranks garments by cosine exactly, another model is refused, and the server searches."""
    from serve_helpers import running_app
    from test_cli import in_process
    from tryon.catalog.clip import ClipEncoder
    from tryon.catalog.recommend import text_search
    from tryon.imageio import load_image

    folder, clip = clip_shop
    index = CatalogIndex.load(folder)
    garments = read_catalog(folder)
    assert set(index.clip) == set(index.ids) and index.clip_model == clip.model_id
    found = text_search(index, garments, clip, "red top", k=3)
    photos = clip.images([load_image(garments[gid].path) for gid in index.ids])
    expected = [index.ids[i] for i in np.argsort(-(photos @ clip.text("red top")), kind="stable")[:3]]
    assert [c["id"] for c in found] == expected and found[0]["score"] >= found[1]["score"]
    other = tmp_path / "other-clip"
    shutil.copytree(tiny_clip, other)
    with pytest.raises(InputError, match="index again"):
        text_search(index, garments, ClipEncoder(str(other), device="cpu"), "red top")
    with pytest.raises(InputError, match="no CLIP embeddings"):
        text_search(CatalogIndex.load(shop[0]), garments, clip, "red top")

    code, out, err = in_process(capsys, "catalog", "search", folder, "red top", "--clip", tiny_clip, "-k", "2")
    assert code == 0, err
    assert [c["id"] for c in json.loads(out)] == expected[:2]
    with running_app(catalog=folder, workers=1, clip=str(tiny_clip)) as (client, _):
        assert client.get("/v1/garments").json()["search"] is True
        response = client.get("/v1/search", params={"q": "red top", "k": 2})
        assert response.status_code == 200 and [g["id"] for g in response.json()["garments"]] == expected[:2]
        assert client.get("/v1/search", params={"q": " "}).status_code == 422
    from tryon.serve.errors import error_response
    from tryon.serve.catalog import Catalog, NotIndexedError

    with pytest.raises(NotIndexedError, match="text search is off") as off:
        Catalog(folder).search("red top", 2)
    assert error_response(off.value).status_code == 409


def test_similar_takes_its_image_part_from_clip_when_every_garment_has_it(shop, clip_shop, embedder, tmp_path):
    """With CLIP embeddings of every photo, similar search's image part is CLIP's cosine (the other
    parts and the weights unchanged); a garment re-embedded without CLIP sends it back to Inception."""
    from tryon.catalog.embedding import part_similarities
    from tryon.imageio import load_image

    folder, clip = clip_shop
    index = CatalogIndex.load(folder)
    garments = read_catalog(folder)
    assert index.uses_clip and index.parts["image"][1] == clip.model.config.projection_dim
    photos = dict(zip(index.ids, clip.images([load_image(garments[gid].path) for gid in index.ids])))
    weights = {name: w for name, (_, _, w) in index.params.parts.items()}
    for query in ("upper0-again", "lower1"):
        found = similar(index, garments, query, k=len(index) - 1)
        expected = {}
        for gid in index.ids:
            if gid == query:
                continue
            parts = part_similarities(index.embedding(query), index.embedding(gid), index.params.parts)
            parts["image"] = float(photos[query] @ photos[gid])
            expected[gid] = sum(weights[name] * value for name, value in parts.items())
        assert [c["id"] for c in found] == sorted(expected, key=lambda g: -expected[g])
        for card in found:
            assert card["score"] == pytest.approx(expected[card["id"]], abs=1e-4)
            assert card["parts"]["image"] == pytest.approx(float(photos[query] @ photos[card["id"]]), abs=1e-3)
    assert similar(index, garments, "upper0-again", k=1)[0]["id"] == "upper0"
    inception = similar(shop[1], garments, "lower1", k=3)  # the same garments indexed without CLIP
    assert [c["parts"]["image"] for c in inception] != [c["parts"]["image"] for c in similar(index, garments, "lower1", k=3)]

    changed = tmp_path / "shop"
    shutil.copytree(folder, changed)
    os.utime(next(changed.glob("lower0.*")))  # a new photo: embedded again, here without CLIP
    report = CatalogIndex.load(changed).update(embedder)
    assert report.added == ["lower0"] and report.without_clip == 1 and "--clip" in report.summary()
    again = CatalogIndex.load(changed)
    assert not again.uses_clip and again.parts == again.params.parts
    card = similar(again, garments, "lower1", k=len(again) - 1)
    assert {c["id"]: c["parts"]["image"] for c in card} == {c["id"]: c["parts"]["image"] for c in
                                                            similar(shop[1], garments, "lower1", k=len(again) - 1)}
