"""Running the pipeline at scale: batch rendering on a Ray cluster."""
