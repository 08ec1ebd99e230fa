"""What the learned engines share about PyTorch devices: picking device and precision, and saying
plainly when the GPU runs out of memory."""

from __future__ import annotations

import contextlib
from typing import Iterator

from tryon.errors import TryOnError


class OutOfMemoryError(TryOnError):
    """The accelerator ran out of memory for this request."""


def torch_device(device: str = "auto", dtype: str = "auto", engine: str = "this engine", fallback: str = "fp16"):
    """(device, torch dtype): a CUDA GPU when asked for or seen; bf16 where the GPU has it, else
    ``fallback`` (fp16, or fp32 for a model whose activations overflow fp16); fp32 on the CPU (half
    precision there is slower, not faster)."""
    try:
        import torch
    except ImportError:
        raise TryOnError(f"{engine} needs PyTorch: pip install 'tryon[{engine}]'") from None
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TryOnError("device cuda asked for, but PyTorch sees no CUDA GPU")
    if dtype == "auto":
        dtype = "fp32" if device == "cpu" else ("bf16" if torch.cuda.is_bf16_supported() else fallback)
    return device, {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[dtype]


@contextlib.contextmanager
def plain_out_of_memory(engine: str, hint: str) -> Iterator[None]:
    """Turn CUDA's out-of-memory error into one line that says what to change."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise OutOfMemoryError(f"the GPU ran out of memory running {engine}: {hint}") from None
