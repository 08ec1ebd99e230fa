"""Random FASHN VTON models in the published file layout, for tests and benchmarks.

``full`` is the published architecture (972M parameters: the real model's FLOPs, random weights);
``tiny`` keeps its structure (patch mixer, double and single blocks, 12-pixel patches, three
categories) at a width a CPU runs in milliseconds. Neither draws a meaningful picture: they test
arithmetic, plumbing and speed.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tryon.engines.fashn.model import FashnMMDiT
from tryon.engines.fashn.pipeline import WEIGHTS_FILE

#: Architectures by scale (FashnMMDiT's arguments; the defaults are the published ones).
SCALES = {
    "full": {},
    "tiny": dict(hidden_size=64, num_heads=2, double_blocks_depth=2, single_blocks_depth=2, patch_mixer_depth=1),
}
#: Random weights: matrices N(0, 1/fan_in) keep activations near unit size through the blocks, and
#: the rest is small but not zero (zero modulation would silence every block).
BIAS_STD = 0.02
NORM_SCALE_STD = 0.1
CATEGORY_STD = 0.5


def random_model(scale: str = "tiny", seed: int = 0, dtype: torch.dtype = torch.float32) -> FashnMMDiT:
    """A model of the given scale with random weights (built without a default initialisation pass)."""
    with torch.device("meta"):
        model = FashnMMDiT(**SCALES[scale])
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, meta in model.state_dict().items():
        tensor = torch.empty(meta.shape)
        if name == "patch_mixer_token":
            tensor.zero_()
        elif name.endswith(".bias"):
            tensor.normal_(0.0, BIAS_STD, generator=g)
        elif name.endswith(".scale"):
            tensor.normal_(1.0, NORM_SCALE_STD, generator=g)
        elif name == "y_embedder.weight":
            tensor.normal_(0.0, CATEGORY_STD, generator=g)
        else:
            tensor.normal_(0.0, tensor[0].numel() ** -0.5, generator=g)
        tensors[name] = tensor.to(dtype)
    model.load_state_dict(tensors, assign=True)
    return model.eval()


def write_random_fashn(folder: str | Path, scale: str = "tiny", seed: int = 0) -> Path:
    """Write ``folder/model.safetensors`` with random weights, in bf16 like the published file."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS_FILE
    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in random_model(scale, seed).state_dict().items()}
    save_file(tensors, str(path))
    return path
