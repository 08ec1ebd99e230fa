"""Self-supervised training pairs on evalset persons: each person beside the flat-lay "product
photo" that ``tryon train --self-supervised`` makes of the garment it wears, per evalset half.

Prints, per half (split by source repository: ``Evalset.half``), how many persons were laid flat,
refused (no garment, or no person found) and the categories, and writes a contact sheet to judge
as a shopper would: does the flat-lay look like the product, with no face, hair, skin or background?

Usage: python benchmarks/flatlay_sheet.py [--half checking] [--sheet flatlay.png] [--limit 24]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter

import numpy as np
from PIL import Image

from tryon.data.evalset import Evalset, find_evalset
from tryon.errors import TryOnError
from tryon.person.analyzer import PersonAnalyzer
from tryon.garment.flatlay import flat_lay

CELL = (192, 256)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("tuning", "checking"), default="checking")
    ap.add_argument("--sheet", default="flatlay.png")
    ap.add_argument("--limit", type=int, default=24, help="persons on the sheet")
    args = ap.parse_args()
    root = find_evalset()
    if root is None:
        raise SystemExit("evalset not found: set TRYON_EVALSET")
    evalset = Evalset(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; evalset {root}")
    cells, t0 = [], time.perf_counter()
    with PersonAnalyzer() as analyzer:
        for half in ("tuning", "checking"):
            persons = [e for e in evalset.half(half) if e.kind == "person"]
            made, refused, categories = 0, Counter(), Counter()
            for n, e in enumerate(persons):
                try:
                    analysis = analyzer.analyze(e.path)
                    lay = flat_lay(analysis.image, analysis.parse, (576, 768), np.random.default_rng(n))
                except TryOnError as exc:
                    refused[str(exc).split(":")[0][:60]] += 1
                    continue
                made += 1
                categories[lay.category.value] += 1
                if half == args.half and len(cells) < args.limit:
                    person = Image.fromarray(analysis.image)
                    person.thumbnail(CELL)
                    pair = Image.new("RGB", (2 * CELL[0], CELL[1]), (60, 60, 60))
                    pair.paste(person, ((CELL[0] - person.width) // 2, (CELL[1] - person.height) // 2))
                    pair.paste(Image.fromarray(lay.image).resize(CELL, Image.LANCZOS), (CELL[0], 0))
                    cells.append(pair)
            print(f"{half} half: {len(persons)} persons, {made} laid flat ({dict(categories)}), "
                  f"{sum(refused.values())} refused {dict(refused)}")
    cols = 4
    rows = (len(cells) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * 2 * CELL[0] + (cols - 1) * 8, max(1, rows) * (CELL[1] + 8)), (30, 30, 30))
    for i, cell in enumerate(cells):
        sheet.paste(cell, ((i % cols) * (2 * CELL[0] + 8), (i // cols) * (CELL[1] + 8)))
    sheet.save(args.sheet)
    print(f"sheet of the {args.half} half: {args.sheet} ({len(cells)} persons); {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
