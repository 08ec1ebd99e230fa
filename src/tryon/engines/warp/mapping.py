"""Where each garment pixel goes on the body: inverse maps for ``cv2.remap``.

A garment is cut into parts that move differently. The *body* part (the torso of a top or a
dress, a skirt) is mapped row by row along the body's axis, so it keeps the garment's length and
looseness, leans with the person, widens where the body is wider, and cannot fold. *Limb* parts (sleeves,
trouser legs) are laid along the person's limb polyline by arc length: a point at distance u
along the sleeve and v across it lands at distance s*u along the arm and s*v across it, so bent
elbows and knees are followed and short sleeves stay short.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.garment.shape import hanging_rows, row_extents


@dataclass
class Layer:
    """A garment part moved onto the body: colours and coverage at the person photo's size."""

    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    alpha: np.ndarray  # (H, W) float32 0..1
    #: The share of ``alpha`` that lies behind the garment's body part (H, W), or None: all of it
    #: in front. A sleeve's upper-arm part: on a hanging arm its underarm swings onto the torso,
    #: which hides it.
    behind: np.ndarray | None = None


def in_depth_order(layers: list[Layer]) -> list[Layer]:
    """The layers to draw one over the other, back to front: the parts behind the garment body
    first, then the rest in their order. Each part is its own layer (``behind`` is None)."""
    back, front = [], []
    for l in layers:
        if l.behind is None:
            front.append(l)
            continue
        b = l.alpha * l.behind
        back.append(Layer(f"{l.name}-behind", l.rgb, b))
        # Over its own back part the front part must make up the layer's whole coverage where
        # nothing lies between: 1 - (1 - b)(1 - f) = alpha. (alpha * (1 - behind) would let the
        # background show through where the two meet.)
        front.append(Layer(l.name, l.rgb, (l.alpha - b) / np.maximum(1 - b, 1e-6)))
    return back + front


def upsample_grid(grid: np.ndarray, width: int, height: int, step: int) -> np.ndarray:
    """Bilinear, corner-aligned upsampling of values sampled every ``step`` pixels."""
    fx = np.broadcast_to((np.arange(width, dtype=np.float32) / step)[None], (height, width))
    fy = np.broadcast_to((np.arange(height, dtype=np.float32) / step)[:, None], (height, width))
    return cv2.remap(grid.astype(np.float32), np.ascontiguousarray(fx), np.ascontiguousarray(fy),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _footprint(map_x: np.ndarray, map_y: np.ndarray, step: int = 8) -> float:
    """Median garment pixels per person pixel of an inverse map (above 1: the garment shrinks)."""
    mx, my = map_x[::step, ::step], map_y[::step, ::step]
    if min(mx.shape) < 2:
        return 1.0
    dx = np.hypot(np.diff(mx, axis=1)[:-1], np.diff(my, axis=1)[:-1])
    dy = np.hypot(np.diff(mx, axis=0)[:, :-1], np.diff(my, axis=0)[:, :-1])
    return float(np.median(np.sqrt(dx * dy))) / step


def remap_layer(name: str, garment: np.ndarray, part_mask: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                valid: np.ndarray | None = None, origin: tuple[int, int] = (0, 0),
                size: tuple[int, int] | None = None, behind: np.ndarray | None = None) -> Layer:
    """Pull garment colours and the part's coverage through an inverse map.

    The maps (and ``valid`` and ``behind``, shares per output pixel) may cover only a box of the
    output whose top-left corner is ``origin`` (x, y); the layer has the output's ``size`` (w, h)
    and is empty outside the box.
    """
    # Only the part's box of the garment photo is read (filters and lookups stay small).
    ys, xs = np.nonzero(part_mask.any(axis=1))[0], np.nonzero(part_mask.any(axis=0))[0]
    if len(ys):
        gy0, gx0 = max(0, int(ys[0]) - 8), max(0, int(xs[0]) - 8)
        garment, part_mask = garment[gy0:ys[-1] + 9, gx0:xs[-1] + 9], part_mask[gy0:ys[-1] + 9, gx0:xs[-1] + 9]
        map_x, map_y = map_x - np.float32(gx0), map_y - np.float32(gy0)
    footprint = _footprint(map_x, map_y)
    if footprint > 1.05:
        # Shrinking: the garment is low-passed first, or its weave and print alias into noise.
        garment = cv2.GaussianBlur(garment, (0, 0), 0.5 * float(np.sqrt(footprint ** 2 - 1)))
    # The outline is softened by most of a garment pixel: enlarged, a small product photo's
    # pixel steps would otherwise show as a staircase along the garment's edge.
    soft = cv2.GaussianBlur(part_mask.astype(np.float32), (0, 0), 0.7)
    rgb = cv2.remap(garment, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(soft, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if valid is not None:
        alpha = alpha * valid
    alpha = np.clip(alpha, 0, 1)
    if size is None or (origin == (0, 0) and (map_x.shape[1], map_x.shape[0]) == tuple(size)):
        return Layer(name, rgb, alpha, behind)
    w, h = size
    x0, y0 = origin
    bh, bw = map_x.shape

    def full(box: np.ndarray, dtype) -> np.ndarray:
        out = np.zeros((h, w) + box.shape[2:], dtype)
        out[y0:y0 + bh, x0:x0 + bw] = box
        return out

    return Layer(name, full(rgb, np.uint8), full(alpha, np.float32),
                 None if behind is None else full(behind, np.float32))


@dataclass
class Frame:
    """An origin, a scale and two axes: garment coordinates expressed on the body."""

    origin_g: np.ndarray
    across_g: np.ndarray
    down_g: np.ndarray
    origin_p: np.ndarray
    across_p: np.ndarray
    down_p: np.ndarray
    scale: float

    def to_person(self, q: np.ndarray) -> np.ndarray:
        d = np.asarray(q, np.float64) - self.origin_g
        a, b = d @ self.across_g, d @ self.down_g
        return self.origin_p + self.scale * (np.outer(a, self.across_p) + np.outer(b, self.down_p)).reshape(np.shape(q))


def body_layer(name: str, garment: np.ndarray, part_mask: np.ndarray, frame: Frame, need_half, size: tuple[int, int],
               step: int = 4) -> Layer:
    """Warp a garment body row by row along the body axis; it cannot fold.

    A garment row at height b below the frame's origin lands at s*b along the body's down axis,
    centred on the axis, scaled across by s or more where ``need_half(b_person)`` (the body's
    half width there) is wider than the garment, so the torso is never left bare.
    """
    w, h = size
    ys = np.nonzero(part_mask.any(axis=1))[0]
    y_lo, y_hi = int(ys.min()), int(ys.max())
    rows = np.arange(y_lo, y_hi + 1)
    # Per garment row: centre and half width of its central run (smoothed over rows).
    has, left, right = row_extents(part_mask[y_lo:y_hi + 1])
    # Rows of something hanging below the hem (:func:`hanging_rows`) hang from the hem as its row is
    # laid: neither re-centred on the body nor widened to the hips on their own (which laid a
    # side-tie tee's ties across the hips as a bar).
    hanging = hanging_rows(has, left, right)
    if hanging.any():
        hem = np.flatnonzero(has & ~hanging)[-1]
        left, right = np.where(hanging, left[hem], left), np.where(hanging, right[hem], right)
    centres = np.where(has, (left + right) / 2, float(frame.origin_g[0]))
    halves = np.where(has, (right - left) / 2, 0.0)
    halves = cv2.GaussianBlur(halves.reshape(-1, 1).astype(np.float32), (1, 0), max(1.0, len(rows) / 60)).ravel()
    centres = cv2.GaussianBlur(centres.reshape(-1, 1).astype(np.float32), (1, 0), max(1.0, len(rows) / 60)).ravel()
    b_g = (rows - frame.origin_g[1]).astype(np.float64)
    need = need_half(b_g * frame.scale) / np.maximum(halves * frame.scale, 1.0)
    widen = np.where(halves > 0, np.clip(need, 1.0, 1.5), 1.0)
    widen = cv2.GaussianBlur(widen.reshape(-1, 1).astype(np.float32), (1, 0), max(1.0, len(rows) / 30)).ravel()
    # Only the box the garment can reach (its rows, at most 1.5x widened) is mapped.
    xs = np.nonzero(part_mask.any(axis=0))[0]
    corners = []
    for a in ((xs.min() - frame.origin_g[0]) * 1.5, (xs.max() - frame.origin_g[0]) * 1.5):
        for b in (y_lo - frame.origin_g[1], y_hi - frame.origin_g[1]):
            corners.append(frame.origin_p + frame.scale * (a * frame.across_p + b * frame.down_p))
    corners = np.array(corners)
    x0, y0 = (max(0, int(np.floor(v)) - step) for v in corners.min(axis=0))
    x1, y1 = (int(np.ceil(v)) + step for v in corners.max(axis=0))
    x1, y1 = min(w, x1), min(h, y1)
    if x1 <= x0 or y1 <= y0:
        return Layer(name, np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32))
    # Inverse map on a coarse grid: person pixel -> (a, b) in the body frame -> garment pixel.
    inv = np.linalg.inv(np.array([frame.across_p, frame.down_p]).T)
    bw, bh = x1 - x0, y1 - y0
    gx, gy = np.meshgrid(np.arange(0, bw + step, step) + x0, np.arange(0, bh + step, step) + y0)
    ab = (np.c_[gx.ravel(), gy.ravel()] - frame.origin_p) @ inv.T / frame.scale
    yg = frame.origin_g[1] + ab[:, 1]
    idx = np.clip(np.round(yg - y_lo).astype(int), 0, len(rows) - 1)
    xg = centres[idx] + ab[:, 0] / widen[idx]
    map_x = upsample_grid(xg.reshape(gx.shape), bw, bh, step)
    map_y = upsample_grid(yg.reshape(gx.shape), bw, bh, step)
    return remap_layer(name, garment, part_mask, map_x, map_y, origin=(x0, y0), size=(w, h))


def polyline_coords(points: np.ndarray, polyline: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arc length u, signed offset v (left of the direction is positive) and distance of each point
    to the polyline; the polyline's ends are extended so that points beyond them still project.

    A point nearest to a bend itself lies in the fan outside the bend's convex side: its offset is
    its whole distance, on that side (a perpendicular component there is about 0 and would put the
    fan on the polyline: a sleeve's edge smeared out into a wing past a sharply bent elbow)."""
    best_d = np.full(len(points), np.inf)
    best_u = np.zeros(len(points))
    best_v = np.zeros(len(points))
    start = 0.0
    n = len(polyline) - 1
    dirs = [(polyline[i + 1] - polyline[i]) / max(float(np.linalg.norm(polyline[i + 1] - polyline[i])), 1e-6)
            for i in range(n)]
    # The convex side of each inner bend: the right (-1) where the polyline turns left, and back.
    convex = [-1.0 if dirs[i + 1] @ np.array([-dirs[i][1], dirs[i][0]]) > 0 else 1.0 for i in range(n - 1)]
    for i in range(n):
        a, b = polyline[i], polyline[i + 1]
        length = max(float(np.linalg.norm(b - a)), 1e-6)
        d = dirs[i]
        rel = points - a
        t = rel @ d
        lo = -np.inf if i == 0 else 0.0
        hi = np.inf if i == n - 1 else length
        tc = np.clip(t, lo, hi)
        proj = a + np.outer(tc, d)
        off = points - proj
        dist = np.linalg.norm(off, axis=1)
        v = off[:, 0] * -d[1] + off[:, 1] * d[0]  # component along the left normal (-d_y, d_x)
        if i > 0:
            v = np.where(t < 0, convex[i - 1] * dist, v)
        if i < n - 1:
            v = np.where(t > length, convex[i] * dist, v)
        better = dist < best_d
        best_d[better], best_u[better], best_v[better] = dist[better], start + tc[better], v[better]
        start += length
    return best_u, best_v, best_d


def polyline_points(polyline: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The inverse of ``polyline_coords``: the points at arc length u along the polyline and
    offset v along its left normal, the ends extended straight."""
    seg = np.diff(polyline, axis=0)
    lengths = np.maximum(np.linalg.norm(seg, axis=1), 1e-6)
    starts = np.r_[0.0, np.cumsum(lengths)[:-1]]
    i = np.clip(np.searchsorted(starts, u, side="right") - 1, 0, len(seg) - 1)
    d = seg[i] / lengths[i, None]
    return polyline[i] + d * (u - starts[i])[:, None] + np.c_[-d[:, 1], d[:, 0]] * v[:, None]


def rounded(polyline: np.ndarray, passes: int = 2, closed: bool = False) -> np.ndarray:
    """``polyline`` with its corners cut (Chaikin); an open one keeps its ends. Inside a sharp bend
    the nearest point of the polyline jumps from one segment to the next: laid along it, a print
    showed a seam there (a white zigzag across a striped sleeve at the shoulder)."""
    for _ in range(passes):
        if len(polyline) < 3:
            return polyline
        a, b = (polyline, np.roll(polyline, -1, axis=0)) if closed else (polyline[:-1], polyline[1:])
        cut = np.stack([0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b], axis=1).reshape(-1, 2)
        polyline = cut if closed else np.vstack([polyline[:1], cut[1:-1], polyline[-1:]])
    return polyline


def wrap_across(inward: np.ndarray, flat: float, seen: float) -> np.ndarray:
    """The flat garment's offset from a tube's outer fold (garment pixels) seen ``inward`` person
    pixels in from the tube's outer edge, the tube ``seen`` pixels wide and ``flat`` wide laid flat:
    a point at angle a round a cylinder (0 at the outer fold) lies (1 - cos a) / 2 of its width
    in. Past the inner fold (a sleeve's flat width there is more than its mean: the armhole) and
    outside the outer one the flat offsets go on at the mean rate."""
    t = inward / seen
    round_ = flat * np.arccos(1 - 2 * np.clip(t, 0.0, 1.0)) / np.pi
    return round_ + (t - np.clip(t, 0.0, 1.0)) * flat


def limb_layer(name: str, garment: np.ndarray, part_mask: np.ndarray, axis_g: np.ndarray,
               limb_p: np.ndarray, scale: float, reach: float, size: tuple[int, int], step: int = 4,
               across_scale: float | None = None, outer: int = 0, behind_until: float = 0.0,
               wrap: tuple[float, float] | None = None) -> Layer:
    """Lay a sleeve or a trouser leg, whose axis in the garment photo is the polyline ``axis_g``,
    along the person's limb polyline (``scale`` along it, ``across_scale`` across it: a sleeve
    never ends up narrower than the arm in it). Both polylines may bend: a sleeve photographed
    bent is laid straight along a straight arm, and bends with a bent one.

    ``outer`` (+1 or -1, the sign of the offset across the axis that is outside) says that the
    axis is the part's outer edge: nothing is laid beyond it, where the polyline's bends would
    fan the few pixels outside the edge into a blur.

    What lands within ``behind_until`` of the limb's start (arc length on the person) lies behind
    the garment's body part (``Layer.behind``).

    ``wrap`` (the part's flat width in the garment photo's pixels, the width it is seen at on the
    person), with ``outer``: the part is a tube round the limb, photographed flat. Its flat width
    is half the tube's round, which the front view shows as a diameter (``wrap_across``): from the
    outer edge inward the flat fabric is foreshortened toward both folds, as on a cylinder. Of a
    part with a back (``behind_until``), what lies past the inner fold (the armhole's fabric,
    which goes under the arm) is behind the body part too.
    """
    across_scale = across_scale or scale
    w, h = size
    axis_g = np.asarray(axis_g, np.float64)
    limb_p = rounded(np.asarray(limb_p, np.float64))
    # Only pixels near the limb can be covered; work on their bounding box at a coarse step.
    lo = np.maximum(np.floor(limb_p.min(axis=0) - reach), 0).astype(int)
    hi = np.minimum(np.ceil(limb_p.max(axis=0) + reach), [w - 1, h - 1]).astype(int)
    if (hi <= lo).any():
        return Layer(name, np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32))
    gx = np.arange(lo[0], hi[0] + step, step)
    gy = np.arange(lo[1], hi[1] + step, step)
    px, py = np.meshgrid(gx, gy)
    u, v, dist = polyline_coords(np.c_[px.ravel(), py.ravel()].astype(np.float64), limb_p)
    v_g = v / across_scale if wrap is None else wrap_across(v * -outer, *wrap) * -outer
    src = polyline_points(axis_g, u / scale, v_g)
    # Nothing before the limb's start: behind the shoulder (or hip) is the body part's business.
    # Each limit is a ramp one grid step wide, not a cut: a cut on the coarse grid would leave
    # a staircase along the edge once upsampled.
    def inside(margin: np.ndarray) -> np.ndarray:
        return np.clip(margin / step + 0.5, 0.0, 1.0)

    ok = inside(reach - dist) * inside(u + 0.05 * reach)
    if outer:
        ok *= inside(0.05 * reach - v * outer)
    ok = ok.astype(np.float32)
    bw, bh = hi[0] - lo[0] + 1, hi[1] - lo[1] + 1
    sx = upsample_grid(src[:, 0].reshape(px.shape), bw, bh, step)
    sy = upsample_grid(src[:, 1].reshape(px.shape), bw, bh, step)
    sv = upsample_grid(ok.reshape(px.shape), bw, bh, step)
    behind = None
    if behind_until > 0:
        back = inside(behind_until - u)
        if wrap is not None:
            # Past the tube's inner fold: the armhole's fabric, which goes under the arm.
            back = np.maximum(back, inside(-v * outer - wrap[1]))
        behind = upsample_grid(back.astype(np.float32).reshape(px.shape), bw, bh, step)
    return remap_layer(name, garment, part_mask, sx, sy, sv, origin=(int(lo[0]), int(lo[1])), size=(w, h),
                       behind=behind)
