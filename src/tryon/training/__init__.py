"""``tryon train``: latent-diffusion try-on trained from product pairs or from person photos alone.

Stages: :mod:`~tryon.training.data` (layouts, cached analysis, samples as tensors, with the
self-supervised product photos of :mod:`~tryon.garment.flatlay`), :mod:`~tryon.training.model`
(what learns, and the export), :mod:`~tryon.training.trainer` (the accelerate loop) and
:mod:`~tryon.training.config` (the settings, declared as data). Needs the ``train`` extra.
"""
