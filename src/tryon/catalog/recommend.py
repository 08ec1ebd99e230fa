"""Similar garments, and garments that go with one ("complete the look"), each score explained.

**Similar**: the nearest vectors of the index (:mod:`tryon.catalog.embedding`): the score is the
weighted sum of the parts' cosine similarities, and the JSON gives each part. The image part is
CLIP's when the index holds CLIP image embeddings of every garment (``tryon catalog index --clip``),
else the Inception features' (:class:`tryon.catalog.index.CatalogIndex`).

**Goes with**: garments of the complementary category (a top goes with a bottom and the other way
round; a dress is a whole outfit, so nothing is proposed for it) for a catalog garment, or for the
garment a person wears in a photo (cut out along our parse), ranked by

    score = harmony_weight * colour harmony + style_weight * style + interest_weight * interest

- *colour harmony* of the two palettes' main colours: a neutral (low chroma: black, white, grey,
  beige, denim at low saturation) goes with anything; otherwise hues that are close (analogous) or
  opposite (complementary) go together, hues a third of the circle apart less, others least; a
  contrast in lightness helps;
- *style*: the cosine of the two garments' image embeddings (similar texture and cut go together;
  the Inception features', which a garment worn in a person photo has too);
- *interest*: the cosine with the mean image embedding of the items a shopper liked, when given.

The rules are named parameters (:class:`LookParams`), not learned: they are a documented baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tryon.catalog.embedding import GarmentEmbedder, GarmentEmbedding, part_similarities
from tryon.catalog.folder import Garment
from tryon.catalog.index import CatalogIndex
from tryon.category import Category
from tryon.errors import InputError

#: The most garments one request may ask for.
MAX_RESULTS = 100

COMPLEMENTS = {Category.UPPER: {Category.LOWER}, Category.LOWER: {Category.UPPER}, Category.DRESS: set()}


@dataclass(frozen=True)
class LookParams:
    harmony_weight: float = 0.5
    style_weight: float = 0.3
    interest_weight: float = 0.2  # used only when liked items are given (the others then share 1.0)
    neutral_chroma: float = 15.0  # CIELAB chroma below which a colour is a neutral
    analogous_hue: float = 35.0  # degrees
    complementary_hue: float = 150.0  # degrees and more: opposite hues
    harmony_by_kind: tuple[tuple[str, float], ...] = (
        ("neutral", 1.0), ("analogous", 0.8), ("complementary", 0.75), ("triadic", 0.55), ("clashing", 0.3))
    lightness_contrast_bonus: float = 0.1  # added when the main colours differ by 30+ in lightness


def _main_colour(palette: list) -> np.ndarray:
    return np.asarray(max(palette, key=lambda entry: entry[1])[0], np.float64)


def check_count(k: int) -> None:
    if not 1 <= k <= MAX_RESULTS:
        raise InputError(f"k = {k}: ask for 1 to {MAX_RESULTS} garments")


def colour_harmony(a: list, b: list, params: LookParams = LookParams()) -> tuple[float, str]:
    """(harmony 0..1, its kind) of two palettes' main colours."""
    ca, cb = _main_colour(a), _main_colour(b)
    chroma_a, chroma_b = np.hypot(ca[1], ca[2]), np.hypot(cb[1], cb[2])
    if min(chroma_a, chroma_b) < params.neutral_chroma:
        kind = "neutral"
    else:
        hue = abs(np.degrees(np.arctan2(ca[2], ca[1]) - np.arctan2(cb[2], cb[1]))) % 360
        hue = min(hue, 360 - hue)
        kind = ("analogous" if hue <= params.analogous_hue else "complementary" if hue >= params.complementary_hue
                else "triadic" if 100 <= hue < params.complementary_hue else "clashing")
    value = dict(params.harmony_by_kind)[kind]
    if abs(ca[0] - cb[0]) >= 30:
        value = min(1.0, value + params.lightness_contrast_bonus)
    return value, kind


def _card(garment: Garment, item: dict, score: float, parts: dict) -> dict:
    """A garment as the shopper sees it (its category detected when the shop did not say), scored."""
    card = garment.describe()
    card["category"] = card["category"] or item["category"]
    return {**card, "score": round(score, 4), "parts": parts}


def similar(index: CatalogIndex, garments: dict[str, Garment], garment_id: str, k: int = 10) -> list[dict]:
    """The ``k`` garments most like ``garment_id`` (never itself), with each part's similarity."""
    check_count(k)
    query = index.vector(garment_id)
    found = index.search(query, k, exclude={garment_id})
    return [_card(garments[gid], index.items[gid], score, part_similarities(query, index.vector(gid), index.parts))
            for gid, score in found if gid in garments]


def goes_with(index: CatalogIndex, garments: dict[str, Garment], garment_id: str, k: int = 10,
              liked: tuple[str, ...] = (), params: LookParams = LookParams()) -> list[dict]:
    """Garments of the complementary category for ``garment_id``, best first, each score explained."""
    item = index.items.get(garment_id)
    if item is None:
        raise InputError(f"no garment {garment_id!r} in the index of {index.folder} (run tryon catalog index)")
    return _looks(index, garments, index.embedding(garment_id), item, k, liked, params)


def goes_with_outfit(index: CatalogIndex, garments: dict[str, Garment], worn: GarmentEmbedding, k: int = 10,
                     liked: tuple[str, ...] = (), params: LookParams = LookParams()) -> list[dict]:
    """The same for a garment a person wears (:func:`worn_garment`): what goes with their outfit."""
    return _looks(index, garments, worn.vector, {"category": worn.category.value, "palette": worn.palette},
                  k, liked, params)


def worn_garment(photo: np.ndarray, persons, embedder: GarmentEmbedder,
                 category: Category | str | None = None) -> GarmentEmbedding:
    """The embedding of the garment a person wears (the most visible one, or ``category``), cut out
    along our parse as the self-supervised training data is."""
    from tryon.garment.flatlay import garment_cutout

    analysis = persons.analyze(photo)
    worn, mask = garment_cutout(analysis.image, analysis.parse, category)
    return embedder.embed_analysed([(analysis.image, mask.astype(np.uint8) * 255, worn)])[0]


def _looks(index: CatalogIndex, garments: dict[str, Garment], vector: np.ndarray, item: dict, k: int,
           liked: tuple[str, ...], params: LookParams) -> list[dict]:
    check_count(k)
    wanted = COMPLEMENTS[Category(item["category"])]
    if not wanted:
        return []
    start, end, _ = index.params.parts["image"]
    mine = vector[start:end]
    interest = None
    if liked:
        interest = np.mean([index.embedding(g)[start:end] for g in liked], axis=0)
        interest /= max(float(np.linalg.norm(interest)), 1e-9)
    weights = (params.harmony_weight, params.style_weight, params.interest_weight if interest is not None else 0.0)
    total = sum(weights)
    cards = []
    for gid, other in index.items.items():
        if Category(other["category"]) not in wanted or gid not in garments:
            continue
        theirs = index.embedding(gid)[start:end]
        harmony, kind = colour_harmony(item["palette"], other["palette"], params)
        style = float(mine @ theirs) / max(float(np.linalg.norm(mine) * np.linalg.norm(theirs)), 1e-9)
        parts = {"colour_harmony": round(harmony, 4), "harmony_kind": kind, "style": round(style, 4)}
        score = weights[0] * harmony + weights[1] * style
        if interest is not None:
            parts["interest"] = round(float(theirs @ interest) / max(float(np.linalg.norm(theirs)), 1e-9), 4)
            score += weights[2] * parts["interest"]
        cards.append(_card(garments[gid], other, score / total, parts))
    return sorted(cards, key=lambda c: -c["score"])[:k]



def text_search(index: CatalogIndex, garments: dict[str, Garment], clip, query: str, k: int = 10) -> list[dict]:
    """Garments whose photos match a text query, by CLIP's cosine (``clip`` must be the index's model)."""
    check_count(k)
    if not query.strip():
        raise InputError("the search text is empty")
    if not index.clip:
        raise InputError(f"the index of {index.folder} has no CLIP embeddings: run tryon catalog index --clip MODEL")
    if index.clip_model != clip.model_id:
        raise InputError(f"the index was made with CLIP {index.clip_model}, not {clip.model_id}: index again with it")
    ids = [gid for gid in index.clip if gid in garments]
    scores = np.stack([index.clip[gid] for gid in ids]) @ clip.text(query)
    order = np.argsort(-scores, kind="stable")[:k]
    return [_card(garments[ids[i]], index.items[ids[i]], float(scores[i]), {"clip": round(float(scores[i]), 4)})
            for i in order]
