"""GPU facts the benchmarks share: dense bf16 tensor-core peaks for the MFU estimates."""

from __future__ import annotations

import torch

#: Dense bf16 tensor-core peaks (FLOP/s), from the vendors' data sheets.
#: What a benchmark's ``--compile`` times of our side: eager, compiled, or eager then compiled in
#: one process (``both``: the reference runs once for the two).
COMPILE_VARIANTS = {"no": ("eager",), "yes": ("compile",), "both": ("eager", "compile")}

PEAKS = {"H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


def peak_flops(device: str) -> tuple[str, float | None]:
    """(device name, its dense bf16 peak or None when unknown or a CPU)."""
    if device != "cuda":
        return "CPU", None
    name = torch.cuda.get_device_name()
    for key, value in PEAKS.items():
        if key.replace(" ", "").lower() in name.replace(" ", "").lower():
            return name, value
    return name, None
