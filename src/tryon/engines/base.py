"""The engine interface: a person photo and a garment photo in, a try-on picture out."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from tryon.category import Category
from tryon.garment.analyzer import GarmentAnalysis, GarmentAnalyzer
from tryon.imageio import ImageSource
from tryon.person.analyzer import PersonAnalysis, PersonAnalyzer

#: Grey painted over a user-given mask before anything looks at the photo (VITON-HD's agnostic grey).
MASK_GREY = 128


@dataclass
class TryOnResult:
    """The picture and the layers that produced it (for debugging and evaluation)."""

    image: np.ndarray  # (H, W, 3) uint8, the person photo's size
    category: Category
    agnostic_mask: np.ndarray  # (H, W) uint8, 255 = regenerated region
    warped_garment: np.ndarray  # (H, W, 3) uint8, the garment moved onto the body
    warped_mask: np.ndarray  # (H, W) uint8, 255 = where the warped garment is
    timings: dict[str, float] = field(default_factory=dict)

    def debug_layers(self) -> dict[str, np.ndarray]:
        return {"agnostic-mask": self.agnostic_mask, "warped-garment": self.warped_garment,
                "warped-mask": self.warped_mask}


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


class Engine(abc.ABC):
    """A try-on engine. Engines hold their models; ``run`` may be called many times."""

    name: str = ""
    #: How many requests ``run_batch`` handles at once to advantage (GPU engines: more than 1).
    max_batch: int = 1

    @abc.abstractmethod
    def run(self, person: ImageSource, garment: ImageSource | None, category: Category | str = "auto", *,
            mask: ImageSource | np.ndarray | None = None, keypoints: str | dict | None = None,
            person_analysis: PersonAnalysis | None = None, garment_analysis: GarmentAnalysis | None = None
            ) -> TryOnResult:
        """Dress the person in the garment.

        ``category`` is auto, upper, lower or dress. ``mask`` (255 = regenerate) replaces the
        computed agnostic mask; the engine then never reads the person's pixels inside it.
        ``keypoints`` (an OpenPose JSON path or dict) replaces the pose estimate. Analyses that
        the caller already has (a server's cache) skip the engine's own; the garment photo may
        then be None.
        """

    def run_batch(self, requests: list[TryOnRequest]) -> list[TryOnResult]:
        """Several try-ons at once. Engines that batch on a GPU override this; the default loops."""
        return [self.run(r.person, r.garment, r.category, mask=r.mask, keypoints=r.keypoints,
                         person_analysis=r.person_analysis, garment_analysis=r.garment_analysis)
                for r in requests]

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
        if self._garments is None:
            self._garments = GarmentAnalyzer()
        return self._garments

    def close_analysers(self) -> None:
        if self._persons is not None:
            self._persons.close()
