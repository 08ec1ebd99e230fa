"""Paired image metrics: SSIM, MS-SSIM and PSNR on RGB images scaled to [0, 1].

SSIM follows the convention try-on papers quote through pytorch-msssim: an 11-tap Gaussian
window with sigma 1.5, K1 = 0.01, K2 = 0.03, computed per channel over the valid region (no
padding) and averaged. MS-SSIM uses the five standard scales and weights of Wang et al. (2003)
with 2x2 average pooling between scales, exactly as pytorch-msssim (tested against it).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

_SIGMA = 1.5
_RADIUS = 5  # 11-tap window
_C1, _C2 = 0.01**2, 0.03**2
_MS_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def to_unit(image: np.ndarray) -> np.ndarray:
    """uint8 (or [0, 1] float) RGB -> float64 in [0, 1]."""
    a = np.asarray(image)
    return a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def _blur(x: np.ndarray) -> np.ndarray:
    return gaussian_filter(x, sigma=_SIGMA, truncate=_RADIUS / _SIGMA, mode="reflect")


def _ssim_maps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel SSIM and contrast-structure maps of one channel, valid region only."""
    mu_a, mu_b = _blur(a), _blur(b)
    var_a = _blur(a * a) - mu_a**2
    var_b = _blur(b * b) - mu_b**2
    cov = _blur(a * b) - mu_a * mu_b
    cs = (2 * cov + _C2) / (var_a + var_b + _C2)
    lum = (2 * mu_a * mu_b + _C1) / (mu_a**2 + mu_b**2 + _C1)
    r = _RADIUS
    crop = (slice(r, -r), slice(r, -r))
    return (lum * cs)[crop], cs[crop]


def _check(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = to_unit(a), to_unit(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape} vs {b.shape}")
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    return a, b


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _check(a, b)
    return float(np.mean([_ssim_maps(a[..., c], b[..., c])[0].mean() for c in range(a.shape[2])]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _check(a, b)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def _pool(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling as pytorch-msssim does it: an odd side is zero-padded by one pixel on both
    ends first, and the zeros count in the average (``avg_pool2d``'s default)."""
    x = np.pad(x, [(1, 1) if side % 2 else (0, 0) for side in x.shape[:2]])
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _check(a, b)
    if min(a.shape[:2]) < (2 * _RADIUS + 1) * 2 ** (len(_MS_WEIGHTS) - 1):
        raise ValueError("image too small for 5-scale MS-SSIM (needs sides of at least 176 px)")
    per_channel = []
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]
        values = []
        for scale in range(len(_MS_WEIGHTS)):
            s, cs = _ssim_maps(x, y)
            values.append(s.mean() if scale == len(_MS_WEIGHTS) - 1 else cs.mean())
            x, y = _pool(x), _pool(y)
        values = np.maximum(np.array(values), 0.0)
        per_channel.append(float(np.prod(values**_MS_WEIGHTS)))
    return float(np.mean(per_channel))
