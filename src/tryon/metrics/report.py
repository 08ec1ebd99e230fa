"""`tryon eval --report DIR`: the evaluation as one HTML page a person reads, thumbnails beside it.

A table of means says how good a method is; it does not say where it fails. The page therefore
shows the means, the protocol that makes them comparable, the means per group, every image
(sortable by any score) and the worst cases as ground truth | result | error map.

The page is plain HTML with a little inline CSS and vanilla JS: no build step, nothing fetched
from the network, so it opens from disk (or an archived CI artefact) years later. Every image it
shows is a small copy written to ``DIR/images/`` and linked relatively, so the folder can be moved
or zipped as a whole and never points at the (large, perhaps private) data it was made from.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tryon.errors import TryOnError
from tryon.imageio import load_image, save_image
from tryon.metrics.evaluate import fit_to
from tryon.metrics.protocol import flatten

#: Whether a higher value of a metric is better; metrics not named here get no arrow.
HIGHER_IS_BETTER: dict[str, bool] = {
    "ssim": True, "psnr": True, "ms_ssim": True, "print_kept": True,
    "lpips": False, "fid": False, "kid_x1000": False, "delta_e": False,
}
#: How metrics are named on the page; others show their key.
METRIC_LABELS = {"ssim": "SSIM", "psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "fid": "FID",
                 "kid_x1000": "KID ×1000", "delta_e": "garment ΔE00", "print_kept": "print kept",
                 "delta_e_truth": "ΔE00 of the ground truth", "print_kept_truth": "print kept, ground truth"}
#: Row keys that describe an image rather than score it.
ROW_FIELDS = ("id", "pred", "gt", "garment", "category", "source")
#: Text columns of the per-image table, shown when any row has them.
TEXT_COLUMNS = ("category", "source")
#: Summary keys with a place of their own on the page (not metrics).
SUMMARY_FIELDS = ("count", "missing", "warnings")
#: Suffix of a key holding the spread of another (``kid_x1000_std``): shown as "mean ± std".
STD_SUFFIX = "_std"

#: Height of every thumbnail file, in pixels: sharp at the case size on high-density screens.
THUMB_HEIGHT = 160
#: JPEG quality of photo thumbnails (error maps are PNG: flat colours, exact brightness).
THUMB_QUALITY = 85
#: Folder of the thumbnails, inside the report folder.
IMAGES = "images"
#: The absolute difference is multiplied by this before colouring, so small errors are visible.
ERROR_GAIN = 4.0
#: The error colour map: (position in [0, 1], RGB); luminance rises monotonically, so the map
#: reads the same in grey and for colour-blind readers.
ERROR_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (0, 0, 0)), (0.35, (110, 30, 140)), (0.7, (235, 110, 40)), (1.0, (250, 240, 90)),
)


def _label(key: str) -> str:
    return METRIC_LABELS.get(key, key)


def _arrow(key: str) -> str:
    """The direction of "better" for a metric, as an arrow with a tooltip, or nothing if unknown."""
    if key not in HIGHER_IS_BETTER:
        return ""
    word, arrow = ("higher", "↑") if HIGHER_IS_BETTER[key] else ("lower", "↓")
    return f'<span class="better" title="{word} is better">{arrow}</span>'


def _is_score(value: Any) -> bool:
    """A metric value: a number or None (a metric that could not be computed); not a flag."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _format(value: Any) -> str:
    """A value as a person reads it: 4 significant digits, "n/a" where there is no number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _sort_value(value: Any) -> str:
    """The value the page's script sorts by: the full number as JavaScript's Number() reads it
    (``Infinity`` for a PSNR of identical images), or empty (sorted last) for n/a."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return json.dumps(float(value))


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _metric_keys(rows: list[dict], exclude: tuple[str, ...]) -> list[str]:
    """Metric columns in a stable order: the known metrics as named above, then others as they come."""
    found: dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            if key not in exclude and _is_score(value):
                found[key] = None
    known = [k for k in METRIC_LABELS if k in found]
    return known + [k for k in found if k not in METRIC_LABELS]


def _protocol_value(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(_format(v) for v in value) or "none"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return _format(value)


# ---- images ----------------------------------------------------------------------------------


def _load(folder: str | os.PathLike | None, name: str | None) -> tuple[np.ndarray | None, str]:
    """The image, or None and why not: a missing or broken file must cost one tile, not the report."""
    if folder is None or not name:
        return None, "no image"
    try:
        return load_image(Path(folder) / name), ""
    except (TryOnError, OSError) as exc:
        return None, "missing" if not (Path(folder) / name).is_file() else f"unreadable: {exc}"


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """The image (RGB or a 2-D map) at :data:`THUMB_HEIGHT`, area-averaged; smaller ones stay as they are."""
    h, w = image.shape[:2]
    if h <= THUMB_HEIGHT:
        return image
    width = max(1, round(w * THUMB_HEIGHT / h))
    return cv2.resize(image, (width, THUMB_HEIGHT), interpolation=cv2.INTER_AREA)


def colourise(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (clipped) as RGB uint8 along :data:`ERROR_STOPS`."""
    positions = [p for p, _ in ERROR_STOPS]
    v = np.clip(values, 0.0, 1.0)
    channels = [np.interp(v, positions, [c[i] for _, c in ERROR_STOPS]) for i in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def difference(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-pixel |result - truth| averaged over channels, times :data:`ERROR_GAIN`, in [0, 1] (clipped).

    The result is resized to the truth (bicubic, as ``tryon eval`` scores it), so the map shows
    the error that was measured."""
    pred = fit_to(pred, truth.shape)
    diff = np.abs(pred.astype(np.float32) - truth.astype(np.float32)).mean(axis=2) / 255.0
    return np.clip(diff * ERROR_GAIN, 0.0, 1.0)


def error_map(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The coloured error map at thumbnail size; the scalar difference is shrunk before colouring,
    since averaging colours would leave the colour map."""
    return colourise(_thumbnail(difference(pred, truth)))


def _img(out_dir: Path, name: str, image: np.ndarray | None, reason: str, alt: str) -> str:
    """An ``<img>`` of the image's thumbnail, written to ``images/name``, or a visible placeholder saying why not."""
    if image is None:
        return f'<span class="thumb placeholder" title="{_e(reason)}">{_e(reason.split(":")[0])}</span>'
    image = _thumbnail(image)
    save_image(image, out_dir / IMAGES / name, quality=THUMB_QUALITY)
    h, w = image.shape[:2]
    return f'<img class="thumb" src="{IMAGES}/{_e(name)}" width="{w}" height="{h}" alt="{_e(alt)}">'


# ---- sections --------------------------------------------------------------------------------


def _summary_section(summary: dict) -> str:
    """The scores over all images, one row per metric, with the direction of better; a spread joins its mean."""
    keys = [k for k, v in summary.items() if k not in SUMMARY_FIELDS and _is_score(v)]
    rows = []
    for key in keys:
        if key.endswith(STD_SUFFIX) and key[: -len(STD_SUFFIX)] in summary:
            continue
        value = _format(summary[key])
        if summary.get(key + STD_SUFFIX) is not None:
            value += f" ± {_format(summary[key + STD_SUFFIX])}"
        rows.append(f'<tr data-key="{_e(key)}"><th scope="row">{_e(_label(key))} {_arrow(key)}</th>'
                    f'<td class="num">{_e(value)}</td></tr>')
    body = "\n".join(rows) or '<tr><td colspan="2">no metric</td></tr>'
    missing = summary.get("missing") or []
    note = ""
    if missing:
        ids = ", ".join(_e(m) for m in missing)
        note = (f'<details><summary>{len(missing)} missing (no result or no ground truth)</summary>'
                f'<p>{ids}</p></details>')
    return (f'<section id="summary"><h2>Scores</h2><p>Over {_e(summary.get("count", "n/a"))} images; '
            f'↑ higher is better, ↓ lower is better.</p>\n<div class="scroll"><table class="scores">\n{body}\n'
            f'</table></div>{note}</section>')


def _warnings_section(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return f'<section id="warnings" class="warnings" role="alert"><h2>Read with care</h2><ul>{items}</ul></section>'


def _protocol_section(protocol: dict) -> str:
    """How the numbers were made: what must match before two reports can be compared."""
    entries = "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(_protocol_value(v))}</dd>" for k, v in flatten(protocol).items())
    body = f"<dl>\n{entries}\n</dl>" if entries else "<p>Not recorded.</p>"
    return (f'<section id="protocol"><h2>Protocol</h2><p>Numbers are comparable only when these match.</p>'
            f"{body}</section>")


def _strata_section(strata: dict) -> str:
    """The means per group (category, source...): a mean over all can hide one group failing."""
    tables = []
    for kind, groups in strata.items():
        if not groups:
            continue
        keys = _metric_keys(list(groups.values()), ("count",))
        head = "".join(f'<th scope="col">{_e(_label(k))} {_arrow(k)}</th>' for k in keys)
        rows = "".join(
            f'<tr><th scope="row">{_e(value)}</th><td class="num">{_e(_format(stats.get("count")))}</td>'
            + "".join(f'<td class="num">{_e(_format(stats.get(k)))}</td>' for k in keys) + "</tr>"
            for value, stats in groups.items())
        tables.append(f'<h3>By {_e(kind)}</h3><div class="scroll"><table><thead><tr><th scope="col">{_e(kind)}</th>'
                      f'<th scope="col">count</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
    if not tables:
        return ""
    return '<section id="strata"><h2>By group</h2>' + "".join(tables) + "</section>"


def _per_image_section(rows: list[dict], thumbs: list[str]) -> str:
    """Every image, one row each, sortable by any column so a person can walk from worst to best."""
    keys = _metric_keys(rows, ROW_FIELDS)
    texts = [c for c in TEXT_COLUMNS if any(row.get(c) is not None for row in rows)]

    def header(key: str, label: str, kind: str) -> str:
        return (f'<th scope="col" data-key="{_e(key)}" data-type="{kind}"><button type="button">{_e(label)}'
                f'</button> {_arrow(key)}</th>')

    head = ('<th scope="col">result</th>' + header("id", "id", "text")
            + "".join(header(c, c, "text") for c in texts)
            + "".join(header(k, _label(k), "number") for k in keys))
    body = []
    for row, thumb in zip(rows, thumbs):
        cells = [f"<td>{thumb}</td>", f'<td data-value="{_e(row.get("id", ""))}">{_e(row.get("id", ""))}</td>']
        cells += [f'<td data-value="{_e(row.get(c) or "")}">{_e(row.get(c) or "")}</td>' for c in texts]
        cells += [f'<td class="num" data-value="{_sort_value(row.get(k))}">{_e(_format(row.get(k)))}</td>'
                  for k in keys]
        body.append(f'<tr data-id="{_e(row.get("id", ""))}">{"".join(cells)}</tr>')
    return (f'<section id="per-image"><h2>Every image</h2><p>{len(rows)} rows. Click a column name to sort; '
            f'click again to reverse. n/a sorts last.</p><div class="scroll"><table class="sortable">'
            f'<thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body) + "\n</tbody></table></div></section>")


def _worst_order(rows: list[dict]) -> tuple[str, bool] | None:
    """The metric that ranks the worst cases and whether worst is highest: SSIM, else ΔE, else the
    first metric with a known direction; None when no metric has one."""
    keys = _metric_keys(rows, ROW_FIELDS)
    for key in ("ssim", "delta_e", *keys):
        if key in keys and key in HIGHER_IS_BETTER:
            return key, not HIGHER_IS_BETTER[key]
    return None


def worst_rows(rows: list[dict], count: int) -> tuple[str, list[int]] | None:
    """The metric and the indices of the ``count`` worst rows, worst first (rows without a value are left out)."""
    order = _worst_order(rows)
    if order is None or count <= 0:
        return None
    key, descending = order
    scored = [i for i, row in enumerate(rows) if row.get(key) is not None and not math.isnan(row[key])]
    scored.sort(key=lambda i: rows[i][key], reverse=descending)
    return key, scored[:count]


def _figure(label: str, tile: str) -> str:
    return f"<figure>{tile}<figcaption>{_e(label)}</figcaption></figure>"


def _case(out_dir: Path, rank: int, row: dict, result_tile: str, pred_dir: str | os.PathLike,
          gt_dir: str | os.PathLike | None, garment_dir: str | os.PathLike | None) -> str:
    """One worst case: truth | result | error map when there is a truth, else garment | result."""
    ident = str(row.get("id", ""))
    stem = f"worst-{rank:03d}"
    if gt_dir is not None and row.get("gt"):
        truth, why = _load(gt_dir, row["gt"])
        pred, pred_why = _load(pred_dir, row.get("pred"))
        tiles = [_figure("ground truth", _img(out_dir, f"{stem}-truth.jpg", truth, why, f"ground truth of {ident}")),
                 _figure("result", result_tile)]
        both = truth is not None and pred is not None
        emap = error_map(pred, truth) if both else None
        tiles.append(_figure("error map", _img(out_dir, f"{stem}-error.png", emap, why or pred_why or "no image",
                                               f"error map of {ident}")))
    else:
        garment, why = _load(garment_dir, row.get("garment"))
        tiles = [_figure("garment", _img(out_dir, f"{stem}-garment.jpg", garment, why, f"garment of {ident}")),
                 _figure("result", result_tile)]
    scores = ", ".join(f"{_label(k)} {_format(row[k])}" for k in _metric_keys([row], ROW_FIELDS))
    return (f'<div class="case" data-id="{_e(ident)}"><h3>{rank}. {_e(ident)}</h3><p class="scores-line">'
            f'{_e(scores)}</p><div class="tiles">{"".join(tiles)}</div></div>')


def _legend() -> str:
    stops = ", ".join(f"rgb({r},{g},{b}) {p * 100:.0f}%" for p, (r, g, b) in ERROR_STOPS)
    full = 100.0 / ERROR_GAIN
    return (f'<p class="legend"><span class="ramp" style="background:linear-gradient(to right, {stops})"></span> '
            f"Error map: black where result and ground truth agree, through purple and orange, to yellow where "
            f"they differ by {full:.0f}% of the full range or more (differences amplified ×{ERROR_GAIN:g}, "
            f"mean over the colour channels, result resized to the ground truth).</p>")


def _worst_section(out_dir: Path, rows: list[dict], thumbs: list[str], worst: int, pred_dir: str | os.PathLike,
                   gt_dir: str | os.PathLike | None, garment_dir: str | os.PathLike | None) -> str:
    ranked = worst_rows(rows, worst)
    if ranked is None:
        return ""
    key, indices = ranked
    direction = "highest" if not HIGHER_IS_BETTER[key] else "lowest"
    cases = "\n".join(_case(out_dir, rank, rows[i], thumbs[i], pred_dir, gt_dir, garment_dir)
                      for rank, i in enumerate(indices, 1))
    paired = gt_dir is not None and any(rows[i].get("gt") for i in indices)
    return (f'<section id="worst"><h2>The {len(indices)} {direction} {_e(_label(key))}</h2>'
            f'<p>Worst first.</p>{_legend() if paired else ""}\n{cases}\n</section>')


# ---- page ------------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:12px;color:#1b1b1b;background:#fff}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
h3{font-size:1em;margin:1em 0 .3em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle;white-space:nowrap}
td.num{text-align:right}.better{color:#666;font-size:.9em}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:#0645ad}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
.warnings{background:#fff4d6;border:2px solid #e0a800;border-radius:6px;padding:4px 14px;margin-top:1em}
.warnings h2{border:0;margin:.4em 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dt{font-weight:600;color:#444}dd{margin:0;overflow-wrap:anywhere}
@media (max-width:600px){dl{grid-template-columns:1fr}dd{margin-bottom:6px}}
img.thumb{height:64px;width:auto;display:block}
.placeholder{display:inline-flex;align-items:center;justify-content:center;height:64px;min-width:48px;
padding:0 4px;border:2px dashed #c33;color:#c33;font-size:12px;background:#fdf0f0}
.case{margin-bottom:18px}.scores-line{margin:0 0 4px;color:#444}
.tiles{display:flex;gap:8px;overflow-x:auto}
figure{margin:0}figcaption{font-size:12px;color:#555;text-align:center}
.tiles img.thumb,.tiles .placeholder{height:160px}.tiles .placeholder{min-width:120px}
.legend{display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.ramp{display:inline-block;width:160px;height:14px;border:1px solid #999}
"""

_JS = """
for (const table of document.querySelectorAll("table.sortable")) {
  const headers = table.tHead.rows[0].cells;
  for (const th of headers) {
    const button = th.querySelector("button");
    if (!button) continue;
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      for (const other of headers) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const numeric = th.dataset.type === "number";
      const body = table.tBodies[0];
      const value = row => row.cells[th.cellIndex].dataset.value;
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = value(a), y = value(b);
        if (x === "" || y === "") return (x === "") - (y === "");
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      body.append(...rows);
    });
  }
}
"""


def write_report(result: dict, out_dir: str | os.PathLike, pred_dir: str | os.PathLike,
                 gt_dir: str | os.PathLike | None = None, garment_dir: str | os.PathLike | None = None,
                 worst: int = 12) -> Path:
    """Write ``out_dir/index.html`` and its thumbnails in ``out_dir/images/`` from an evaluation result.

    ``result`` is what ``tryon eval`` writes (protocol, summary, strata, per_image); image names in
    its rows are looked up in ``pred_dir``, ``gt_dir`` and ``garment_dir``. Returns the page's path."""
    out = Path(out_dir)
    (out / IMAGES).mkdir(parents=True, exist_ok=True)
    summary = result.get("summary") or {}
    rows = result.get("per_image") or []
    thumbs = []
    for i, row in enumerate(rows):
        pred, why = _load(pred_dir, row.get("pred"))
        thumbs.append(_img(out, f"result-{i:05d}.jpg", pred, why, f"result of {row.get('id', '')}"))
    setting = (result.get("protocol") or {}).get("setting")
    title = "Try-on evaluation" + (f" ({setting})" if setting else "")
    sections = [
        _summary_section(summary),
        _warnings_section(summary.get("warnings") or []),
        _protocol_section(result.get("protocol") or {}),
        _strata_section(result.get("strata") or {}),
        _per_image_section(rows, thumbs),
        _worst_section(out, rows, thumbs, worst, pred_dir, gt_dir, garment_dir),
    ]
    page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n<h1>{_e(title)}</h1>\n"
            + "\n".join(s for s in sections if s) + f"\n<script>{_JS}</script>\n</body></html>\n")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
