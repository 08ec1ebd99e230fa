"""CatVTONPipeline: the published sampling algorithm on diffusers' UNet, VAE and schedulers.

Tensors in, tensors out (pixels in [-1, 1], masks in {0, 1}); the engine does the photo geometry.
Per step the UNet sees [noisy latents (4), mask (1), masked person over garment (4)] with the person
and garment latents concatenated along the height (mask-free variant: [noisy (4), person beside
garment (4)] along the width). Classifier-free guidance zeroes the garment latent in the
unconditional branch and runs both branches as one batch.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
import torch.nn.functional as F

from tryon.engines.catvton.attention import WeightsError, load_attention_weights, skip_cross_attention

#: One generator, or one per image of a batch.
Generators = torch.Generator | list[torch.Generator] | None


def _noise(shape: tuple[int, ...], generator: Generators) -> torch.Tensor:
    """Standard normal float32 noise on the CPU; with a generator per image, each image draws its own."""
    from diffusers.utils.torch_utils import randn_tensor

    return randn_tensor(shape, generator=generator, dtype=torch.float32)


def _scheduler_class(name: str):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler

    return {"ddim": DDIMScheduler, "dpm++": DPMSolverMultistepScheduler, "unipc": UniPCMultistepScheduler}[name]


def make_scheduler(name: str, base_config: dict):
    """A scheduler of the given kind with the base model's noise schedule (betas, spacing, offset)."""
    cls = _scheduler_class(name)
    options = {"algorithm_type": "dpmsolver++"} if name == "dpm++" else {}
    return cls.from_config(base_config, **options)


def _load(kind, folder: Path, what: str, **kwargs):
    if not (folder / "config.json").is_file() and not (folder / "scheduler_config.json").is_file():
        raise WeightsError(f"{folder}: no {what} here (expected a diffusers folder with config.json)")
    try:
        return kind.from_pretrained(str(folder), local_files_only=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{folder}: the {what} could not be loaded ({exc})") from None


class CatVTONPipeline:
    def __init__(self, unet, vae, scheduler):
        self.unet, self.vae, self.scheduler = unet, vae, scheduler
        in_channels = unet.config.in_channels
        if in_channels not in (8, 9):
            raise WeightsError(f"the base UNet takes {in_channels} input channels: CatVTON needs Stable Diffusion "
                               "1.5 inpainting (9) or, mask-free, InstructPix2Pix (8)")
        self.mask_free = in_channels == 8
        self._offload = None

    @classmethod
    def from_pretrained(cls, base_model: str | Path, attn_weights: str | Path, vae: str | Path | None = None,
                        scheduler: str = "ddim", dtype: torch.dtype = torch.float32) -> "CatVTONPipeline":
        """Load from local folders only (nothing is fetched): the base model's ``unet/`` and
        ``scheduler/``, a VAE (default ``base_model/vae``) and CatVTON's attention weights."""
        from diffusers import AutoencoderKL, UNet2DConditionModel

        base = Path(base_model)
        if not base.is_dir():
            raise WeightsError(f"base model folder {base} does not exist")
        unet = _load(UNet2DConditionModel, base / "unet", "UNet", torch_dtype=dtype)
        load_attention_weights(unet, attn_weights)
        skip_cross_attention(unet)
        vae_model = _load(AutoencoderKL, Path(vae) if vae else base / "vae", "VAE", torch_dtype=dtype)
        sched_dir = base / "scheduler"
        if not (sched_dir / "scheduler_config.json").is_file():
            raise WeightsError(f"{sched_dir}: no scheduler_config.json")
        from diffusers import DDIMScheduler

        base_config = DDIMScheduler.load_config(str(sched_dir))
        pipe = cls(unet, vae_model, make_scheduler(scheduler, base_config))
        pipe.unet.eval()
        pipe.vae.eval()
        return pipe

    # -- placement and memory ---------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return torch.device("cuda") if self._offload else next(self.unet.parameters()).device

    @property
    def latent_scale(self) -> float:
        """The VAE's own scaling factor, from its config (0.18215 for Stable Diffusion 1.5's)."""
        return float(self.vae.config.scaling_factor)

    @property
    def dtype(self) -> torch.dtype:
        return next(self.unet.parameters()).dtype

    def to(self, device: str | torch.device) -> "CatVTONPipeline":
        self.unet.to(device)
        self.vae.to(device)
        return self

    def set_scheduler(self, name: str) -> None:
        self.scheduler = make_scheduler(name, self.scheduler.config)

    def enable_model_cpu_offload(self) -> None:
        """Keep each model on the CPU until it runs (accelerate's hooks), so the UNet's weights and
        the VAE decoder's full-size activations are never on the GPU together."""
        from accelerate import cpu_offload_with_hook

        hook = None
        for model in (self.vae, self.unet):
            _, hook = cpu_offload_with_hook(model, "cuda", prev_module_hook=hook)
        self._offload = hook

    def enable_vae_tiling(self) -> None:
        self.vae.enable_tiling()
        self.vae.enable_slicing()

    # -- the algorithm ------------------------------------------------------------------------
    def encode(self, images: torch.Tensor, generator: Generators) -> torch.Tensor:
        """VAE latents of images in [-1, 1], sampled with ``generator`` (deterministic per seed)."""
        # Contiguous NCHW whatever the caller's layout: CPU GroupNorm on channels-last drifts (2.5e-2).
        dist = self.vae.encode(images.to(self.device, self.vae.dtype).contiguous()).latent_dist
        noise = _noise(dist.mean.shape, generator).to(dist.mean.device)
        return (dist.mean + dist.std * noise.to(dist.mean.dtype)) * self.latent_scale

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        images = self.vae.decode(latents.to(self.vae.dtype) / self.latent_scale).sample
        return (images.float() / 2 + 0.5).clamp(0, 1)

    @torch.no_grad()
    def __call__(self, person: torch.Tensor, garment: torch.Tensor, mask: torch.Tensor | None = None,
                 steps: int = 50, guidance: float = 2.5, generator: Generators = None,
                 eta: float = 1.0, latents: torch.Tensor | None = None) -> torch.Tensor:
        """Dress each person in the matching garment. ``person``, ``garment``: (B, 3, H, W) in
        [-1, 1]; ``mask``: (B, 1, H, W), 1 = regenerate (not used by the mask-free variant).
        ``generator``: one, or a list of one per image so that each image is what it would be alone
        (the same seed gives the same picture whatever else shares the batch). ``latents``: the
        initial noise, if the caller wants to fix it. Returns (B, 3, H, W) in [0, 1]."""
        if not self.mask_free and mask is None:
            raise ValueError("this base model inpaints: give a mask")
        device, dtype = self.device, self.dtype
        person, garment = person.to(device, dtype), garment.to(device, dtype)
        axis = -1 if self.mask_free else -2  # mask-free: side by side; else person over garment
        if self.mask_free:
            person_latent = self.encode(person, generator)
        else:
            mask = (mask.to(device, dtype) >= 0.5).to(dtype)
            person_latent = self.encode(person * (1 - mask), generator)
        garment_latent = self.encode(garment, generator)
        condition = torch.cat([person_latent, garment_latent], dim=axis)
        extra = [] if self.mask_free else [torch.cat([
            F.interpolate(mask, size=person_latent.shape[-2:], mode="nearest"),
            torch.zeros_like(person_latent[:, :1])], dim=axis)]

        cfg = guidance > 1.0
        if cfg:  # unconditional branch first, as published: the garment latent zeroed
            condition = torch.cat([torch.cat([person_latent, torch.zeros_like(garment_latent)], dim=axis), condition])
            extra = [torch.cat([e, e]) for e in extra]
        fixed = torch.cat([*extra, condition], dim=1)

        if latents is None:
            latents = _noise(person_latent.shape[:-2] + condition.shape[-2:], generator)
        latents = latents.to(device, torch.float32) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(steps, device=device)
        step_kwargs = self._step_kwargs(generator, eta)
        for t in self.scheduler.timesteps:
            model_in = torch.cat([latents, latents]) if cfg else latents
            model_in = self.scheduler.scale_model_input(model_in, t)
            model_in = torch.cat([model_in.to(dtype), fixed], dim=1)
            noise = self.unet(model_in, t, encoder_hidden_states=None, return_dict=False)[0].float()
            if cfg:
                uncond, cond = noise.chunk(2)
                noise = uncond + guidance * (cond - uncond)
            latents = self.scheduler.step(noise, t, latents, **step_kwargs).prev_sample
        person_part = latents.split(latents.shape[axis] // 2, dim=axis)[0]
        if self._offload is not None:  # the UNet leaves before the VAE decodes at full size
            self._offload.offload()
        return self.decode(person_part)

    def _step_kwargs(self, generator, eta: float) -> dict:
        accepted = set(inspect.signature(self.scheduler.step).parameters)
        kwargs = {}
        if "eta" in accepted:
            kwargs["eta"] = eta
        if "generator" in accepted:
            kwargs["generator"] = generator
        return kwargs
