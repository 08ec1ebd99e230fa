"""The engine interface: a person photo and a garment photo in, a try-on picture out."""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tryon.category import Category
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.errors import InputError
from tryon.imageio import ImageSource, load_image, load_mask
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer
from tryon.person.keypoints import Keypoints, as_keypoints

#: Grey painted over a user-given mask before anything looks at the photo (VITON-HD's agnostic grey).
MASK_GREY = 128


@dataclass
class TryOnResult:
    """What every engine returns: the picture, and what it did to make it.

    ``region`` is the part of the photo the engine regenerated (255), or None when it regenerates
    the whole picture without a mask (fashn's segmentation-free mode). ``layers`` are debugging
    pictures each engine fills as it likes (``tryon run --debug DIR`` writes them).
    """

    image: np.ndarray  # (H, W, 3) uint8, the person photo's size
    category: Category
    region: np.ndarray | None  # (H, W) uint8, 255 = regenerated
    timings: dict[str, float] = field(default_factory=dict)
    layers: dict[str, np.ndarray] = field(default_factory=dict)

    def debug_layers(self) -> dict[str, np.ndarray]:
        return ({} if self.region is None else {"region": self.region}) | self.layers


@dataclass
class PreparedPerson:
    """The person photo as every engine takes it: loaded within the limits, the user's mask applied
    (its pixels painted grey before anything reads them) and the user's keypoints parsed."""

    image: np.ndarray  # (H, W, 3) uint8; grey under the user's mask
    user_mask: np.ndarray | None  # (H, W) bool, True = regenerate; None = the engine decides
    keypoints: Keypoints | None


def prepare_person(person: ImageSource, mask: ImageSource | np.ndarray | None = None,
                   keypoints: str | dict | Keypoints | None = None) -> PreparedPerson:
    """Load the photo and apply the user's mask and keypoints, or raise :class:`InputError`.

    Pixels under the mask are unknown by contract (that is what makes paired evaluation honest): they
    are overwritten here, before any analysis or model sees the photo."""
    image = load_image(person)
    h, w = image.shape[:2]
    user_mask = None
    if mask is not None:
        user_mask = load_mask(mask) > 0
        if user_mask.shape != (h, w):
            raise InputError(f"the mask is {user_mask.shape[1]}x{user_mask.shape[0]}, the photo {w}x{h}")
        if not user_mask.any():
            raise InputError("the mask is empty: nothing to regenerate")
        image = image.copy()
        image[user_mask] = MASK_GREY
    return PreparedPerson(image, user_mask, as_keypoints(keypoints, w, h))


@dataclass
class TryOnRequest:
    """One try-on, as ``Engine.run`` takes it; a list of them is a batch."""

    person: ImageSource
    garment: ImageSource | None
    category: Category | str = "auto"
    mask: ImageSource | np.ndarray | None = None
    keypoints: str | dict | None = None
    person_analysis: PersonAnalysis | None = None
    garment_analysis: GarmentAnalysis | None = None
    #: The request's own values of options declared per request (a seed, steps), already checked.
    options: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    """A try-on engine. Engines hold their models; ``run`` may be called many times."""

    name: str = ""
    #: The engine's options (its declared options dataclass), as it was built with.
    options: Any = None

    @abc.abstractmethod
    def run(self, person: ImageSource, garment: ImageSource | None, category: Category | str = "auto", *,
            mask: ImageSource | np.ndarray | None = None, keypoints: str | dict | None = None,
            person_analysis: PersonAnalysis | None = None, garment_analysis: GarmentAnalysis | None = None,
            options: dict[str, Any] | None = None) -> TryOnResult:
        """Dress the person in the garment.

        ``category`` is auto, upper, lower or dress. ``mask`` (255 = regenerate) replaces the
        computed agnostic mask; the engine then never reads the person's pixels inside it.
        ``keypoints`` (an OpenPose JSON path or dict) replaces the pose estimate. Analyses that
        the caller already has (a server's cache) skip the engine's own; the garment photo may
        then be None. ``options``: this request's own values of the options declared per request.
        """

    def run_batch(self, requests: list[TryOnRequest]) -> list[TryOnResult]:
        """Several try-ons at once. Engines that batch on a GPU override this; the default loops."""
        return [self.run(r.person, r.garment, r.category, mask=r.mask, keypoints=r.keypoints,
                         person_analysis=r.person_analysis, garment_analysis=r.garment_analysis, options=r.options)
                for r in requests]

    def options_for(self, overrides: dict[str, Any] | None) -> Any:
        """The engine's options with a request's own values on top."""
        return replace(self.options, **overrides) if overrides else self.options

    def option_groups(self, requests: list[TryOnRequest], varying: tuple[str, ...] = ("seed",)
                      ) -> list[tuple[Any, list[int]]]:
        """Requests whose options agree but for ``varying`` (handled per request, like a seed) run as
        one batch: (the group's options, the requests' indices), in the order the groups first appear."""
        groups: dict[Any, list[int]] = {}
        for i, r in enumerate(requests):
            key = replace(self.options_for(r.options), **{k: getattr(self.options, k) for k in varying})
            groups.setdefault(key, []).append(i)
        return list(groups.items())

    def close(self) -> None:
        """Release models (optional)."""


class LazyAnalysers:
    """Person and garment analysers loaded on first use: a caller that passes analyses (the
    server, with its cache) never loads them."""

    _persons: PersonAnalyzer | None = None
    _garments: GarmentAnalyzer | None = None

    @property
    def persons(self) -> PersonAnalyzer:
        if self._persons is None:
            self._persons = PersonAnalyzer()
        return self._persons

    @property
    def garments(self) -> GarmentAnalyzer:
        if self._garments is None:  # garment photos that show a person are analysed by our person analyser
            self._garments = GarmentAnalyzer(persons=lambda: self.persons)
        return self._garments

    def analysed_person(self, request: TryOnRequest, prepared: PreparedPerson, analyses: dict) -> PersonAnalysis:
        """The request's person analysis: the one given, or computed once per photo in a batch
        (``analyses`` lives for one batch: several garments on one person analyse it once)."""
        if request.person_analysis is not None:
            return request.person_analysis
        person = request.person
        key = (str(person) if isinstance(person, (str, os.PathLike)) else id(person),
               None if request.keypoints is None else id(request.keypoints))
        if key not in analyses:
            analyses[key] = self.persons.analyze(prepared.image, keypoints=prepared.keypoints)
        return analyses[key]

    def close_analysers(self) -> None:
        if self._persons is not None:
            self._persons.close()
        if self._garments is not None:
            self._garments.close()
