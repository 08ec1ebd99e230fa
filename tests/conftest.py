"""Shared fixtures: the evaluation photos and analysers loaded once per session.

Tests that need the evalset skip with a reason when it is missing, except under CI=true, where
a missing evalset is a failure (CI must never pass by skipping).
"""

from __future__ import annotations

import os
import warnings

import pytest

from tryon.data.evalset import Evalset, find_evalset

warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")


@pytest.fixture(scope="session")
def evalset() -> Evalset:
    root = find_evalset()
    if root is None:
        message = "evalset not found: set TRYON_EVALSET to the folder holding manifest.csv (../shared/evalset)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return Evalset(root)


@pytest.fixture(scope="session")
def person_analyzer():
    from tryon.person.analyzer import PersonAnalyzer

    analyzer = PersonAnalyzer()
    yield analyzer
    analyzer.close()


@pytest.fixture(scope="session")
def garment_analyzer():
    from tryon.garment.analyzer import GarmentAnalyzer

    return GarmentAnalyzer()


@pytest.fixture(scope="session")
def garment_analysis(garment_analyzer):
    """``garment_analyzer.analyze(path)`` (category auto) of a photo, made once per session: several tests
    read the same evalset garments (a U²-Net mask is half a second). Shared, so its arrays are read-only."""
    done = {}

    def analysis(path):
        key = str(path)
        if key not in done:
            result = garment_analyzer.analyze(path)
            for array in (result.image, result.mask, result.worn_photo):
                if array is not None:
                    array.flags.writeable = False
            done[key] = result
        return done[key]

    return analysis


@pytest.fixture(scope="session")
def vitonhd_person(evalset):
    """A VITON-HD studio photo with a reference agnostic mask (ground-truth pair 00055_00)."""
    return next(e for e in evalset.of_kind("person") if e.pair_id == "00055_00")


@pytest.fixture(scope="session")
def person_analysis(person_analyzer):
    """``person_analyzer.analyze(path)`` of a photo, made once per session: the engine, person and
    flat-lay tests read the same evalset persons. Shared, so its arrays are read-only."""
    done = {}

    def analysis(path):
        key = str(path)
        if key not in done:
            result = person_analyzer.analyze(path)
            for array in (result.image, result.person_mask, result.parse, result.keypoints.xy,
                          result.keypoints.confidence):
                array.flags.writeable = False
            done[key] = result
        return done[key]

    return analysis


@pytest.fixture(scope="session")
def vitonhd_analysis(person_analysis, vitonhd_person):
    return person_analysis(vitonhd_person.path)
