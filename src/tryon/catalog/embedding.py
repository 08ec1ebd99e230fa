"""One vector per garment, computed on its mask, for similar search and "complete the look".

The vector joins four parts, each of unit length, scaled so that the inner product of two vectors
is a weighted sum of the parts' cosine similarities (the weights in :class:`EmbeddingParams`):

- **image**: the FID Inception network's 2048-d features of the garment cut out on white, at
  :attr:`EmbeddingParams.image_side` px (:mod:`tryon.metrics.inception`, the one image network a
  registry package ships), projected to
  256 dimensions by a fixed random Gaussian matrix (Johnson-Lindenstrauss: cosines survive within
  a few hundredths, and a 100,000-garment index stays small and fast);
- **colour**: a CIELAB histogram of the garment's pixels (square-rooted, so the inner product is the
  Bhattacharyya coefficient of the two colour distributions);
- **category**: upper, lower or dress: one-hot when it is known (the shop's metadata, or the parse of
  a person wearing the garment), else the silhouette detector's probabilities
  (:func:`tryon.garment.shape.category_probabilities`), square-rooted so that the part's cosine is
  the Bhattacharyya coefficient of the two garments' category distributions;
- **pattern**: how busy the garment is (edge density, lightness spread, colour entropy).

Product photos are analysed (mask, category) at :attr:`EmbeddingParams.analysis_side` px a side,
the size every part of the vector is computed at: the same garment uploaded or re-encoded at
another size gives nearly the same mask, and analysing the evalset's 82 garments takes 30 % less
CPU than at their own size (18.6 s against 26.5 s; the segmentation network and the check for a
person wearing the garment see a fixed size either way).

When the index holds CLIP image embeddings (``tryon catalog index --clip``), similar search takes
its image part from them instead of the Inception features (:class:`tryon.catalog.index.CatalogIndex`,
:meth:`EmbeddingParams.layout`); the other parts and the weights stay.

The palette (dominant colours and their shares) is kept beside the vector for "complete the look".
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from tryon.category import Category
from tryon.colour import to_lab
from tryon.metrics.fidelity import FidelityParams, palette

CATEGORIES = (Category.UPPER, Category.LOWER, Category.DRESS)


@dataclass(frozen=True)
class EmbeddingParams:
    """How the vector is made; any change makes a new embedding model (indexes are rebuilt)."""

    image_dims: int = 256  # the Inception features' random projection
    #: The Inception network's input side for the image part: 224 takes half the time of FID's 299
    #: (0.15 s against 0.30 s per garment on one CPU thread here), which is most of a catalog's
    #: indexing time (figures for both in docs/measured.md).
    image_side: int = 224
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
    #: Photos are shrunk to this many px a side before they are analysed and embedded.
    analysis_side: int = 512
    #: A detected category enters the vector as the detector's probabilities rather than one-hot: a
    #: garment near the edge between two categories (a long top, a tunic) matches both a little
    #: instead of one fully, and its re-encoded copy, which may fall just on the other side of the
    #: edge, still matches it. A given category is always one-hot.
    soft_category: bool = True
    #: Garment pixels the palette's k-means sees (evenly strided): a quarter of the time of the
    #: evaluation's 20,000 (1.0 s against 4.4 s for the evalset's garments), and the main colour moves
    #: as much as when those 20,000 are taken one pixel further on (evalset garments: median 0.3
    #: CIEDE2000, 90th percentile 2.4 against 2.7, over 5 for 3 of 80 garments either way).
    palette_sample: int = 5000
    version: int = 3  # 3: straight dresses told from long skirts by the neckline; a print is not its tee

    @property
    def model_id(self) -> str:
        """Names the embedding: an index built with another one is rebuilt."""
        return "inception-2015-12-05/" + ",".join(f"{k}={v}" for k, v in asdict(self).items())

    @property
    def parts(self) -> dict[str, tuple[int, int, float]]:
        """Each part's (start, end, weight) in the stored vector (the Inception image part)."""
        return self.layout()

    def layout(self, image_dims: int | None = None) -> dict[str, tuple[int, int, float]]:
        """Each part's (start, end, weight) in a vector whose image part has ``image_dims`` dimensions
        (a CLIP image embedding's, when similar search uses CLIP; default: the Inception projection's)."""
        sizes = {"image": image_dims or self.image_dims, "colour": self.colour_bins**3, "category": len(CATEGORIES),
                 "pattern": 3}
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


#: The segmentation network's threads in each analyser the embedder makes for itself (one: the
#: catalog index analyses photos on :data:`ANALYSIS_WORKERS` threads beside the image network).
ANALYSIS_THREADS: int | None = 1

#: Threads analysing photos while the image network runs, each with its own analyser (they are not
#: thread-safe), when the embedder makes its own. Two: the analysis is the slower half (about 24 s of
#: CPU for the evalset's 82 garments against 12 s for the network), and with one analysing thread a
#: core sat idle whenever the network waited for it. Indexing those garments here: 30.0 and 31.5 s
#: with one, 25.9 and 26.3 s with two (runs alternated on a quiet machine).
ANALYSIS_WORKERS = 2

#: Images per forward pass of the Inception network here: on one CPU thread (the catalog index's
#: pipeline, :data:`tryon.catalog.index.PIPELINE_TORCH_THREADS`) at 299 px, 0.21 s per image against
#: 0.26 s in passes of 16 (the activations of 4 stay in cache).
INCEPTION_BATCH = 4


class GarmentEmbedder:
    """Embeds product photos. Analysers are loaded once and lent to one thread at a time (they are
    not thread-safe): the one given, or up to :data:`ANALYSIS_WORKERS` of its own, made as threads
    ask for them. The Inception network is loaded once when it is first needed (so that a catalog
    index analyses its first photos meanwhile)."""

    def __init__(self, params: EmbeddingParams = EmbeddingParams(), analyzer=None, features=None):
        self.params = params
        self._given, self._features = analyzer, features
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._made: list = []
        if analyzer is not None:
            self._idle.put(analyzer)
        self._lock = threading.Lock()
        from tryon.metrics.inception import DIMS

        rng = np.random.default_rng(params.projection_seed)
        self.projection = rng.normal(size=(DIMS, params.image_dims)) / np.sqrt(params.image_dims)

    @property
    def analysis_workers(self) -> int:
        """How many threads can analyse at once: one with a given (shared) analyser."""
        return 1 if self._given is not None else ANALYSIS_WORKERS

    @contextmanager
    def _analyzer(self):
        """An analyser for this thread alone while the block runs: an idle one, a new one while
        fewer than :attr:`analysis_workers` exist, else the next one given back."""
        try:
            analyzer = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                make = len(self._made) < self.analysis_workers and self._given is None
                if make:
                    from tryon.garment.analyzer import GarmentAnalyzer

                    analyzer = GarmentAnalyzer(threads=ANALYSIS_THREADS)
                    self._made.append(analyzer)
            if not make:
                analyzer = self._idle.get()
        try:
            yield analyzer
        finally:
            self._idle.put(analyzer)

    def close(self) -> None:
        """Closes the analysers the embedder made (not a given one)."""
        for analyzer in self._made:
            analyzer.close()
        self._made.clear()

    @property
    def features(self):
        """The image network (:class:`tryon.metrics.inception.InceptionFeatures`), loaded on first use."""
        with self._lock:
            if self._features is None:
                from tryon.metrics.inception import InceptionFeatures

                self._features = InceptionFeatures(batch=INCEPTION_BATCH, side=self.params.image_side)
            return self._features

    def embed(self, image: np.ndarray, category: Category | str | None = None) -> GarmentEmbedding:
        """The vector of a product photo (a photo that is not a usable garment raises TryOnError)."""
        return self.embed_analysed([self.analyse(image, category)])[0]

    def analyse(self, image: np.ndarray, category: Category | str | None = None) -> Analysed:
        """A product photo's (image, mask, category) for :meth:`embed_analysed`, analysed at
        ``analysis_side`` px a side. The category is the given one, or the parse's for a photo of
        someone wearing the garment; else the detector's probabilities (``soft_category``)."""
        image = _shrink_image(image, self.params.analysis_side)
        with self._analyzer() as analyzer:
            garment = analyzer.analyze(image, category)
        given = category is not None and str(category).lower() != "auto"
        worn = getattr(garment, "worn_photo", None) is not None  # cut out along a wearer's parse
        if self.params.soft_category and not given and not worn:  # detected from the silhouette
            from tryon.garment.shape import category_probabilities

            return garment.image, garment.mask, category_probabilities(garment.mask > 127)
        return garment.image, garment.mask, garment.category

    def embed_analysed(self, garments: list[Analysed]) -> list[GarmentEmbedding]:
        """Vectors of garments whose masks and categories are known (product photos' or worn ones'),
        the Inception network running once for all of them (faster per garment than one by one).
        A category is a :class:`Category` (certain) or probabilities by category (detected)."""
        return self.finish([self.prepare(garment) for garment in garments])

    def prepare(self, garment: Analysed) -> Prepared:
        """Everything of a garment's vector but the image network's part: what a second thread can do
        while the network runs (:meth:`finish`)."""
        from tryon.metrics.inception import clean_resize

        p = self.params
        image, mask = _shrink(garment[0], garment[1], p.analysis_side)
        lab = to_lab(image[mask > 127])
        centres, shares = palette(lab, FidelityParams(sample=p.palette_sample))
        # The network's input, resized here (on the analysing thread, not the network's).
        return Prepared(clean_resize(cutout(image, mask, p.crop_margin), p.image_side), {
            "colour": colour_histogram(lab, p.colour_bins),
            "category": category_part(garment[2]),
            "pattern": _unit(pattern_stats(image, mask, lab) + 1e-6),
        }, most_likely(garment[2]), [(c.round(2).tolist(), round(float(s), 4)) for c, s in zip(centres, shares)])

    def finish(self, prepared: list[Prepared]) -> list[GarmentEmbedding]:
        """The vectors of prepared garments: the image network runs once for all of them."""
        features = self.features([g.network_input for g in prepared]) if prepared else []
        out = []
        for g, feature in zip(prepared, features):
            parts = {"image": _unit(feature @ self.projection), **g.parts}
            vector = np.concatenate([np.sqrt(w) * parts[name] for name, (_, _, w) in self.params.parts.items()])
            out.append(GarmentEmbedding(vector.astype(np.float32), g.category, g.palette))
        return out


@dataclass
class Prepared:
    """A garment ready for the image network (:meth:`GarmentEmbedder.prepare`)."""

    network_input: np.ndarray  # the cut-out on white, resized for the network (float32, image_side square, 3)
    parts: dict[str, np.ndarray]  # the other parts of the vector, unit length, unweighted
    category: Category
    palette: list[tuple[list[float], float]]


#: A garment as :meth:`GarmentEmbedder.embed_analysed` takes it: RGB photo, mask (uint8, 255 =
#: garment) and category, certain or as probabilities.
Analysed = tuple[np.ndarray, np.ndarray, "Category | str | Mapping[Category, float]"]


def category_part(category: Category | str | Mapping[Category, float]) -> np.ndarray:
    """The category part: one-hot for a category, the square roots of probabilities (unit length)."""
    if isinstance(category, Mapping):
        return _unit(np.sqrt(np.clip([float(category.get(c, 0.0)) for c in CATEGORIES], 0.0, None)))
    return np.eye(len(CATEGORIES))[CATEGORIES.index(Category.parse(category))]


def most_likely(category: Category | str | Mapping[Category, float]) -> Category:
    """The category, or the most probable one."""
    if isinstance(category, Mapping):
        return max(CATEGORIES, key=lambda c: float(category.get(c, 0.0)))  # ties: the first of CATEGORIES
    return Category.parse(category)


def _shrink_image(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _shrink(image: np.ndarray, mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its mask at most ``side`` px a side: every part of the vector is about shapes and
    colours that survive it, and it is what keeps embedding a photo well under half a second."""
    return _shrink_image(image, side), _shrink_image(mask, side)


def part_similarities(a: np.ndarray, b: np.ndarray, layout: dict[str, tuple[int, int, float]] | None = None
                      ) -> dict[str, float]:
    """Each part's cosine similarity between two vectors (what a similarity score is made of);
    ``layout``: the vectors' parts (:meth:`EmbeddingParams.layout`, default the stored vectors')."""
    out = {}
    for name, (start, end, weight) in (layout or EmbeddingParams().parts).items():
        out[name] = round(float(a[start:end] @ b[start:end]) / weight, 4) if weight > 0 else 0.0
    return out
