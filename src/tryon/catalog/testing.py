"""A tiny random CLIP in the published transformers layout, for tests: both towers, the tokenizer and
``preprocessor_config.json``, loaded through the real loading code (no torchvision needed)."""

from __future__ import annotations

import json
from pathlib import Path

from tryon.engines.catvton.testing import tiny_clip_text_config, write_clip_tokenizer

#: OpenAI CLIP's published image normalisation.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def write_tiny_clip_model(folder: str | Path, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    folder = Path(folder)
    vocab_size = write_clip_tokenizer(folder)
    torch.manual_seed(seed)
    config = CLIPConfig(text_config=tiny_clip_text_config(vocab_size), projection_dim=16,
                        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                           num_attention_heads=2, image_size=32, patch_size=8))
    CLIPModel(config).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 32},
        "do_center_crop": True, "crop_size": {"height": 32, "width": 32}, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
        "resample": 3, "do_convert_rgb": True}))
    return folder
