"""A garment catalog served from a folder (:mod:`tryon.catalog.folder`): the shop's product
photos with their names and prices, offered by id, with thumbnails made once."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2

from tryon.catalog.folder import Garment, read_catalog
from tryon.errors import InputError, ModelUnavailableError, NoPersonError, TryOnError
from tryon.imageio import encode_image, load_image

THUMBNAIL_SIDE = 256


class UnknownGarmentError(InputError):
    """No garment with that id in the catalog."""


class NotIndexedError(TryOnError):
    """The catalog (or this garment) has no search index yet: ``tryon catalog index`` makes it."""


class NoOutfitError(InputError):
    """The person photo shows no garment to complete the look of."""


class Catalog:
    def __init__(self, folder: str | Path | None, clip: str | None = None):
        self.folder = None if folder is None else Path(folder)
        self.clip_source = clip  # text search's CLIP model, loaded on first use
        self._clip = None
        self._items: dict[str, Garment] = read_catalog(self.folder) if self.folder is not None else {}
        self._thumbs: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._index = None  # the search index, loaded on first use
        self._outfits = None  # (person analyser, garment embedder) for person photos, loaded on first use
        self._outfit_lock = threading.Lock()  # the analysers are used by one request at a time

    def __len__(self) -> int:
        return len(self._items)

    def list(self) -> list[Garment]:
        return list(self._items.values())

    def get(self, garment_id: str) -> Garment:
        try:
            return self._items[garment_id]
        except KeyError:
            raise UnknownGarmentError(f"no garment {garment_id!r} in the catalog") from None

    def thumbnail(self, garment_id: str) -> bytes:
        """A WebP of at most 256 px a side, made once per garment."""
        item = self.get(garment_id)
        with self._lock:
            if garment_id in self._thumbs:
                return self._thumbs[garment_id]
        image = load_image(item.path)
        h, w = image.shape[:2]
        scale = THUMBNAIL_SIDE / max(h, w)
        if scale < 1:
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        data = encode_image(image, "webp", quality=85)
        with self._lock:
            self._thumbs[garment_id] = data
        return data

    def _loaded_index(self):
        """The catalog's stored index (:mod:`tryon.catalog.index`), loaded once; 409 when it is empty."""
        with self._lock:
            if self._index is None:
                try:
                    from tryon.catalog.index import CatalogIndex

                    self._index = CatalogIndex.load(self.folder)
                except ImportError as exc:
                    raise ModelUnavailableError(f"catalog search needs the 'catalog' extra ({exc.name} missing)") from None
        if not len(self._index):
            raise NotIndexedError(f"the catalog has no search index: run tryon catalog index {self.folder}")
        return self._index

    def _search_index(self, garment_id: str):
        """The index, which must hold ``garment_id``."""
        self.get(garment_id)
        index = self._loaded_index()
        if garment_id not in index.items:
            raise NotIndexedError(f"garment {garment_id!r} is not in the catalog's search index: run "
                                  f"tryon catalog index {self.folder}")
        return index

    def similar(self, garment_id: str, k: int) -> list[dict]:
        """Garments like this one, best first, each score's parts (see :mod:`tryon.catalog.recommend`)."""
        from tryon.catalog.recommend import similar

        try:
            return similar(self._search_index(garment_id), self._items, garment_id, k)
        except ImportError as exc:
            raise ModelUnavailableError(f"catalog search needs the 'catalog' extra ({exc.name} missing)") from None

    def goes_with(self, garment_id: str, k: int, liked: tuple[str, ...] = ()) -> list[dict]:
        """Garments that complete the look of this one, best first, each score explained."""
        from tryon.catalog.recommend import goes_with

        index = self._search_index(garment_id)
        for other in liked:
            self._search_index(other)
        return goes_with(index, self._items, garment_id, k, liked)

    def goes_with_outfit(self, photo: bytes, wearing: str | None, k: int, liked: tuple[str, ...] = ()) -> dict:
        """What goes with the garment a person wears in ``photo`` (the most visible one, or ``wearing``)."""
        from tryon.catalog.recommend import goes_with_outfit, worn_garment

        for other in liked:
            self._search_index(other)
        index = self._loaded_index()
        with self._outfit_lock:
            if self._outfits is None:
                try:
                    from tryon.catalog.embedding import GarmentEmbedder
                    from tryon.person.analyzer import PersonAnalyzer

                    self._outfits = (PersonAnalyzer(), GarmentEmbedder(index.params))
                except ImportError as exc:
                    raise ModelUnavailableError(f"outfits need the 'catalog' extra ({exc.name} missing)") from None
            persons, embedder = self._outfits
            image = load_image(photo)
            try:
                worn = worn_garment(image, persons, embedder, wearing)
            except NoPersonError:
                raise
            except InputError as exc:  # no garment large enough, or a parse that falls apart
                raise NoOutfitError(str(exc)) from None
        return {"wearing": worn.category.value, "garments": goes_with_outfit(index, self._items, worn, k, liked)}

    def search(self, query: str, k: int) -> list[dict]:
        """Garments matching a text query (CLIP), best first."""
        from tryon.catalog.recommend import text_search

        if self.clip_source is None:
            raise NotIndexedError("text search is off: index the catalog with tryon catalog index --clip MODEL and "
                                  "start the server with --clip MODEL")
        index = self._loaded_index()
        with self._outfit_lock:
            if self._clip is None:
                from tryon.catalog.clip import ClipEncoder

                self._clip = ClipEncoder(self.clip_source)
            try:
                return text_search(index, self._items, self._clip, query, k)
            except InputError as exc:
                if not query.strip():
                    raise
                raise NotIndexedError(str(exc)) from None
