"""One vector per garment, computed on its mask, for similar search and "complete the look".

The vector joins four parts, each of unit length, scaled so that the inner product of two vectors
is a weighted sum of the parts' cosine similarities (the weights in :class:`EmbeddingParams`):

- **image**: the FID Inception network's 2048-d features of the garment cut out on white
  (:mod:`tryon.metrics.inception`, the one image network a registry package ships), projected to
  256 dimensions by a fixed random Gaussian matrix (Johnson-Lindenstrauss: cosines survive within
  a few hundredths, and a 100,000-garment index stays small and fast);
- **colour**: a CIELAB histogram of the garment's pixels (square-rooted, so the inner product is the
  Bhattacharyya coefficient of the two colour distributions);
- **category**: upper, lower or dress, one-hot;
- **pattern**: how busy the garment is (edge density, lightness spread, colour entropy).

The palette (dominant colours and their shares) is kept beside the vector for "complete the look".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from tryon.category import Category
from tryon.metrics.fidelity import FidelityParams, palette, to_lab

CATEGORIES = (Category.UPPER, Category.LOWER, Category.DRESS)


@dataclass(frozen=True)
class EmbeddingParams:
    """How the vector is made; any change makes a new embedding model (indexes are rebuilt)."""

    image_dims: int = 256  # the Inception features' random projection
    projection_seed: int = 20260101
    colour_bins: int = 4  # per CIELAB axis
    # Squared weights of the parts (they sum to 1): the inner product of two vectors is
    # sum(weight * cosine of the part). The category's weight puts garments of the query's category
    # first (tuned on the evalset's tuning half: benchmarks/catalog_search.py reports both halves).
    image_weight: float = 0.45
    colour_weight: float = 0.2
    category_weight: float = 0.3
    pattern_weight: float = 0.05
    crop_margin: float = 0.05  # white margin around the cut-out garment, share of its larger side
    analysis_side: int = 512  # photos are shrunk to this many px a side first
    version: int = 1

    @property
    def model_id(self) -> str:
        """Names the embedding: an index built with another one is rebuilt."""
        return "inception-2015-12-05/" + ",".join(f"{k}={v}" for k, v in asdict(self).items())

    @property
    def parts(self) -> dict[str, tuple[int, int, float]]:
        """Each part's (start, end, weight) in the vector."""
        sizes = {"image": self.image_dims, "colour": self.colour_bins**3, "category": len(CATEGORIES), "pattern": 3}
        weights = {"image": self.image_weight, "colour": self.colour_weight, "category": self.category_weight,
                   "pattern": self.pattern_weight}
        out, start = {}, 0
        for name, size in sizes.items():
            out[name] = (start, start + size, weights[name])
            start += size
        return out

    @property
    def dims(self) -> int:
        return max(end for _, end, _ in self.parts.values())


@dataclass
class GarmentEmbedding:
    vector: np.ndarray  # float32, unit length
    category: Category
    palette: list[tuple[list[float], float]]  # dominant CIELAB colours and their shares


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def cutout(image: np.ndarray, mask: np.ndarray, margin: float) -> np.ndarray:
    """The garment on white, cropped to its box with a margin, on a square canvas."""
    keep = mask > 127
    ys, xs = np.nonzero(keep)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = int(max(y1 - y0, x1 - x0) * (1 + 2 * margin))
    canvas = np.full((side, side, 3), 255, np.uint8)
    oy, ox = (side - (y1 - y0)) // 2, (side - (x1 - x0)) // 2
    crop = np.where(keep[y0:y1, x0:x1, None], image[y0:y1, x0:x1], 255)
    canvas[oy:oy + y1 - y0, ox:ox + x1 - x0] = crop
    return canvas


def colour_histogram(lab: np.ndarray, bins: int) -> np.ndarray:
    """Square-rooted, unit-length CIELAB histogram of pixels (N, 3)."""
    edges = (np.linspace(0, 100, bins + 1)[1:-1], np.linspace(-80, 80, bins + 1)[1:-1], np.linspace(-80, 80, bins + 1)[1:-1])
    idx = sum(np.digitize(lab[:, c], edges[c]) * bins ** (2 - c) for c in range(3))
    hist = np.bincount(idx, minlength=bins**3).astype(np.float64)
    return _unit(np.sqrt(hist / max(hist.sum(), 1.0)))


def pattern_stats(image: np.ndarray, mask: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """(edge density, lightness spread, colour entropy) of the garment, each about 0..1."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)) > 127
    edges = cv2.Canny(grey, 60, 160) > 0
    density = float(edges[inner].mean()) if inner.any() else 0.0
    spread = float(np.std(lab[:, 0])) / 30.0
    hist = colour_histogram(lab, 4) ** 2
    entropy = float(-(hist[hist > 0] * np.log(hist[hist > 0])).sum() / np.log(64))
    return np.array([min(density * 5, 1.0), min(spread, 1.0), entropy])


class GarmentEmbedder:
    """Embeds product photos; loads the garment analyser and the Inception network once."""

    def __init__(self, params: EmbeddingParams = EmbeddingParams(), analyzer=None, features=None):
        self.params = params
        if analyzer is None:
            from tryon.garment.analyzer import GarmentAnalyzer

            analyzer = GarmentAnalyzer()
        if features is None:
            from tryon.metrics.inception import InceptionFeatures

            features = InceptionFeatures()
        self.analyzer, self.features = analyzer, features
        from tryon.metrics.inception import DIMS

        rng = np.random.default_rng(params.projection_seed)
        self.projection = rng.normal(size=(DIMS, params.image_dims)) / np.sqrt(params.image_dims)

    def embed(self, image: np.ndarray, category: Category | str | None = None) -> GarmentEmbedding:
        """The vector of a product photo (a photo that is not a usable garment raises TryOnError)."""
        garment = self.analyzer.analyze(image, category)
        return self.embed_analysed([(garment.image, garment.mask, garment.category)])[0]

    def embed_analysed(self, garments: list[tuple[np.ndarray, np.ndarray, Category]]) -> list[GarmentEmbedding]:
        """Vectors of garments whose masks and categories are known (product photos' or worn ones'),
        the Inception network running once for all of them (faster per garment than one by one)."""
        p = self.params
        small = [_shrink(image, mask, p.analysis_side) for image, mask, _ in garments]
        features = self.features([cutout(image, mask, p.crop_margin) for image, mask in small])
        out = []
        for (image, mask), feature, (_, _, category) in zip(small, features, garments):
            lab = to_lab(image[mask > 127])
            parts = {
                "image": _unit(feature @ self.projection),
                "colour": colour_histogram(lab, p.colour_bins),
                "category": np.eye(len(CATEGORIES))[CATEGORIES.index(Category.parse(category))],
                "pattern": _unit(pattern_stats(image, mask, lab) + 1e-6),
            }
            vector = np.concatenate([np.sqrt(w) * parts[name] for name, (_, _, w) in p.parts.items()])
            centres, shares = palette(lab, FidelityParams())
            out.append(GarmentEmbedding(vector.astype(np.float32), Category.parse(category),
                                        [(c.round(2).tolist(), round(float(s), 4)) for c, s in zip(centres, shares)]))
        return out


def _shrink(image: np.ndarray, mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its mask at most ``side`` px a side: every part of the vector is about shapes and
    colours that survive it, and it is what keeps embedding a photo well under half a second."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image, mask
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return (cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            cv2.resize(mask, size, interpolation=cv2.INTER_AREA))


def part_similarities(a: np.ndarray, b: np.ndarray, params: EmbeddingParams = EmbeddingParams()) -> dict[str, float]:
    """Each part's cosine similarity between two vectors (what a similarity score is made of)."""
    out = {}
    for name, (start, end, weight) in params.parts.items():
        out[name] = round(float(a[start:end] @ b[start:end]) / weight, 4) if weight > 0 else 0.0
    return out
