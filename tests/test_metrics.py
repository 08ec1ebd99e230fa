"""Image metrics against scikit-image's reference implementation, and their basic properties."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tryon.metrics.image import ms_ssim, psnr, ssim


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (256, 192, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_ssim_matches_scikit_image(pair):
    a, b = pair
    ref = structural_similarity(a / 255, b / 255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                data_range=1.0, channel_axis=2)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-9)


def test_psnr_matches_scikit_image(pair):
    a, b = pair
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a / 255, b / 255, data_range=1.0), abs=1e-9)


def test_identity_and_ordering(pair):
    a, b = pair
    assert ssim(a, a) == pytest.approx(1.0) and ms_ssim(a, a) == pytest.approx(1.0) and psnr(a, a) == float("inf")
    worse = np.clip(a.astype(int) + np.random.default_rng(1).integers(-90, 90, a.shape), 0, 255).astype(np.uint8)
    assert ssim(a, worse) < ssim(a, b) and ms_ssim(a, worse) < ms_ssim(a, b) and psnr(a, worse) < psnr(a, b)
    with pytest.raises(ValueError):
        ssim(a, a[:100])
