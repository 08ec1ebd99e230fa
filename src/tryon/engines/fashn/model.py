"""FASHN VTON v1.5's try-on transformer: an MMDiT that denoises the person photo in pixel space.

The person stream is the noisy picture, the clothing-agnostic photo and the person's pose image,
cut into 12x12 patches; the garment stream is the garment photo and its pose image. A few
single-stream blocks mix the person's patches first, then double-stream blocks (separate weights
per stream, one joint attention) and single-stream blocks (shared weights over both streams' tokens)
follow, as in FLUX.1. Time and garment category modulate every block. The output is the velocity
from noise to picture, in pixels.

The published ``model.safetensors`` stores tensors only: the architecture is read from their
shapes (:func:`config_from_state_dict`) and the working size from the input, so the same weights
run at any size whose sides are multiples of the patch size (published: 864x576).

Written for speed in bf16 on a GPU with the published maths: the rotary tables depend only on the
patch grid and are built once per size; attention is PyTorch's fused SDPA; the guided and unguided
halves of classifier-free guidance run as one batch (``keep``). The repeated blocks are listed for
diffusers' regional ``compile_repeated_blocks``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import Tensor, nn

from tryon.errors import WeightsError

#: Sinusoidal features the time (and guidance) embedders start from, and their period and scale:
#: times in [0, 1] are multiplied by 1000 as diffusion timesteps are.
TIME_FEATURES = 256
TIME_MAX_PERIOD = 10_000
TIME_SCALE = 1000.0
#: Epsilon of every LayerNorm (no affine parameters: modulation supplies scale and shift) and RMSNorm.
NORM_EPS = 1e-6
#: Share of the rotary dimensions given to the stream axis (always position 0, so never rotated);
#: rows and columns split the rest equally. The file does not store the split: this rule gives the
#: published (16, 56, 56) for 128-dimensional heads.
STREAM_AXIS_SHARE = 8


def default_axes_dim(head_dim: int) -> tuple[int, int, int]:
    """Rotary dimensions per position axis (stream, row, column) for heads of ``head_dim``."""
    first = head_dim // STREAM_AXIS_SHARE
    rest = (head_dim - first) // 2
    if first % 2 or rest % 2 or first + 2 * rest != head_dim:
        raise ValueError(f"head size {head_dim} has no default rotary split (needs a multiple of 32); "
                         "give axes_dim explicitly")
    return first, rest, rest


class Rotary(NamedTuple):
    """Rotary position tables for a token sequence: ``cos`` and ``sin`` of shape (L, 1, head_dim / 2).

    Adjacent pairs of a head's channels (0-1, 2-3, ...) are rotated by the angle of their frequency.
    The rotation runs in the activations' dtype: the published code upcasts queries and keys to
    float32 for it, which in bf16 doubles the memory traffic of the most frequent elementwise step
    while bf16 rounding elsewhere dominates (measured on the full model: our bf16 sampler and the
    published one agree to 49 dB, both 23.5 dB from float32).
    """

    cos: Tensor
    sin: Tensor

    def apply(self, x: Tensor) -> Tensor:
        """Rotate queries or keys of shape (B, L, heads, head_dim)."""
        real, imag = x.unflatten(-1, (-1, 2)).unbind(-1)
        return torch.stack((real * self.cos - imag * self.sin, real * self.sin + imag * self.cos), -1).flatten(-2)

    def repeat(self, times: int) -> "Rotary":
        """The tables for ``times`` sequences of this grid one after another (the joint attention's)."""
        return Rotary(self.cos.repeat(times, 1, 1), self.sin.repeat(times, 1, 1))


def grid_rotary(rows: int, cols: int, axes_dim: tuple[int, ...], theta: float, device: torch.device,
                dtype: torch.dtype) -> Rotary:
    """Tables for a row-major grid of patches; positions are (0, row, column).

    Angles are computed in float64 and rounded to float32, as published, then to ``dtype``.
    """
    row, col = torch.meshgrid(torch.arange(rows, dtype=torch.float64), torch.arange(cols, dtype=torch.float64),
                              indexing="ij")
    positions = (torch.zeros(rows * cols, dtype=torch.float64), row.flatten(), col.flatten())
    angles = []
    for pos, dim in zip(positions, axes_dim):
        freqs = theta ** -(torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        angles.append(pos[:, None] * freqs)
    angle = torch.cat(angles, dim=-1)[:, None, :]
    cos, sin = (f(angle).float().to(device=device, dtype=dtype) for f in (torch.cos, torch.sin))
    return Rotary(cos, sin)


def attend(q: Tensor, k: Tensor, v: Tensor, rotary: Rotary) -> Tensor:
    """Attention over (B, L, heads, head_dim) queries, keys and values; returns (B, L, heads * head_dim).

    The (B, L, heads, D) layout transposed to (B, heads, L, D) is what fused kernels read directly.
    """
    q, k = rotary.apply(q), rotary.apply(k)
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2).flatten(2)


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


def layer_norm(x: Tensor) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], eps=NORM_EPS)


class RMSNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.scale.shape, self.scale, NORM_EPS)


class QKNorm(nn.Module):
    """Per-head RMS normalisation of queries and keys, which keeps attention logits bounded."""

    def __init__(self, head_dim: int):
        super().__init__()
        self.query_norm = RMSNorm(head_dim)
        self.key_norm = RMSNorm(head_dim)


class Modulation(nn.Module):
    """``chunks`` vectors (shift, scale, gate, ...) of width ``dim`` from the conditioning vector."""

    def __init__(self, dim: int, chunks: int):
        super().__init__()
        self.chunks = chunks
        self.lin = nn.Linear(dim, chunks * dim)

    def forward(self, vec: Tensor) -> tuple[Tensor, ...]:
        return self.lin(F.silu(vec))[:, None, :].chunk(self.chunks, dim=-1)


class StreamAttention(nn.Module):
    """One stream's projections in a double-stream block (the attention itself is joint)."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.norm = QKNorm(dim // heads)
        self.proj = nn.Linear(dim, dim)

    def queries_keys_values(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, -1)).unbind(2)
        return self.norm.query_norm(q), self.norm.key_norm(k), v


def feed_forward(dim: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))


class DoubleStreamBlock(nn.Module):
    """Person (``img``) and garment (``txt``) tokens with their own weights, attending jointly
    (garment tokens first in the joint sequence)."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int, qkv_bias: bool):
        super().__init__()
        self.img_mod = Modulation(dim, 6)
        self.img_attn = StreamAttention(dim, heads, qkv_bias)
        self.img_mlp = feed_forward(dim, mlp_hidden)
        self.txt_mod = Modulation(dim, 6)
        self.txt_attn = StreamAttention(dim, heads, qkv_bias)
        self.txt_mlp = feed_forward(dim, mlp_hidden)

    def forward(self, img: Tensor, txt: Tensor, vec: Tensor, rotary: Rotary) -> tuple[Tensor, Tensor]:
        img_mod, txt_mod = self.img_mod(vec), self.txt_mod(vec)
        img_q, img_k, img_v = self.img_attn.queries_keys_values(modulate(layer_norm(img), *img_mod[:2]))
        txt_q, txt_k, txt_v = self.txt_attn.queries_keys_values(modulate(layer_norm(txt), *txt_mod[:2]))
        out = attend(torch.cat((txt_q, img_q), 1), torch.cat((txt_k, img_k), 1), torch.cat((txt_v, img_v), 1),
                     rotary)
        txt_out, img_out = out.split((txt.shape[1], img.shape[1]), dim=1)
        img = self._residual(img, img_out, img_mod, self.img_attn, self.img_mlp)
        txt = self._residual(txt, txt_out, txt_mod, self.txt_attn, self.txt_mlp)
        return img, txt

    @staticmethod
    def _residual(x: Tensor, attn_out: Tensor, mod: tuple[Tensor, ...], attn: StreamAttention,
                  mlp: nn.Sequential) -> Tensor:
        _, _, gate1, shift2, scale2, gate2 = mod
        x = x + gate1 * attn.proj(attn_out)
        return x + gate2 * mlp(modulate(layer_norm(x), shift2, scale2))


class SingleStreamBlock(nn.Module):
    """Attention and MLP in parallel from one input projection (ViT-22B style), one set of weights
    for every token."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int):
        super().__init__()
        self.heads = heads
        self.split = (3 * dim, mlp_hidden)
        self.linear1 = nn.Linear(dim, 3 * dim + mlp_hidden)
        self.linear2 = nn.Linear(dim + mlp_hidden, dim)
        self.norm = QKNorm(dim // heads)
        self.modulation = Modulation(dim, 3)

    def forward(self, x: Tensor, vec: Tensor, rotary: Rotary) -> Tensor:
        shift, scale, gate = self.modulation(vec)
        qkv, mlp = self.linear1(modulate(layer_norm(x), shift, scale)).split(self.split, dim=-1)
        q, k, v = qkv.unflatten(-1, (3, self.heads, -1)).unbind(2)
        out = attend(self.norm.query_norm(q), self.norm.key_norm(k), v, rotary)
        return x + gate * self.linear2(torch.cat((out, F.gelu(mlp, approximate="tanh")), dim=-1))


class FinalLayer(nn.Module):
    def __init__(self, dim: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(dim, out_features)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: Tensor, vec: Tensor) -> Tensor:
        shift, scale = self.adaLN_modulation(vec)[:, None, :].chunk(2, dim=-1)
        return self.linear(modulate(layer_norm(x), shift, scale))


class TimeEmbedding(nn.Module):
    """Sinusoidal features of a time in [0, 1] (scaled by :data:`TIME_SCALE`) through a small MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.ModuleDict({"in_layer": nn.Linear(TIME_FEATURES, dim), "out_layer": nn.Linear(dim, dim)})

    def forward(self, t: Tensor) -> Tensor:
        # The scaling happens in t's own dtype: the published sampler hands times in the weights'
        # dtype (bf16 on a GPU), and matching its rounding keeps bf16 results alike.
        t = TIME_SCALE * t
        half = TIME_FEATURES // 2
        freqs = torch.exp(-math.log(TIME_MAX_PERIOD) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t[:, None].float() * freqs
        features = torch.cat((torch.cos(args), torch.sin(args)), dim=-1).to(self.mlp.in_layer.weight.dtype)
        return self.mlp.out_layer(F.silu(self.mlp.in_layer(features)))


class PatchEmbed(nn.Module):
    """Non-overlapping patches to tokens (a strided convolution), row-major."""

    def __init__(self, in_channels: int, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def drop_condition(x: Tensor, keep: Tensor) -> Tensor:
    """``x`` where ``keep``, zeros elsewhere (the unguided branch of classifier-free guidance)."""
    return torch.where(keep.view(-1, *([1] * (x.dim() - 1))), x, 0)


class FashnMMDiT(ModelMixin, ConfigMixin):
    """The try-on transformer; defaults are the published architecture (972M parameters)."""

    _repeated_blocks = ["DoubleStreamBlock", "SingleStreamBlock"]

    @register_to_config
    def __init__(self, hidden_size: int = 1280, num_heads: int = 10, double_blocks_depth: int = 8,
                 single_blocks_depth: int = 16, patch_mixer_depth: int = 4, mlp_ratio: float = 4.0, channels: int = 3,
                 patch_size: int = 12, theta: float = 10_000, axes_dim: tuple[int, ...] | None = None,
                 qkv_bias: bool = True, guidance_embed: bool = False, n_classes: int = 3):
        super().__init__()
        head_dim = hidden_size // num_heads
        self.rotary_axes = tuple(axes_dim) if axes_dim is not None else default_axes_dim(head_dim)
        if head_dim * num_heads != hidden_size or sum(self.rotary_axes) != head_dim or len(self.rotary_axes) != 3:
            raise ValueError(f"hidden size {hidden_size} with {num_heads} heads and rotary axes {self.rotary_axes}: "
                             "the heads must divide the width and the three axes must sum to the head size")
        mlp_hidden = int(hidden_size * mlp_ratio)
        self.t_embedder = TimeEmbedding(hidden_size)
        # One row more than the categories: row 0 is what the unguided branch sees.
        self.y_embedder = nn.Embedding(n_classes + 1, hidden_size) if n_classes > 0 else None
        self.guidance_embedder = TimeEmbedding(hidden_size) if guidance_embed else None
        self.x_embedder = PatchEmbed(2 * channels + 1, hidden_size, patch_size)
        self.garment_embedder = PatchEmbed(channels + 1, hidden_size, patch_size)
        if patch_mixer_depth:
            self.x_patch_mixer = nn.ModuleList(
                SingleStreamBlock(hidden_size, num_heads, mlp_hidden) for _ in range(patch_mixer_depth))
            # Part of the published file (a training-time mask token); inference never reads it.
            self.register_buffer("patch_mixer_token", torch.zeros(1, 1, channels * patch_size ** 2))
        else:
            self.x_patch_mixer = nn.ModuleList()
        self.double_blocks = nn.ModuleList(
            DoubleStreamBlock(hidden_size, num_heads, mlp_hidden, qkv_bias) for _ in range(double_blocks_depth))
        self.single_blocks = nn.ModuleList(
            SingleStreamBlock(hidden_size, num_heads, mlp_hidden) for _ in range(single_blocks_depth))
        self.final_layer = FinalLayer(hidden_size, channels * patch_size ** 2)
        self._rotary: dict[tuple, Rotary] = {}

    def rotary(self, rows: int, cols: int, device: torch.device, dtype: torch.dtype) -> Rotary:
        """The tables of one stream's patch grid, built once per grid, device and dtype."""
        key = (rows, cols, device, dtype)
        if key not in self._rotary:
            self._rotary[key] = grid_rotary(rows, cols, self.rotary_axes, self.config.theta, device, dtype)
        return self._rotary[key]

    def forward(self, x: Tensor, timesteps: Tensor, ca_images: Tensor, garment_images: Tensor,
                person_poses: Tensor, garment_poses: Tensor, categories: Tensor | None = None,
                keep: Tensor | None = None, guidance: Tensor | None = None) -> Tensor:
        """Velocity from noise to picture, (B, C, H, W).

        ``x``: the noisy picture at time ``timesteps`` (B,) in [0, 1] (0 = noise, 1 = picture);
        ``ca_images``, ``garment_images``: (B, C, H, W) in [-1, 1]; ``person_poses``, ``garment_poses``:
        (B, 1, H, W); ``categories``: (B,) long, 1-based. ``keep`` (B,) bool: where False, the images,
        poses and category are dropped (zeros and category 0), the unguided branch of classifier-free
        guidance. H and W must be multiples of the patch size, equal for person and garment.
        """
        cfg = self.config
        p = cfg.patch_size
        b, _, h, w = x.shape
        if h % p or w % p or garment_images.shape[-2:] != (h, w):
            raise ValueError(f"person {h}x{w} and garment {tuple(garment_images.shape[-2:])} must be the same "
                             f"size, a multiple of the patch size {p}")
        if keep is not None:
            ca_images, garment_images, person_poses, garment_poses = (
                drop_condition(t, keep) for t in (ca_images, garment_images, person_poses, garment_poses))
            categories = None if categories is None else torch.where(keep, categories, 0)
        img = self.x_embedder(torch.cat((x, ca_images, person_poses), dim=1))
        txt = self.garment_embedder(torch.cat((garment_images, garment_poses), dim=1))

        vec = self.t_embedder(timesteps)
        if self.guidance_embedder is not None:
            if guidance is None:
                raise ValueError("this model was distilled with guidance: give the guidance scale")
            vec = vec + self.guidance_embedder(guidance)
        if self.y_embedder is not None:
            if categories is None:
                raise ValueError("this model is conditioned on the garment category: give categories")
            vec = vec + self.y_embedder(categories)

        rotary = self.rotary(h // p, w // p, x.device, img.dtype)
        for block in self.x_patch_mixer:
            img = block(img, vec, rotary)
        joint = rotary.repeat(2)  # both streams share one grid: garment tokens, then person tokens
        for block in self.double_blocks:
            img, txt = block(img, txt, vec, joint)
        tokens = torch.cat((txt, img), dim=1)
        for block in self.single_blocks:
            tokens = block(tokens, vec, joint)
        out = self.final_layer(tokens[:, txt.shape[1]:], vec)
        return out.view(b, h // p, w // p, cfg.channels, p, p).permute(0, 3, 1, 4, 2, 5).reshape(b, cfg.channels, h, w)


# -- the published file -----------------------------------------------------------------------------

def _count(tensors: dict[str, Tensor], prefix: str) -> int:
    indices = {int(k[len(prefix):].split(".")[0]) for k in tensors if k.startswith(prefix)}
    return max(indices) + 1 if indices else 0


def _first(tensors: dict[str, Tensor], suffix: str, prefixes: tuple[str, ...]) -> Tensor | None:
    for key in sorted(tensors):
        if key.endswith(suffix) and key.startswith(prefixes):
            return tensors[key]
    return None


def config_from_state_dict(tensors: dict[str, Tensor], axes_dim: tuple[int, ...] | None = None) -> dict:
    """The architecture (FashnMMDiT's arguments) read from tensor names and shapes.

    Each number is read from whichever block holds it, so one missing or misshapen tensor shows up as
    that key in the layout check rather than as a wrong architecture. The rotary split is not stored:
    ``axes_dim`` overrides the default rule (:func:`default_axes_dim`).
    """
    embed = tensors.get("x_embedder.proj.weight")
    if embed is None or embed.dim() != 4:
        raise WeightsError("no x_embedder.proj.weight of shape (hidden, 2C+1, patch, patch): not a FASHN VTON "
                           "try-on model")
    hidden, in_channels, patch = embed.shape[0], embed.shape[1], embed.shape[-1]
    blocks = ("double_blocks.", "single_blocks.", "x_patch_mixer.")
    head_norm = _first(tensors, "norm.query_norm.scale", blocks)
    if head_norm is None:
        raise WeightsError("no block's norm.query_norm.scale: cannot read the head size")
    mlp_in = _first(tensors, "img_mlp.0.weight", ("double_blocks.",))
    single_in = _first(tensors, "linear1.weight", blocks)
    if mlp_in is not None:
        mlp_hidden = mlp_in.shape[0]
    elif single_in is not None:
        mlp_hidden = single_in.shape[0] - 3 * hidden
    else:
        raise WeightsError("no MLP weight (img_mlp.0.weight or linear1.weight): cannot read the MLP width")
    head_dim = head_norm.shape[0]
    y = tensors.get("y_embedder.weight")
    return {
        "hidden_size": hidden,
        "num_heads": hidden // head_dim,
        "double_blocks_depth": _count(tensors, "double_blocks."),
        "single_blocks_depth": _count(tensors, "single_blocks."),
        "patch_mixer_depth": _count(tensors, "x_patch_mixer."),
        "mlp_ratio": mlp_hidden / hidden,
        "channels": (in_channels - 1) // 2,
        "patch_size": patch,
        "axes_dim": tuple(axes_dim) if axes_dim is not None else default_axes_dim(head_dim),
        "qkv_bias": any(k.startswith("double_blocks.") and k.endswith("attn.qkv.bias") for k in tensors),
        "guidance_embed": any(k.startswith("guidance_embedder.") for k in tensors),
        "n_classes": y.shape[0] - 1 if y is not None else 0,
    }


def _listing(items: list[str], limit: int = 4) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def check_layout(tensors: dict[str, Tensor], expected: dict[str, tuple[int, ...]], source: str) -> None:
    """Raise :class:`WeightsError`, one line naming the missing, unexpected and misshapen keys."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    misshapen = [f"{k} is {tuple(tensors[k].shape)}, expected {expected[k]}"
                 for k in sorted(set(expected) & set(tensors)) if tuple(tensors[k].shape) != expected[k]]
    problems = [f"{len(keys)} {what}: {_listing(keys)}" for what, keys in
                (("missing", missing), ("unexpected", extra), ("misshapen", misshapen)) if keys]
    if problems:
        raise WeightsError(f"{source} does not fit the FASHN VTON layout its shapes describe "
                           f"({len(expected)} tensors): " + "; ".join(problems))


def read_tensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None


def load_fashn_model(path: str | Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                     axes_dim: tuple[int, ...] | None = None) -> FashnMMDiT:
    """The model in ``path`` (a ``model.safetensors``), checked key by key and shape by shape against
    the architecture its shapes describe, in ``dtype`` on ``device``, in eval mode."""
    path = Path(path)
    tensors = read_tensors(path)
    try:
        config = config_from_state_dict(tensors, axes_dim)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    with torch.device("meta"):
        model = FashnMMDiT(**config)
    check_layout(tensors, {k: tuple(v.shape) for k, v in model.state_dict().items()}, str(path))
    model.load_state_dict({k: v.to(device=device, dtype=dtype) for k, v in tensors.items()}, assign=True)
    return model.eval()
