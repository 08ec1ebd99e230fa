"""tryon: image-based virtual try-on that installs with pip and runs on a CPU."""

__version__ = "0.1.0"
