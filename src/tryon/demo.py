"""Inputs that ship with the installation, for `tryon demo`."""

from __future__ import annotations

import numpy as np

from tryon.errors import TryOnError


def demo_person() -> np.ndarray:
    """scikit-image's astronaut.png (public domain, NASA), bundled in the scikit-image wheel."""
    try:
        from skimage import data
    except ImportError:
        raise TryOnError("the demo photo comes with scikit-image: pip install 'tryon[demo]'") from None
    return np.ascontiguousarray(data.astronaut())
