"""CatVTONPipeline: the published sampling algorithm on diffusers' UNet, VAE and schedulers.

Tensors in, tensors out (pixels in [-1, 1], masks in {0, 1}); the engine does the photo geometry.
Per step the UNet sees [noisy latents (4), mask (1), masked person over garment (4)] with the person
and garment latents concatenated along the height (mask-free variant: [noisy (4), person beside
garment (4)] along the width). Classifier-free guidance zeroes the garment latent in the
unconditional branch and runs both branches as one batch.

Models made by ``tryon train`` may add a pose ControlNet (its residuals added to the UNet's, the
pose drawn over the person's half, black over the garment's) and text through the base model's CLIP
text encoder (the unconditional branch gets the empty prompt). The functions below that build the
UNet's input are the ones training uses, so training and sampling cannot drift apart.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
import torch.nn.functional as F

from tryon.engines.catvton.attention import WeightsError, skip_cross_attention

#: One generator, or one per image of a batch.
Generators = torch.Generator | list[torch.Generator] | None


def concat_axis(mask_free: bool) -> int:
    """Person over garment (height) for the inpainting base; side by side (width) mask-free."""
    return -1 if mask_free else -2


def conditioning(person_latent: torch.Tensor, garment_latent: torch.Tensor, mask: torch.Tensor | None,
                 axis: int) -> torch.Tensor:
    """The UNet's input channels after the noisy latents: [mask (1)], person and garment latents
    concatenated along ``axis``. ``mask``: (B, 1, H, W) pixels, 1 = regenerate; None mask-free."""
    condition = torch.cat([person_latent, garment_latent], dim=axis)
    if mask is None:
        return condition
    small = F.interpolate(mask.to(person_latent.dtype), size=person_latent.shape[-2:], mode="nearest")
    return torch.cat([torch.cat([small, torch.zeros_like(small)], dim=axis), condition], dim=1)


def control_image(pose: torch.Tensor, axis: int) -> torch.Tensor:
    """The ControlNet's image: the pose rendering (B, 3, H, W) in [0, 1] over the person's half,
    black over the garment's."""
    return torch.cat([pose, torch.zeros_like(pose)], dim=axis)


def predict(unet, controlnet, sample: torch.Tensor, t, text: torch.Tensor | None = None,
            control: torch.Tensor | None = None) -> torch.Tensor:
    """The UNet's prediction, with the ControlNet's residuals added when there is one."""
    extra = {}
    if controlnet is not None:
        down, mid = controlnet(sample, t, encoder_hidden_states=text, controlnet_cond=control.to(sample.dtype),
                               return_dict=False)
        extra = {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}
    return unet(sample, t, encoder_hidden_states=text, return_dict=False, **extra)[0]


def encode_prompt(tokenizer, text_encoder, prompts: list[str]) -> torch.Tensor:
    """Stable Diffusion 1.5's text conditioning: the CLIP text encoder's last hidden states of the
    prompts padded to the tokenizer's length."""
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    device = next(text_encoder.parameters()).device
    return text_encoder(ids.to(device), return_dict=False)[0]


def encode_latents(vae, images: torch.Tensor, generator: Generators) -> torch.Tensor:
    """VAE latents of images in [-1, 1] (on the VAE's device), sampled with ``generator``
    (deterministic per seed), times the VAE's own scaling factor (0.18215 for SD 1.5's)."""
    device = next(vae.parameters()).device
    # Contiguous NCHW whatever the caller's layout: CPU GroupNorm on channels-last drifts (2.5e-2).
    dist = vae.encode(images.to(device, vae.dtype).contiguous()).latent_dist
    noise = _noise(dist.mean.shape, generator).to(dist.mean.device)
    return (dist.mean + dist.std * noise.to(dist.mean.dtype)) * float(vae.config.scaling_factor)


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


def load_model(kind, folder: Path, what: str, **kwargs):
    """A diffusers (or transformers) model from a local folder, or :class:`WeightsError` saying why not."""
    if not (folder / "config.json").is_file() and not (folder / "scheduler_config.json").is_file():
        raise WeightsError(f"{folder}: no {what} here (expected a diffusers folder with config.json)")
    try:
        return kind.from_pretrained(str(folder), local_files_only=True, **kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{folder}: the {what} could not be loaded ({exc})") from None


class CatVTONPipeline:
    def __init__(self, unet, vae, scheduler, controlnet=None, text_encoder=None, tokenizer=None):
        """``controlnet``: a pose ControlNet; ``text_encoder`` and ``tokenizer``: the base model's CLIP,
        for a model trained with text. Without text the cross-attention is skipped, as CatVTON does."""
        self.unet, self.vae, self.scheduler = unet, vae, scheduler
        self.controlnet, self.text_encoder, self.tokenizer = controlnet, text_encoder, tokenizer
        in_channels = unet.config.in_channels
        if in_channels not in (8, 9):
            raise WeightsError(f"the base UNet takes {in_channels} input channels: CatVTON needs Stable Diffusion "
                               "1.5 inpainting (9) or, mask-free, InstructPix2Pix (8)")
        self.mask_free = in_channels == 8
        if text_encoder is None:
            for model in (unet, controlnet):
                if model is not None:
                    skip_cross_attention(model)
        self._offload = None

    @property
    def takes_text(self) -> bool:
        return self.text_encoder is not None

    @property
    def takes_pose(self) -> bool:
        return self.controlnet is not None

    @classmethod
    def from_pretrained(cls, base_model: str | Path, attn_weights: str | Path, vae: str | Path | None = None,
                        scheduler: str = "ddim", dtype: torch.dtype = torch.float32) -> "CatVTONPipeline":
        """Load from local folders only (nothing is fetched): the base model's ``unet/`` and
        ``scheduler/``, a VAE (default ``base_model/vae``), and CatVTON's attention weights or a model
        that ``tryon train`` exported (its ``final/`` folder, see :mod:`tryon.engines.catvton.trained`)."""
        from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

        from tryon.engines.catvton.trained import load_finetuned

        base = Path(base_model)
        if not base.is_dir():
            raise WeightsError(f"base model folder {base} does not exist")
        unet = load_model(UNet2DConditionModel, base / "unet", "UNet", torch_dtype=dtype)
        parts = load_finetuned(unet, base, Path(attn_weights), dtype)
        vae_model = load_model(AutoencoderKL, Path(vae) if vae else base / "vae", "VAE", torch_dtype=dtype)
        sched_dir = base / "scheduler"
        if not (sched_dir / "scheduler_config.json").is_file():
            raise WeightsError(f"{sched_dir}: no scheduler_config.json")
        base_config = DDIMScheduler.load_config(str(sched_dir))
        pipe = cls(parts.unet, vae_model, make_scheduler(scheduler, base_config), parts.controlnet,
                   parts.text_encoder, parts.tokenizer)
        for model in pipe.models():
            model.eval()
        return pipe

    def models(self) -> list[torch.nn.Module]:
        return [m for m in (self.text_encoder, self.vae, self.controlnet, self.unet) if m is not None]

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
        for model in self.models():
            model.to(device)
        return self

    def set_scheduler(self, name: str) -> None:
        self.scheduler = make_scheduler(name, self.scheduler.config)

    def enable_model_cpu_offload(self) -> None:
        """Keep each model on the CPU until it runs (accelerate's hooks), so the UNet's weights and
        the VAE decoder's full-size activations are never on the GPU together."""
        from accelerate import cpu_offload_with_hook

        hook = None
        for model in self.models():
            _, hook = cpu_offload_with_hook(model, "cuda", prev_module_hook=hook)
        self._offload = hook

    def enable_vae_tiling(self) -> None:
        self.vae.enable_tiling()
        self.vae.enable_slicing()

    # -- the algorithm ------------------------------------------------------------------------
    def encode(self, images: torch.Tensor, generator: Generators) -> torch.Tensor:
        return encode_latents(self.vae, images.to(self.device), generator)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        images = self.vae.decode(latents.to(self.vae.dtype) / self.latent_scale).sample
        return (images.float() / 2 + 0.5).clamp(0, 1)

    @torch.no_grad()
    def __call__(self, person: torch.Tensor, garment: torch.Tensor, mask: torch.Tensor | None = None,
                 steps: int = 50, guidance: float = 2.5, generator: Generators = None,
                 eta: float = 1.0, latents: torch.Tensor | None = None, pose: torch.Tensor | None = None,
                 prompts: list[str] | None = None, output_type: str = "image") -> torch.Tensor:
        """Dress each person in the matching garment. ``person``, ``garment``: (B, 3, H, W) in
        [-1, 1]; ``mask``: (B, 1, H, W), 1 = regenerate (not used by the mask-free variant).
        ``generator``: one, or a list of one per image so that each image is what it would be alone
        (the same seed gives the same picture whatever else shares the batch). ``latents``: the
        initial noise, if the caller wants to fix it. ``pose``: (B, 3, H, W) renderings in [0, 1],
        for a model with a pose ControlNet; ``prompts``: one per image, for a model trained with
        text (empty prompts are the unconditional text). Returns (B, 3, H, W) in [0, 1], or with
        ``output_type="latent"`` the person's latents (scaled, as the VAE encodes) undecoded."""
        if not self.mask_free and mask is None:
            raise ValueError("this base model inpaints: give a mask")
        if self.takes_pose and pose is None:
            raise ValueError("this model has a pose ControlNet: give the pose renderings")
        device, dtype = self.device, self.dtype
        person, garment = person.to(device, dtype), garment.to(device, dtype)
        axis = concat_axis(self.mask_free)
        if not self.mask_free:
            mask = (mask.to(device, dtype) >= 0.5).to(dtype)
            person = person * (1 - mask)
        person_latent = self.encode(person, generator)
        garment_latent = self.encode(garment, generator)
        fixed = conditioning(person_latent, garment_latent, mask, axis)
        text = control = None
        if self.takes_text:
            text = encode_prompt(self.tokenizer, self.text_encoder, list(prompts or [""] * len(person))).to(dtype)
        if self.takes_pose:
            control = control_image(pose.to(device, dtype), axis)

        cfg = guidance > 1.0
        if cfg:  # unconditional branch first, as published: the garment latent zeroed (and the empty prompt)
            fixed = torch.cat([conditioning(person_latent, torch.zeros_like(garment_latent), mask, axis), fixed])
            if text is not None:
                empty = encode_prompt(self.tokenizer, self.text_encoder, [""] * len(person)).to(dtype)
                text = torch.cat([empty, text])
            if control is not None:
                control = torch.cat([control, control])

        if latents is None:
            latents = _noise(person_latent.shape[:-2] + fixed.shape[-2:], generator)
        latents = latents.to(device, torch.float32) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(steps, device=device)
        step_kwargs = self._step_kwargs(generator, eta)
        for t in self.scheduler.timesteps:
            model_in = torch.cat([latents, latents]) if cfg else latents
            model_in = self.scheduler.scale_model_input(model_in, t)
            model_in = torch.cat([model_in.to(dtype), fixed], dim=1)
            noise = predict(self.unet, self.controlnet, model_in, t, text, control).float()
            if cfg:
                uncond, cond = noise.chunk(2)
                noise = uncond + guidance * (cond - uncond)
            latents = self.scheduler.step(noise, t, latents, **step_kwargs).prev_sample
        person_part = latents.split(latents.shape[axis] // 2, dim=axis)[0]
        if output_type == "latent":
            return person_part
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
