"""Where the top ends and the bottom begins across the torso.

The parse splits garment pixels into top and bottom by colour models learned at the chest and
the thighs, weighed against a prior that changes over at the hip joints. Near the waist that
fails in two ways: colours neither seed shows (a jeans' waistband lighter than its legs, the
top's shadow over its hem) are left to the prior, which gives them to the top down to the hip
joints; and the smoothed posterior wanders, so the line between the garments comes out
blotched. A new skirt then left the old waistband showing above it as "top".

Across the torso, a top and a bottom meet at one line: the top's hem (or the bottom's
waistband). :func:`waistline` finds it as one row per column, where above it the pixels favour
the top and below the bottom, on a row where the photo's colour changes, running on smoothly
from column to column (dynamic programming). Colour evidence is capped per pixel, so that a
band the prior alone decides weighs a few rows' worth against the hem's edge, not its certainty.
Where the two garments share one colour (a navy top over dark jeans), neither colour nor edges
place the line; the parse's prior does (``GarmentParams.alike_rise``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WaistlineParams:
    """The search for the line between top and bottom across the torso.

    Sizes are shares of the neck-to-mid-hip length (``tl``) or of the shoulder distance (``sw``)."""

    #: The rows searched: from this far above the hip joints' middle down to this far below it.
    above: float = 0.5
    below: float = 0.25
    #: The columns searched: between the hip joints, widened by this much on each side (the
    #: bottom's sides lie past the joints; arms hanging further out are left alone).
    widen: float = 0.25
    #: Each pixel's evidence is its log-odds of being the top's, capped at this: where neither
    #: colour model knows a colour, the prior alone speaks, and capped, a band of such pixels
    #: weighs no more than a band the colours decide.
    cap: float = 1.0
    #: An edge across the column (Lab units per pixel, see :func:`tryon.person.hems.lab_gradients`)
    #: adds this many times its strength to the line's score where it runs on it.
    edge_weight: float = 0.6
    #: From one column to the next the line moves one row freely; each row further costs this
    #: much (in units of capped evidence). Above ``2 * cap`` a narrow spike never pays (a fly's
    #: seam, a pocket's edge); a step is taken only under a piece some columns wide (a sleeve).
    step_cost: float = 4.0


def waistline(evidence: np.ndarray, cloth: np.ndarray, edges: np.ndarray, p: WaistlineParams
              ) -> np.ndarray:
    """The row, per column, where the bottom begins in a window of the torso.

    ``evidence``: each pixel's log-odds of being the top's; ``cloth``: the pixels that are one of
    the two garments (others weigh nothing); ``edges``: the colour's change across each row
    boundary (row ``y`` against ``y - 1``). All (rows, columns) of the window. Returns one row
    index per column, 0 (all bottom) to ``rows`` (all top)."""
    rows, cols = cloth.shape
    e = np.where(cloth, np.clip(evidence, -p.cap, p.cap), 0.0)
    # A line at row y: rows above are the top's (+e), rows from y on the bottom's (-e).
    above = np.vstack([np.zeros((1, cols)), np.cumsum(e, axis=0)])
    score = 2 * above - above[-1]
    gain = np.zeros((rows + 1, cols))
    gain[1:rows] = p.edge_weight * edges[1:rows]
    score = score + gain
    best = score[:, 0].copy()
    back = np.zeros((rows + 1, cols), np.int32)
    for c in range(1, cols):
        value, origin = _reach(best, p.step_cost)
        back[:, c] = origin
        best = value + score[:, c]
    line = np.zeros(cols, np.int32)
    line[-1] = int(np.argmax(best))
    for c in range(cols - 1, 0, -1):
        line[c - 1] = back[line[c], c]
    return line


def _running_max(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of ``values[:i + 1]`` for each i, and where it is attained (the latest)."""
    peak = np.maximum.accumulate(values)
    where = np.maximum.accumulate(np.where(values >= peak, np.arange(len(values)), 0))
    return peak, where


def _reach(best: np.ndarray, step_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """For each row y, the best of ``best[y']`` less ``step_cost`` per row of ``|y - y'|`` past
    the first, and the row y' it comes from."""
    n = len(best)
    rows = np.arange(n)
    # One row up or down is free.
    near = np.stack([np.r_[-np.inf, best[:-1]], best, np.r_[best[1:], -np.inf]])
    step = np.argmax(near, axis=0)
    free, origin = near[step, rows], rows + step - 1
    # Further: the best of free[y''] - step_cost * |y - y''| from above and from below.
    down, down_at = _running_max(free + step_cost * rows)
    up, up_at = _running_max((free - step_cost * rows)[::-1])
    down, up, up_at = down - step_cost * rows, up[::-1] + step_cost * rows, (n - 1 - up_at)[::-1]
    value = np.maximum(down, up)
    source = np.where(down >= up, down_at, up_at)
    return value, origin[source]
