"""Garment photos that show a person: how often the garment analysis takes them for what they are.

Every evalset person photo is given as a garment photo (it must be cut out, or refused with a 422
reason: never taken as a product shot), and every product photo as itself (it must not be taken
for a person). Printed per evalset half (tuned on ``tuning``), with the check's time per photo.

    python benchmarks/worn_garments.py [--sheet out.png]
"""

from __future__ import annotations

import argparse
import sys
import time

import cv2
import numpy as np

from tryon.data.evalset import Evalset, find_evalset
from tryon.errors import GarmentError
from tryon.garment.analyzer import GarmentAnalyzer
from tryon.imageio import encode_image, load_image, save_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", help="write the cut-outs of person photos side by side to this PNG")
    args = parser.parse_args()
    root = find_evalset()
    if root is None:
        sys.exit("no evalset (set TRYON_EVALSET)")
    ev = Evalset(root)
    analyzer = GarmentAnalyzer()
    tiles = []
    print(f"machine: 2-core x86_64, no GPU; evalset {root}")
    for half in ("tuning", "checking"):
        entries = ev.half(half)
        persons = [e for e in entries if e.kind == "person"]
        garments = [e for e in entries if e.kind == "garment"]
        cut = refused = pasted = 0
        for e in persons:
            try:
                g = analyzer.analyze(load_image(e.path))
            except GarmentError:
                refused += 1
                continue
            if g.worn_photo is None:
                pasted += 1
                print(f"  {half}: person taken as a product shot: {e.file}")
            else:
                cut += 1
                if args.sheet:
                    tiles.append((load_image(e.path), g.image))
        flagged, copies, times = 0, 0, []
        for e in garments:
            image = load_image(e.path)
            t = time.perf_counter()
            wearer = analyzer.wearers(image)
            times.append(time.perf_counter() - t)
            if wearer is not None:
                flagged += 1
                print(f"  {half}: product photo taken for a person: {e.file}")
            # A shop's re-encoded, resized copy (as the catalog benchmark makes): the same answer.
            small = cv2.resize(image, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
            copy = load_image(encode_image(small, "jpeg", quality=70))
            if (analyzer.wearers(copy) is not None) != (wearer is not None):
                copies += 1
                print(f"  {half}: its re-encoded copy answers otherwise: {e.file}")
        print(f"{half}: persons as garments {len(persons)}: cut out {cut}, refused {refused}, taken as a product "
              f"shot {pasted}; product photos {len(garments)}: taken for a person {flagged}, copies answered otherwise "
              f"{copies}; check "
              f"{1000 * np.median(times):.0f} ms median, {1000 * np.mean(times):.0f} ms mean on product photos")
    if args.sheet and tiles:
        h = 256
        row = [np.concatenate([cv2.resize(a, (round(a.shape[1] * h / a.shape[0]), h), interpolation=cv2.INTER_AREA)
                               for a in pair], axis=1) for pair in tiles]
        width = max(r.shape[1] for r in row)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in row]
        per_line = 4
        lines = [np.concatenate(rows[i:i + per_line] + [np.full_like(rows[0], 255)] * (per_line - len(rows[i:i + per_line])), 1)
                 for i in range(0, len(rows), per_line)]
        save_image(np.concatenate(lines), args.sheet)
        print(f"sheet: {args.sheet}")


if __name__ == "__main__":
    main()
