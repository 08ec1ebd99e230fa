"""``tryon train``'s settings, declared as data.

One frozen dataclass, declared with the same :func:`tryon.engines.options.option` as the engines'
options: ``tryon train``'s flags, the TOML file given with ``--config`` and the model card all read
this declaration. Precedence: the declared default < the config file < flags.

A config file holds the settings at its top level (or under ``[train]``)::

    base_model = "booksforcharlie/stable-diffusion-inpainting"
    size = "384x512"
    steps = 16000
    batch_size = 8
    controlnet = "pose"
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from tryon.engines.options import OptionError, check_size, coerce, describe, option

LAYOUTS = ("auto", "vitonhd", "dresscode", "persons")
TRAINED = ("attention", "lora", "full")
CONTROLNETS = ("none", "pose")
PRECISIONS = ("auto", "no", "fp16", "bf16")
SCHEDULES = ("cosine", "linear", "constant")


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = option("booksforcharlie/stable-diffusion-inpainting",
                             "Stable Diffusion 1.5 inpainting, diffusers layout (folder or hub id).")
    vae: str = option("stabilityai/sd-vae-ft-mse", "The VAE (folder or hub id); 'base' for the base model's own.")
    layout: str = option("auto", "Data layout: vitonhd, dresscode, persons (photos alone; implies self-supervised) "
                         "or auto (from the folder).", choices=LAYOUTS)
    split: str = option("train", "The split to train on: VITON-HD's <split>/ folder and <split>_pairs.txt (tryon "
                        "prepare --split train writes them), DressCode's <split>_pairs.txt.")
    self_supervised: bool = option(False, "Person photos alone: the worn garment, cut out by our parser and laid "
                                   "flat on white, stands in for the product photo.")
    size: tuple[int, int] = option((384, 512), "Training size WIDTHxHEIGHT, multiples of 8 (CatVTON: 768x1024).")
    steps: int = option(16000, "Optimizer steps.")
    batch_size: int = option(4, "Pairs per step on each GPU.")
    grad_accum: int = option(1, "Gradient accumulation: micro-batches per optimizer step.")
    train: str = option("attention", "What learns: attention (the self-attention layers, CatVTON's recipe, ~50M "
                        "parameters), lora (peft adapters on the attention) or full (the whole UNet).",
                        choices=TRAINED)
    lora_rank: int = option(32, "LoRA rank (with --train lora).")
    controlnet: str = option("none", "pose: add a ControlNet on renderings of our keypoints, initialised from the "
                             "UNet with a zero output.", choices=CONTROLNETS)
    text: bool = option(False, "Text control through the base model's CLIP text encoder (prompts from a "
                        "captions file, or made from the category and colour).")
    captions: str = option("", "captions file: lines 'ID<TAB>prompt' (ID: the person photo's name without "
                           "extension); default: the data folder's captions.txt if present.")
    prompt_dropout: float = option(0.1, "Fraction of samples trained with the empty prompt (for guidance).")
    garment_dropout: float = option(0.1, "Fraction of samples whose garment is zeroed (classifier-free guidance).")
    mask_weight: float = option(1.0, "Loss weight inside the regenerated region relative to outside (1 = uniform).")
    lr: float = option(1e-5, "Peak learning rate (AdamW); CatVTON used 1e-5 at batch 128.")
    weight_decay: float = option(1e-2, "AdamW weight decay.")
    warmup: int = option(500, "Learning-rate warm-up steps.")
    schedule: str = option("cosine", "Learning-rate decay after the warm-up.", choices=SCHEDULES)
    max_grad_norm: float = option(1.0, "Gradient clipping norm (0 = none).")
    ema_decay: float = option(0.9999, "Largest EMA decay of the trained weights (0 = no EMA); it warms up from 0.")
    precision: str = option("auto", "Mixed precision: bf16 on GPUs that have it, else fp16; no on a CPU.",
                            choices=PRECISIONS)
    gradient_checkpointing: bool = option(False, "Recompute activations in the backward pass: less memory, "
                                          "slower (an H200 at 384x512: 20.5 images/s in batches of 8 with it, "
                                          "33.6 in batches of 16 without).")
    seed: int = option(42, "Seed of initialisation, data order, augmentation and noise.")
    flip: float = option(0.5, "Probability of a horizontal flip (applied to every input of a sample).")
    crop: float = option(0.1, "Largest random crop, as a fraction cut off each side (every input alike).")
    workers: int = option(2, "Data-loading worker processes per GPU.")
    log_every: int = option(10, "Steps between lines of metrics.jsonl and TensorBoard points.")
    checkpoint_every: int = option(1000, "Steps between checkpoints (accelerate's full state).")
    keep_checkpoints: int = option(3, "Checkpoints kept (the oldest are removed).")
    validate_every: int = option(1000, "Steps between validation renders (0 = only at the end).")
    validation_pairs: int = option(4, "Fixed pairs rendered at each validation.")
    validation_steps: int = option(20, "Sampling steps of the validation renders (DDIM).")
    guidance: float = option(2.5, "Guidance scale of the validation renders.")

    def check(self) -> None:
        check_size(self.size)
        positive = {"steps": self.steps, "batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "lora_rank": self.lora_rank, "log_every": self.log_every,
                    "checkpoint_every": self.checkpoint_every, "keep_checkpoints": self.keep_checkpoints,
                    "validation_steps": self.validation_steps}
        bad = [k for k, v in positive.items() if v < 1]
        if bad:
            raise OptionError(f"{', '.join(bad)}: must be at least 1")
        fractions = {"prompt_dropout": self.prompt_dropout, "garment_dropout": self.garment_dropout,
                     "flip": self.flip, "ema_decay": self.ema_decay}
        bad = [k for k, v in fractions.items() if not 0 <= v <= 1] + (["crop"] if not 0 <= self.crop < 0.5 else [])
        if bad:
            raise OptionError(f"{', '.join(bad)}: out of range (fractions in 0..1, crop below 0.5)")
        if self.lr <= 0 or self.mask_weight <= 0 or self.warmup < 0 or self.workers < 0:
            raise OptionError("lr and mask_weight must be positive, warmup and workers at least 0")

    @property
    def pose(self) -> bool:
        return self.controlnet == "pose"

    def as_dict(self) -> dict[str, Any]:
        return {k: (f"{v[0]}x{v[1]}" if k == "size" else v) for k, v in asdict(self).items()}


def load_config(flags: Mapping[str, Any] | None = None, config_file: str | Path | None = None) -> TrainConfig:
    """The settings: defaults < ``config_file`` (its top level, or its ``[train]`` table) < ``flags``
    (None counts as not given). Unknown names and bad values are :class:`OptionError` saying where."""
    infos = {i.name: i for i in describe(TrainConfig)}
    values: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise OptionError(f"{path}: not a readable TOML file ({exc})") from None
        data = data.get("train", data)
        unknown = sorted(k for k in data if k not in infos)
        if unknown:
            raise OptionError(f"{path}: unknown setting(s) {', '.join(unknown)} (settings: {', '.join(infos)})")
        values.update({k: coerce(infos[k], v, str(path)) for k, v in data.items()})
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    unknown = sorted(k for k in given if k not in infos)
    if unknown:
        raise OptionError(f"unknown setting(s) {', '.join(unknown)}")
    values.update({k: coerce(infos[k], v, "--" + k.replace("_", "-")) for k, v in given.items()})
    config = replace(TrainConfig(), **values)
    config.check()
    return config
