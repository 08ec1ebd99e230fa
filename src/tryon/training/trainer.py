"""The training loop: accelerate for one or many GPUs (or CPU processes), mixed precision, gradient
accumulation, EMA, checkpoints that resume exactly, validation renders, and the export.

Randomness is keyed, not carried: the data order comes from (seed, epoch), each sample's
augmentation from (seed, epoch, index), and each micro-batch's noise, timesteps and dropout from
(seed, micro-batch, process). A resumed run therefore draws exactly what the uninterrupted run
would have drawn, and on a CPU its weights equal it bit for bit.

A run folder holds ``config.json``, ``metrics.jsonl`` (one line per logged step: step, loss, lr,
images_per_s), ``validation.jsonl`` and ``validation/step-N.png`` grids, ``logs/`` (TensorBoard),
``checkpoints/step-N/`` (accelerate's full state, the last K kept), ``data_report.json`` and, at the
end, ``final/`` (what the catvton engine loads, with ``model_card.json``).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tryon.engines.catvton.pipeline import (CatVTONPipeline, concat_axis, conditioning, control_image,
                                            encode_latents, encode_prompt, make_scheduler)
from tryon.errors import InputError, TryOnError
from tryon.training.config import TrainConfig
from tryon.training.data import DataReport, EpochSampler, TryOnDataset, load_samples, read_captions_for
from tryon.training.model import Components, Denoiser, export, load_components, trainable_parameters

log = logging.getLogger(__name__)
AXIS = concat_axis(mask_free=False)  # person over garment: training needs the inpainting base
#: Settings that may change when a run resumes (they do not change what is computed).
RESUMABLE = {"steps", "log_every", "checkpoint_every", "keep_checkpoints", "validate_every", "validation_pairs",
             "validation_steps", "guidance", "workers"}


@dataclass
class TrainResult:
    run: Path
    final: Path
    steps: int
    start_step: int
    report: DataReport
    validation: list[dict] = field(default_factory=list)
    main: bool = True  # the main process (the one that reports) of a multi-process run


def mixed_precision(choice: str) -> str:
    """``auto``: bf16 where the GPU has it, else fp16; ``no`` without a GPU."""
    if choice != "auto":
        return choice
    if not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def keyed_generator(*key: int) -> torch.Generator:
    """A CPU generator seeded from the whole key (numpy's SeedSequence mixes its parts)."""
    seed = int(np.random.SeedSequence([int(k) for k in key]).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)


def training_loss(parts: Components, denoiser, batch: dict, config: TrainConfig, generator: torch.Generator,
                  device: torch.device) -> torch.Tensor:
    """The denoising loss of one micro-batch in CatVTON's recipe: the person's latent over the
    garment's is noised; the UNet sees the noisy latents, the mask and the masked person over the
    garment (zeroed for ``garment_dropout`` of the samples), and predicts the noise (or the
    velocity, as the base scheduler says). The error is averaged over the whole concatenated
    latent, weighted ``mask_weight`` times inside the regenerated region."""
    dtype = parts.vae.dtype
    person = batch["person"].to(device, dtype)
    garment = batch["garment"].to(device, dtype)
    mask = batch["mask"].to(device, dtype)
    b = person.shape[0]
    with torch.no_grad():
        target_latent = encode_latents(parts.vae, person, generator).float()
        masked_latent = encode_latents(parts.vae, person * (1 - mask), generator).float()
        garment_latent = encode_latents(parts.vae, garment, generator).float()
        keep = (torch.rand(b, generator=generator) >= config.garment_dropout).float().view(b, 1, 1, 1).to(device)
        fixed = conditioning(masked_latent, garment_latent * keep, mask.float(), AXIS)
        clean = torch.cat([target_latent, garment_latent], dim=AXIS)
        noise = torch.randn(clean.shape, generator=generator).to(device)
        t = torch.randint(0, parts.noise_scheduler.config.num_train_timesteps, (b,), generator=generator).to(device)
        noisy = parts.noise_scheduler.add_noise(clean, noise, t)
        if parts.prediction_type == "v_prediction":
            target = parts.noise_scheduler.get_velocity(clean, noise, t)
        else:
            target = noise
        text = control = None
        if parts.text_encoder is not None:
            drop = torch.rand(b, generator=generator) < config.prompt_dropout
            prompts = ["" if d else p for p, d in zip(batch["prompt"], drop.tolist())]
            text = encode_prompt(parts.tokenizer, parts.text_encoder, prompts)
        if parts.controlnet is not None:
            control = control_image(batch["pose"].to(device), AXIS)
        weight = 1 + (config.mask_weight - 1) * fixed[:, :1]  # the mask channel: 1 where regenerated
    prediction = denoiser(torch.cat([noisy, fixed], dim=1), t, text, control)
    return (weight * (prediction.float() - target) ** 2).mean()


def _collate(items: list[dict]) -> dict:
    return {k: (torch.stack([i[k] for i in items]) if isinstance(items[0][k], torch.Tensor) else [i[k] for i in items])
            for k in items[0]}


def checkpoints(run: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = run / "checkpoints"
    found = [p for p in folder.glob("step-*") if p.is_dir() and p.name[5:].isdigit()] if folder.is_dir() else []
    return sorted(found, key=lambda p: int(p.name[5:]))


def _check_run(run: Path, config: TrainConfig, resume: bool) -> int:
    """The step to start from; refuses to mix runs (a second run into a folder holding one, or a
    resume with settings that change what is computed)."""
    saved = run / "config.json"
    found = checkpoints(run)
    if not resume:
        if found:
            raise InputError(f"{run} holds a run with checkpoints up to {found[-1].name}: give --resume to continue it, "
                             "or another --out")
        return 0
    if not found:
        raise InputError(f"{run}: no checkpoint to resume from (checkpoints/step-N/)")
    if saved.is_file():
        before = json.loads(saved.read_text())
        changed = sorted(k for k, v in config.as_dict().items() if k not in RESUMABLE and before.get(k, v) != v)
        if changed:
            raise InputError(f"--resume with other settings than the run's ({', '.join(changed)}): a resumed run must "
                             "compute what the first one did; start a new run instead")
    return int(found[-1].name[5:])


class _Metrics:
    """``metrics.jsonl``: one line per logged step; on resume the lines past the checkpoint's step
    (written after it, by the run that stopped) are dropped, so no step is listed twice."""

    def __init__(self, path: Path, start_step: int):
        self.path = path
        if path.is_file():
            kept = [line for line in path.read_text().splitlines() if line.strip()
                    and json.loads(line).get("step", 0) <= start_step]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, row: dict) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(row) + "\n")


def train(data: str | Path, out: str | Path, config: TrainConfig, resume: bool = False,
          progress: bool = True, stop_after: int | None = None) -> TrainResult:
    """Train on ``data`` into the run folder ``out``; see the module docstring for what it writes.
    ``stop_after``: stop after this many steps of this call, with a checkpoint, as if interrupted
    (to fit a cluster's time limit; ``resume`` continues); the export waits for the last step."""
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, set_seed
    from diffusers.optimization import get_scheduler
    from diffusers.training_utils import EMAModel
    from tqdm import tqdm

    data, run = Path(data), Path(out)
    start_step = _check_run(run, config, resume)
    trackers = "tensorboard" if _has_tensorboard() else None
    # Without a GPU, processes that a launcher started train on the CPU with gloo (accelerate only
    # looks for CPU processes when told to).
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), gradient_accumulation_steps=config.grad_accum,
                              mixed_precision=mixed_precision(config.precision), log_with=trackers,
                              project_config=ProjectConfiguration(project_dir=str(run), logging_dir=str(run / "logs")))
    main = accelerator.is_main_process
    rank, world = accelerator.process_index, accelerator.num_processes
    if main and not start_step:  # a resumed run keeps the settings it was started with
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps(config.as_dict(), indent=1))
    with accelerator.main_process_first():  # the analysis runs once; the other processes read its cache
        samples, report = load_samples(data, config, max(1, config.workers) if main else 1, progress and main)
    dataset = TryOnDataset(samples, config, read_captions_for(data, config) if config.text else None)

    set_seed(config.seed)  # the LoRA initialisation
    frozen = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(accelerator.mixed_precision, torch.float32)
    parts = load_components(config, frozen)
    denoiser = Denoiser(parts.unet, parts.controlnet)
    params = trainable_parameters(denoiser)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    # accelerate steps a prepared scheduler once per process: count its steps that way.
    lr_scheduler = get_scheduler("constant_with_warmup" if config.schedule == "constant" else config.schedule,
                                 optimizer, num_warmup_steps=config.warmup * world,
                                 num_training_steps=config.steps * world)
    ema = EMAModel(params, decay=config.ema_decay, use_ema_warmup=True) if config.ema_decay > 0 else None
    denoiser, optimizer, lr_scheduler = accelerator.prepare(denoiser, optimizer, lr_scheduler)
    device = accelerator.device
    for model in (parts.vae, parts.text_encoder):
        if model is not None:
            model.to(device)
    if ema is not None:
        ema.to(device)
        accelerator.register_for_checkpointing(ema)
    if start_step:
        accelerator.load_state(str(run / "checkpoints" / f"step-{start_step}"))
    if trackers:
        accelerator.init_trackers("tryon-train", config={k: v for k, v in config.as_dict().items()})

    micro = start_step * config.grad_accum
    sampler = EpochSampler(len(dataset), config.seed, rank, world, start=micro * config.batch_size)
    loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, sampler=sampler,
                                         num_workers=config.workers, collate_fn=_collate,
                                         persistent_workers=config.workers > 0)
    validator = _Validator(run, dataset, parts, config, accelerator) if main else None
    metrics = _Metrics(run / "metrics.jsonl", start_step) if main else None
    results: list[dict] = []
    if main and start_step == 0 and config.validate_every:
        results.append(validator(denoiser, ema, 0))  # where the run starts from
    # The loss is summed on the device and read at log steps only: reading it every step would make
    # the CPU wait for the GPU each time.
    step, window_loss, window_micro, window_t = start_step, torch.zeros((), device=device), 0, time.perf_counter()
    stop = config.steps if stop_after is None else min(config.steps, start_step + stop_after)
    bar = tqdm(total=config.steps, initial=start_step, disable=not (progress and main), unit="step", desc="train")
    batches = iter(loader)
    denoiser.train()
    while step < stop:
        batch = next(batches)
        with accelerator.accumulate(denoiser):
            loss = training_loss(parts, denoiser, batch, config, keyed_generator(config.seed, micro, rank), device)
            accelerator.backward(loss)
            if accelerator.sync_gradients and config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        micro += 1
        window_loss += loss.detach().float()
        window_micro += 1
        if not accelerator.sync_gradients:
            continue
        step += 1
        if ema is not None:
            ema.step(params)
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
            mean = accelerator.reduce(window_loss / window_micro, "mean").item()
            seconds = time.perf_counter() - window_t
            row = {"step": step, "loss": round(mean, 6), "lr": lr_scheduler.get_last_lr()[0],
                   "images_per_s": round(window_micro * config.batch_size * world / seconds, 3)}
            bar.set_postfix(loss=f"{mean:.4f}", img_s=f"{row['images_per_s']:.2f}")
            if main:
                metrics.write(row)
            accelerator.log({"train/loss": mean, "train/lr": row["lr"], "train/images_per_s": row["images_per_s"]},
                            step=step)
            window_loss, window_micro, window_t = torch.zeros((), device=device), 0, time.perf_counter()
        if step % config.checkpoint_every == 0 or step == stop:
            _checkpoint(accelerator, run, step, config.keep_checkpoints)
        if main and ((config.validate_every and step % config.validate_every == 0) or step == config.steps):
            results.append(validator(denoiser, ema, step))
        accelerator.wait_for_everyone()
    bar.close()

    final = run / "final"
    digests = _same_weights_everywhere(params)
    if main and step == config.steps:
        unwrapped = accelerator.unwrap_model(denoiser)
        if ema is not None:
            ema.copy_to(params)  # the exported weights are the EMA's
        if final.exists():
            shutil.rmtree(final)
        details = _details(config, report, results, step, world)
        details["weights_sha256_per_process"] = digests
        export(unwrapped, config, final, details)
        (run / "data_report.json").write_text(json.dumps(report.as_dict(), indent=1))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(run, final, step, start_step, report, results, main)


def _same_weights_everywhere(params: list[torch.Tensor]) -> list[str]:
    """Each process's trained weights' SHA-256; different ones mean the processes drifted apart
    (data-parallel training keeps them identical), which is an error, not a model to export."""
    import hashlib

    from accelerate.utils import gather_object

    digest = hashlib.sha256()
    for p in params:
        digest.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    digests = gather_object([digest.hexdigest()])
    if len(set(digests)) > 1:
        raise TryOnError(f"the {len(digests)} processes ended with different weights ({', '.join(d[:12] for d in digests)})"
                         ": the run is not exported")
    return digests


def _has_tensorboard() -> bool:
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        log.warning("TensorBoard is not installed: no logs/ (metrics.jsonl is written all the same)")
        return False
    return True


def _checkpoint(accelerator, run: Path, step: int, keep: int) -> None:
    accelerator.save_state(str(run / "checkpoints" / f"step-{step}"))
    if accelerator.is_main_process:
        for old in checkpoints(run)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)


def _details(config: TrainConfig, report: DataReport, validation: list[dict], step: int, world: int) -> dict:
    import diffusers

    return {"settings": config.as_dict(), "steps": step, "processes": world, "data": report.as_dict(),
            "validation": validation[-1] if validation else None,
            "validation_first": validation[0] if validation else None,
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__},
            "licence": "the base model's licence applies to the exported weights (SD-1.5 inpainting: CreativeML "
                       "OpenRAIL-M); the rights in the training photos are the data owner's"}


class _Validator:
    """Fixed validation pairs rendered with the EMA weights into a grid (person, garment, masked
    person, result) and scored against the person photo by ``tryon eval``'s paired metrics."""

    def __init__(self, run: Path, dataset: TryOnDataset, parts: Components, config: TrainConfig, accelerator):
        self.run, self.parts, self.config, self.accelerator = run, parts, config, accelerator
        count = min(config.validation_pairs, len(dataset))
        self.items = [dataset.item(i) for i in range(count)]
        self.ids = [dataset.samples[i].id for i in range(count)]
        self.folder = run / "validation"
        self.targets = self.folder / "targets"
        self.targets.mkdir(parents=True, exist_ok=True)
        for item, sid in zip(self.items, self.ids):
            _save(item["person"], self.targets / f"{sid}.png")

    def __call__(self, denoiser, ema, step: int) -> dict:
        from tryon.metrics.evaluate import evaluate_folders

        model = self.accelerator.unwrap_model(denoiser)
        params = trainable_parameters(model)
        if ema is not None:
            ema.store(params)
            ema.copy_to(params)
        model.eval()
        p, c = self.parts, self.config
        pipe = CatVTONPipeline(model.unet, p.vae, make_scheduler("ddim", p.noise_scheduler.config), model.controlnet,
                               p.text_encoder, p.tokenizer)
        batch = _collate(self.items)
        with self.accelerator.autocast():
            images = pipe(batch["person"], batch["garment"], batch["mask"], steps=c.validation_steps,
                          guidance=c.guidance, generator=[torch.Generator().manual_seed(c.seed + i)
                                                          for i in range(len(self.items))],
                          pose=batch["pose"], prompts=batch["prompt"])
        model.train()
        if ema is not None:
            ema.restore(params)
        preds = self.folder / f"step-{step}"
        preds.mkdir(parents=True, exist_ok=True)
        for image, sid in zip(images, self.ids):
            _save(image * 2 - 1, preds / f"{sid}.png")
        summary = evaluate_folders(preds, self.targets).summary()
        _grid(batch, images, self.folder / f"step-{step}.png")
        row = {"step": step, "ssim": summary["ssim"], "psnr": summary["psnr"]}
        with open(self.run / "validation.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        self.accelerator.log({"val/ssim": row["ssim"], "val/psnr": row["psnr"]}, step=step)
        return row


def _to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] as an (H, W, 3) picture."""
    return ((pixels.detach().float().cpu().permute(1, 2, 0).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)


def _save(pixels: torch.Tensor, path: Path) -> None:
    from tryon.imageio import save_image

    save_image(_to_uint8(pixels), path)


def _grid(batch: dict, images: torch.Tensor, path: Path) -> None:
    """One row per pair: person, garment, what the model sees of the person, result."""
    from tryon.imageio import save_image

    rows = []
    for i in range(len(images)):
        masked = batch["person"][i] * (1 - batch["mask"][i])  # grey where regenerated
        cells = [batch["person"][i], batch["garment"][i], masked, images[i] * 2 - 1]
        rows.append(np.concatenate([_to_uint8(c) for c in cells], axis=1))
    save_image(np.concatenate(rows, axis=0), path)

