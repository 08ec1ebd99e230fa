"""Optional CLIP for the catalog: text search ("red silk V-neck dress") over the garments' photos.

No package ships CLIP weights; real deployments have them, by hub id (``openai/clip-vit-base-patch32``,
``laion/CLIP-ViT-B-32-laion2B-s34B-b79K``...) or from a folder in the published transformers layout
(``config.json``, the weights, ``preprocessor_config.json`` and the tokenizer files). The model is
named in the index (source and a digest of its config), so a search with another model is refused
rather than silently wrong.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tryon.errors import ModelUnavailableError

#: Photos per forward pass.
BATCH = 16


def _config_digest(source: str) -> str:
    path = Path(source) / "config.json"
    if not path.is_file():
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(source, "config.json"))
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class ClipEncoder:
    """CLIP's image and text towers, their outputs as unit vectors in one space."""

    def __init__(self, source: str, device: str | None = None):
        try:
            import torch
            from transformers import CLIPModel, CLIPTokenizer
            try:  # transformers 5: the PIL image processor needs no torchvision
                from transformers import CLIPImageProcessorPil as Processor
            except ImportError:
                from transformers import CLIPImageProcessor as Processor
        except ImportError as exc:
            raise ModelUnavailableError(f"CLIP needs transformers and torch: pip install 'tryon[catalog,train]' "
                                        f"({exc.name} missing)") from None
        try:
            self.model = CLIPModel.from_pretrained(source).eval()
            self.tokenizer = CLIPTokenizer.from_pretrained(source)
            self.processor = Processor.from_pretrained(source)
            self.model_id = f"{source}@{_config_digest(source)}"
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise ModelUnavailableError(f"CLIP {source!r}: not a CLIP folder or a reachable hub id "
                                        f"({type(exc).__name__})") from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    @staticmethod
    def _unit(x) -> np.ndarray:
        x = getattr(x, "pooler_output", x)  # transformers 5 wraps the projected features in an output object
        x = x.float().cpu().numpy()
        return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def images(self, images: list[np.ndarray]) -> np.ndarray:
        """(N, D) unit image embeddings of RGB uint8 photos."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), BATCH):
                pixels = self.processor(images=images[i:i + BATCH], return_tensors="pt")["pixel_values"]
                out.append(self._unit(self.model.get_image_features(pixel_values=pixels.to(self.device))))
        return np.concatenate(out) if out else np.zeros((0, self.model.config.projection_dim), np.float32)

    def text(self, query: str) -> np.ndarray:
        """(D,) unit text embedding of a query."""
        import torch

        tokens = self.tokenizer([query], padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            return self._unit(self.model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items()}))[0]
