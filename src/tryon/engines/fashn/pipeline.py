"""FashnPipeline: FASHN VTON v1.5's published sampler on diffusers' flow-matching Euler scheduler.

Tensors in, tensors out: the person's clothing-agnostic photo, the garment photo and both pose
images, already at the working size (published: 864x576, see :mod:`tryon.engines.fashn.geometry`)
and in [-1, 1]; the result is the try-on picture in [-1, 1].

The published sampler is rectified flow integrated with Euler steps from noise (time 0) to picture
(time 1) on a shifted grid, ``t = e^-mu / (e^-mu + 1/u - 1)`` for ``u`` evenly spaced, with mu = 1.5.
In diffusers' terms that is ``FlowMatchEulerDiscreteScheduler`` with sigma = 1 - t: evenly spaced
sigmas from 1, the exponential time shift with the same mu, and the model's velocity negated (it
points from noise to picture; the scheduler steps from sigma 1 to 0). Classifier-free guidance mixes
``v_u + g (v_c - v_u)``, with the unguided branch dropped on the last steps (it saturates colours
there), where it is then not computed at all.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from tryon.engines.fashn.model import FashnMMDiT, load_fashn_model
from tryon.errors import WeightsError

#: The published time shift (mu of the exponential shift).
TIME_SHIFT_MU = 1.5
#: The published defaults: Euler steps, guidance scale, and final steps without guidance.
STEPS = 30
GUIDANCE = 1.5
SKIP_CFG_LAST_N_STEPS = 1
#: The scheduler as data: the exponential shift at a given mu, applied to the sigmas we pass.
SCHEDULER_CONFIG = {"use_dynamic_shifting": True, "time_shift_type": "exponential"}
WEIGHTS_FILE = "model.safetensors"

#: One generator, or one per image of a batch.
Generators = torch.Generator | list[torch.Generator] | None


def make_scheduler() -> FlowMatchEulerDiscreteScheduler:
    return FlowMatchEulerDiscreteScheduler(**SCHEDULER_CONFIG)


def set_schedule(scheduler: FlowMatchEulerDiscreteScheduler, steps: int, device: torch.device | str = "cpu") -> None:
    """The published grid: ``steps`` evenly spaced sigmas from 1 (pure noise) before the shift; the
    scheduler appends the final 0."""
    sigmas = torch.linspace(1, 0, steps + 1)[:-1].tolist()
    scheduler.set_timesteps(sigmas=sigmas, mu=TIME_SHIFT_MU, device=device)


def initial_noise(shape: tuple[int, ...], generator: Generators) -> torch.Tensor:
    """Standard normal float32 noise on the CPU; with a generator per image, each image draws its own
    (so an image does not depend on what else shares its batch)."""
    from diffusers.utils.torch_utils import randn_tensor

    return randn_tensor(shape, generator=generator, dtype=torch.float32)


def default_dtype(device: torch.device) -> torch.dtype:
    """bf16 on a GPU that has it (the published weights are bf16), else float32, as published."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


class FashnPipeline:
    def __init__(self, model: FashnMMDiT, scheduler: FlowMatchEulerDiscreteScheduler | None = None):
        self.model = model
        self.scheduler = scheduler or make_scheduler()

    @classmethod
    def from_pretrained(cls, folder_or_file: str | Path, dtype: torch.dtype | None = None,
                        device: str | torch.device | None = None) -> "FashnPipeline":
        """Load ``model.safetensors`` from a folder (or the file itself). Default device: the GPU if
        there is one; default dtype: :func:`default_dtype`."""
        path = Path(folder_or_file)
        if path.is_dir():
            path = path / WEIGHTS_FILE
        if not path.is_file():
            raise WeightsError(f"{path}: no such file (FASHN VTON's {WEIGHTS_FILE})")
        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return cls(load_fashn_model(path, dtype or default_dtype(device), device))

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    @torch.no_grad()
    def __call__(self, ca_images: torch.Tensor, garment_images: torch.Tensor, person_poses: torch.Tensor,
                 garment_poses: torch.Tensor, categories: torch.Tensor, *, steps: int = STEPS,
                 guidance: float = GUIDANCE, skip_cfg_last_n_steps: int = SKIP_CFG_LAST_N_STEPS,
                 generator: Generators = None, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Dress each person in the matching garment: (B, C, H, W) in [-1, 1].

        ``categories``: (B,) 1 tops, 2 bottoms, 3 one-pieces. ``guidance`` 1 runs the guided branch
        only. ``generator``: one, or a list of one per image so that each image is what it would be
        alone. ``noise``: the initial noise, if the caller wants to fix it.
        """
        device, dtype = self.device, self.dtype
        condition = [t.to(device, dtype) for t in (ca_images, garment_images, person_poses, garment_poses)]
        categories = categories.to(device)
        batch = ca_images.shape[0]
        if noise is None:
            noise = initial_noise(tuple(ca_images.shape[:1]) + (self.model.config.channels,)
                                  + tuple(ca_images.shape[2:]), generator)
        sample = noise.to(device, torch.float32)

        cfg = guidance != 1.0  # below 1 the published mix extrapolates towards the unguided branch
        if cfg:  # guided half first, then the unguided half with its condition dropped
            doubled = [torch.cat((t, t)) for t in (*condition, categories)]
            keep = torch.arange(2 * batch, device=device) < batch
        set_schedule(self.scheduler, steps, device)
        for i, sigma in enumerate(self.scheduler.sigmas[:-1]):
            # Time in the weights' dtype, as the published sampler feeds it.
            t = (1 - sigma).to(dtype).expand(batch)
            if cfg and i < steps - skip_cfg_last_n_steps:
                x = sample.to(dtype)
                v = self.model(torch.cat((x, x)), torch.cat((t, t)), *doubled, keep=keep).float()
                v_c, v_u = v.chunk(2)
                v = v_u + guidance * (v_c - v_u)
            else:
                v = self.model(sample.to(dtype), t, *condition, categories).float()
            sample = self.scheduler.step(-v, self.scheduler.timesteps[i], sample).prev_sample
        return sample.clamp(-1.0, 1.0)
