"""``python -m tryon.training DATA ...`` is ``tryon train DATA ...``; it is what ``accelerate launch``
starts on each process: ``accelerate launch --num_processes 8 -m tryon.training DATA --out RUN``."""

import sys

from tryon.cli import main

main(["train", *sys.argv[1:]])
