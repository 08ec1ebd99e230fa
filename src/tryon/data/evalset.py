"""Access to the evaluation photos (``shared/evalset``) used by tests and benchmarks.

One configurable path: ``$TRYON_EVALSET``, else the first ``shared/evalset`` found beside the
current folder or one of its parents. The photos are never copied into the project (their
licences are non-commercial, evaluation only).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path


def find_evalset() -> Path | None:
    env = os.environ.get("TRYON_EVALSET")
    if env:
        return Path(env) if (Path(env) / "manifest.csv").is_file() else None
    for base in [Path.cwd(), *Path.cwd().parents]:
        for candidate in (base / "shared" / "evalset", base.parent / "shared" / "evalset"):
            if (candidate / "manifest.csv").is_file():
                return candidate
    return None


@dataclass(frozen=True)
class Entry:
    file: str
    kind: str
    category: str
    pair_id: str
    notes: str
    path: Path
    source: str = ""  # the public repository the file was copied from

    @property
    def target(self) -> str | None:
        """For reference files: the evalset file (person or garment) they belong to."""
        if "for=" not in self.notes:
            return None
        return self.notes.split("for=", 1)[1].split("|")[0].strip()


class Evalset:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        with open(self.root / "manifest.csv", newline="") as fh:
            self.entries = [
                Entry(r["file"], r["kind"], r["category"], r["pair_id"], r["notes"], self.root / r["file"],
                      r.get("source_repo", ""))
                for r in csv.DictReader(fh)
            ]

    def of_kind(self, kind: str, category: str | None = None) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind and (category is None or e.category == category)]

    def half(self, name: str) -> list[Entry]:
        """The ``tuning`` or the ``checking`` half: split by source repository (sorted, alternately),
        so that near-identical photos of one repository never sit on both sides. Heuristics are
        tuned on the first; numbers are reported for both."""
        sources = sorted({e.source for e in self.entries})
        if name not in ("tuning", "checking"):
            raise ValueError("half: tuning or checking")
        keep = set(sources[0 if name == "tuning" else 1::2])
        return [e for e in self.entries if e.source in keep]

    def references(self, kind: str) -> list[tuple[Entry, Entry]]:
        """(reference, the image it describes) for every reference file of ``kind``."""
        by_file = {e.file: e for e in self.entries}
        out = []
        for e in self.of_kind(kind):
            target = by_file.get(e.target or "")
            if target is not None:
                out.append((e, target))
        return out

    def masked_pairs(self) -> list[tuple[str, Entry, Entry, Entry]]:
        """(pair id, person, garment, reference agnostic mask) for every ground-truth pair that has a
        reference mask: the inputs of the paired protocol."""
        masks = {p.file: r for r, p in self.references("mask") if p.pair_id}
        garments: dict[str, Entry] = {}
        for g in self.of_kind("garment"):
            garments.setdefault(g.pair_id, g)  # the first product photo of a pair
        return [(p.pair_id, p, garments[p.pair_id], masks[p.file]) for p in self.of_kind("person")
                if p.pair_id and p.file in masks and p.pair_id in garments]
