"""LPIPS (Zhang et al. 2018) on the backbone the user brings: AlexNet, SqueezeNet 1.1 or VGG-16.

No package ships the backbones' ImageNet weights, and papers differ in which one they use (CatVTON
SqueezeNet through torchmetrics, LaDI-VTON AlexNet), so the backbone is loaded from a file, a
folder or a hub id holding torchvision's published state dict (``alexnet-owt-7be5be79.pth``,
``squeezenet1_1-b8a52dc0.pth``, ``vgg16-397923af.pth``), and every result names it with its
SHA-256. The linear heads (v0.1) come from the ``lpips`` wheel through :mod:`tryon.assets`.

The backbones are declared here as layer tables in torchvision's order, so their state dicts load
unchanged without torchvision (whose compiled operators must match the installed torch build).
The LPIPS arithmetic is tested against the ``lpips`` package itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tryon import assets
from tryon.errors import ModelUnavailableError

#: LPIPS' input normalisation of [-1, 1] images (its ScalingLayer).
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: Keeps the channel normalisation finite on all-zero features (as LPIPS does).
NORM_EPS = 1e-10
_WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


@dataclass(frozen=True)
class Backbone:
    """One LPIPS backbone: torchvision's ``features`` layers as a table, and where LPIPS taps them."""

    name: str  # LPIPS' name: alex, squeeze, vgg
    torchvision: str  # the torchvision model
    file: str  # torchvision's published weights file
    layers: tuple[tuple, ...]  # ("conv", in, out, kernel, stride, padding) | ("relu",) | ("pool", ceil) | ("fire", in, squeeze, expand)
    taps: tuple[int, ...]  # LPIPS compares the output of features[:tap] for each tap


def _vgg16_layers() -> tuple[tuple, ...]:
    layers: list[tuple] = []
    channels = 3
    for width in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512):
        if width == "M":
            layers.append(("pool", 2, 2, False))
        else:
            layers += [("conv", channels, width, 3, 1, 1), ("relu",)]
            channels = width
    return tuple(layers)


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        Backbone("alex", "alexnet", "alexnet-owt-7be5be79.pth",
                 (("conv", 3, 64, 11, 4, 2), ("relu",), ("pool", 3, 2, False), ("conv", 64, 192, 5, 1, 2), ("relu",),
                  ("pool", 3, 2, False), ("conv", 192, 384, 3, 1, 1), ("relu",), ("conv", 384, 256, 3, 1, 1),
                  ("relu",), ("conv", 256, 256, 3, 1, 1), ("relu",)),
                 (2, 5, 8, 10, 12)),
        Backbone("squeeze", "squeezenet1_1", "squeezenet1_1-b8a52dc0.pth",
                 (("conv", 3, 64, 3, 2, 0), ("relu",), ("pool", 3, 2, True), ("fire", 64, 16, 64), ("fire", 128, 16, 64),
                  ("pool", 3, 2, True), ("fire", 128, 32, 128), ("fire", 256, 32, 128), ("pool", 3, 2, True),
                  ("fire", 256, 48, 192), ("fire", 384, 48, 192), ("fire", 384, 64, 256), ("fire", 512, 64, 256)),
                 (2, 5, 8, 10, 11, 12, 13)),
        Backbone("vgg", "vgg16", "vgg16-397923af.pth", _vgg16_layers(), (4, 9, 16, 23, 30)),
    )
}


def _build_features(backbone: Backbone):
    """torchvision's ``features`` Sequential for ``backbone`` (random weights, same state-dict keys)."""
    import torch
    from torch import nn

    class Fire(nn.Module):
        """SqueezeNet's fire module, with torchvision's attribute names."""

        def __init__(self, inplanes: int, squeeze: int, expand: int):
            super().__init__()
            self.squeeze = nn.Conv2d(inplanes, squeeze, 1)
            self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
            self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

        def forward(self, x):
            x = torch.relu(self.squeeze(x))
            return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)

    def make(spec: tuple) -> nn.Module:
        kind = spec[0]
        if kind == "conv":
            _, cin, cout, k, stride, pad = spec
            return nn.Conv2d(cin, cout, k, stride=stride, padding=pad)
        if kind == "relu":
            return nn.ReLU()
        if kind == "pool":
            _, k, stride, ceil = spec
            return nn.MaxPool2d(k, stride=stride, ceil_mode=ceil)
        return Fire(*spec[1:])

    return nn.Sequential(*(make(s) for s in backbone.layers))


def _weights_file(source: str, backbone: Backbone) -> Path:
    """The backbone's weights file from a file, a folder or a hub id."""
    path = Path(source).expanduser()
    if not path.exists() and source.count("/") == 1 and not source.startswith((".", "/")):
        try:
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(source, allow_patterns=[f"*{s}" for s in _WEIGHT_SUFFIXES]))
        except Exception as exc:  # the hub's errors are many; one line says which id failed and why
            raise ModelUnavailableError(f"LPIPS backbone {source!r}: not a file, a folder or a reachable hub id "
                                        f"({type(exc).__name__})") from None
    if path.is_dir():
        named = path / backbone.file
        candidates = [named] if named.is_file() else sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES)
        if len(candidates) != 1:
            raise ModelUnavailableError(f"LPIPS backbone {source}: expected {backbone.file} (torchvision's "
                                        f"{backbone.torchvision} weights) in the folder")
        path = candidates[0]
    if not path.is_file():
        raise ModelUnavailableError(f"LPIPS backbone {source}: no such file, folder or hub id")
    return path


def _load_state_dict(path: Path) -> dict:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelUnavailableError(f"{path}: not a PyTorch state dict ({type(exc).__name__})") from None


class LPIPS:
    """LPIPS v0.1 of uint8 RGB image pairs; lower is more alike."""

    def __init__(self, net: str, backbone: str, device: str | None = None):
        import torch

        if net not in BACKBONES:
            raise ModelUnavailableError(f"LPIPS backbone type {net!r}: use one of {', '.join(BACKBONES)}")
        self.spec = BACKBONES[net]
        weights = _weights_file(backbone, self.spec)
        state = {k.removeprefix("features."): v for k, v in _load_state_dict(weights).items()
                 if k.startswith("features.")}
        self.features = _build_features(self.spec)
        expected = set(self.features.state_dict())
        if not expected <= set(state) or any(state[k].shape != v.shape for k, v in self.features.state_dict().items()):
            raise ModelUnavailableError(f"{weights}: not torchvision's {self.spec.torchvision} state dict "
                                        f"(features.* keys or shapes differ)")
        self.features.load_state_dict({k: state[k] for k in expected})
        heads = torch.load(str(assets.fetch(f"lpips_{net}.pth")), map_location="cpu", weights_only=True)
        self.heads = [heads[f"lin{i}.model.1.weight"] for i in range(len(self.spec.taps))]
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.features.to(self.device).eval()
        self.heads = [h.to(self.device) for h in self.heads]
        self.shift = torch.tensor(SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(SCALE, device=self.device).view(1, 3, 1, 1)
        self.provenance = {"net": net, "backbone": str(backbone), "backbone_file": weights.name,
                           "backbone_sha256": assets.file_sha256(weights), "heads": f"lpips==0.1.4 v0.1 {net}.pth"}

    def _taps(self, x):
        out, start = [], 0
        for tap in self.spec.taps:
            x = self.features[start:tap](x)
            out.append(x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + NORM_EPS))
            start = tap
        return out

    def distance_tensors(self, x0, x1):
        """LPIPS of two (N, 3, H, W) float tensors in [-1, 1]: shape (N,)."""
        f0 = self._taps((x0 - self.shift) / self.scale)
        f1 = self._taps((x1 - self.shift) / self.scale)
        return sum(((a - b) ** 2 * w).sum(dim=1).mean(dim=(1, 2)) for a, b, w in zip(f0, f1, self.heads))

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        """LPIPS of two uint8 RGB images of one size."""
        import torch

        def tensor(image: np.ndarray):
            return torch.from_numpy(image).permute(2, 0, 1)[None].float().to(self.device) / 127.5 - 1.0

        with torch.inference_mode():
            return float(self.distance_tensors(tensor(a), tensor(b))[0])
