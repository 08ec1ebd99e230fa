"""The ``catvton`` engine: CatVTON's latent-diffusion try-on on diffusers, from weights the user has.

CatVTON (ICLR 2025) is Stable Diffusion 1.5 inpainting with the person and the garment concatenated
in latent space, no text encoder, and only the UNet's self-attention layers fine-tuned. The weights
are CC BY-NC-SA and downloaded by the user; this package loads them from local folders and never
fetches anything. Needs the ``catvton`` extra (PyTorch, diffusers, safetensors, accelerate).
"""
