"""Command line: parse options, call the runner, print results. No pipeline logic lives here."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import click

from . import startup  # noqa: F401  (first: see why there)
from .config import Config
from .errors import InsightmapError
from .escape import terminal_text
from .ingest import FileReport, IngestResult
from .ingest.roles import LOW_CONFIDENCE


def _echo(message: object = "", err: bool = False) -> None:
    """Print a line; names and text from transcripts cannot move the cursor, recolour or retitle the terminal."""
    click.echo(terminal_text(message), err=err)


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every failure becomes one line on stderr, never a traceback: known errors (exit 2), the file system's
    (a full disk, a read-only folder: exit 2), an interruption (exit 130) and, as a last resort, a defect (exit 3,
    the traceback saved to a file for the bug report). Set INSIGHTMAP_DEBUG=1 to see tracebacks instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            if os.environ.get("INSIGHTMAP_DEBUG") or isinstance(exc, click.exceptions.Exit | click.ClickException):
                raise
            message, code = _one_line(exc)
            _echo(message, err=True)
            sys.exit(code)

    return wrapper


def _one_line(exc: BaseException) -> tuple[str, int]:
    if isinstance(exc, InsightmapError):
        return f"error: {exc}", 2
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: nothing written; earlier output left as it was", 130
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"error: {where}{exc.strerror or exc}; earlier output left as it was", 2
    try:
        handle, log = tempfile.mkstemp(prefix="insightmap-error-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write("".join(traceback.format_exception(exc)))
        details = f"details in {log}"
    except OSError as error:  # even the report cannot be saved (a full disk): say so, still in one line
        details = f"traceback not saved: {error.strerror or error}; rerun with INSIGHTMAP_DEBUG=1"
    return f"internal error: {type(exc).__name__}: {exc} (a defect; {details}, please report it)", 3


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a killed job, a closed session) unwinds like Ctrl-C, so staging folders are removed."""
    raise KeyboardInterrupt


def _config(ctx: click.Context, **overrides: Any) -> Config:
    return Config.load(ctx.obj.get("config_path"), **overrides)


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="insightmap.toml to use.")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """insightmap: from interview transcripts to themes, zones and persona drafts, offline."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    signal.signal(signal.SIGTERM, _terminate)
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)


_INGEST_OPTIONS = [
    click.option("--interviewer", "interviewers", multiple=True, help="Speaker name of an interviewer (repeatable)."),
    click.option("--text-column", help="Tables: the column holding what was said."),
    click.option("--speaker-column", help="Tables: the column naming the speaker (blank = previous speaker)."),
    click.option("--id-column", help="Tables: the column holding the interview id."),
    click.option("--time-column", help="Tables: the column holding start times."),
    click.option(
        "--keep-other-languages/--skip-other-languages",
        default=None,
        help="Analyse interviews in languages other than the embedding model's (default: skip them).",
    ),
]


def ingest_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads transcripts takes; they arrive as config overrides."""
    for option in reversed(_INGEST_OPTIONS):
        fn = option(fn)
    return fn


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], width: int = 60) -> None:
    """A plain aligned table; the first column (a path) is cut from the left, others from the right."""
    widths = [min(max(len(row[i]) for row in [header, *rows]), width) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = [
            _fit(cell, w) if i == 0 else _fit_right(cell, w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        _echo("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())


def _fit_right(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


def _print_reports(result: IngestResult) -> None:
    reports = result.reports
    header = ("file", "format", "interviews", "turns", "words", "in turns", "set aside", "lost",
              "participant words", "status")  # fmt: skip
    rows = [
        (
            r.path,
            r.format or "-",
            str(r.interviews),
            str(r.turns),
            str(r.words_in_file),
            str(r.words_in_turns),
            str(sum(r.set_aside.values())),
            str(r.words_lost),
            str(r.participant_words),
            "FAILED" if r.error else (f"{len(r.warnings)} warning(s)" if r.warnings else "ok"),
        )
        for r in reports
    ]
    _table(header, rows)
    if len(result.speakers):
        _echo("")
        speakers = result.speakers
        _table(
            ("interview", "speaker", "role", "confidence", "evidence", "turns", "words"),
            [
                (
                    s.interview_id,
                    s.speaker,
                    s.role,
                    f"{s.confidence:.2f}" + (" LOW" if s.confidence < LOW_CONFIDENCE else ""),
                    s.evidence,
                    str(s.turns),
                    str(s.words),
                )
                for s in speakers.itertuples(index=False)
            ],  # fmt: skip
            width=72,
        )
    _print_problems(reports, result.messages)


def _fit(cell: str, width: int) -> str:
    """Cut long cells from the left, so a file's name (its end) stays visible."""
    return cell if len(cell) <= width else "…" + cell[-(width - 1) :]


def _print_problems(reports: list[FileReport], messages: list[str]) -> None:
    """Errors, warnings and notes go to stderr, one per line, each naming its file."""
    for report in reports:
        if report.error:
            _echo(f"error: {report.error}", err=True)
        for warning in report.warnings:
            _echo(f"warning: {report.path}: {warning}", err=True)
        for reason, words in report.set_aside.items():
            line = report.set_aside_lines.get(reason, 1)
            # a timestamp inside a turn ("[00:19:00]") is set aside but holds no words: none were lost
            counted = f"{words} word{'' if words == 1 else 's'} set aside" if words else "set aside, no words lost"
            _echo(f"note: {report.path}:{line}: {counted} ({reason})", err=True)
    for message in messages:
        _echo(f"note: {message}", err=True)


@main.command()
@click.argument("path", type=click.Path(exists=True))
@ingest_options
@click.pass_context
@_friendly
def validate(ctx: click.Context, path: str, **options: Any) -> None:
    """Check every transcript under PATH: format, words read vs set aside, speakers and roles with evidence."""
    from .ingest import ingest

    result = ingest(path, _config(ctx, **options).ingest_params())
    _print_reports(result)
    failed = len(result.failed)
    _echo(
        f"\n{len(result.reports) - failed} of {len(result.reports)} files read, "
        f"{result.turns['interview_id'].nunique()} interviews, {len(result.turns)} turns"
    )
    if failed or not result.reports:
        sys.exit(1)


@main.command()
@click.pass_context
@_friendly
def prepare(ctx: click.Context) -> None:
    """Build the fast int8 encoder from the installed model now (make install does), not on the first run."""
    from .embed import Embedder, EmbedParams

    config = _config(ctx)
    embedder = Embedder(EmbedParams.from_config(config))
    _echo(f"embedding backend: {embedder.backend} ({config.embedding_model})")


@main.command("roles")
@click.argument("path", type=click.Path(exists=True))
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Where to write (default: PATH/roles.csv).")
@ingest_options
@click.pass_context
@_friendly
def roles_command(ctx: click.Context, path: str, out: str | None, **options: Any) -> None:
    """Write each speaker's inferred role as roles.csv, for the researcher to correct; it then overrides inference."""
    from pathlib import Path

    from .ingest import ingest
    from .ingest.roles import ROLES_FILE
    from .outputs import write_csv_atomic

    result = ingest(path, _config(ctx, **options).ingest_params())
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    target = Path(out) if out else folder / ROLES_FILE
    if target.exists() and not out:
        raise InsightmapError(f"{target}: exists; it is your corrections — pass -o FILE to write elsewhere")
    write_csv_atomic(result.speakers, target)
    low = int((result.speakers["confidence"] < LOW_CONFIDENCE).sum())
    _echo(f"{len(result.speakers)} speakers → {target} ({low} with low confidence: check those first)")


def _run_and_write(ctx: click.Context, path: str, out: str, command: str, settings: dict[str, Any]):
    """Run ``command`` (segment or themes) on PATH, report each file's problems, write the output folder."""
    from .runner import run_segment, run_themes
    from .store import THEMES, claim_output, write_run

    config = _config(ctx, **settings)
    with claim_output(out, path):
        run = (run_themes if command == THEMES else run_segment)(path, config)
        _print_problems(run.reports, run.messages)
        write_run(run, path, out, command)
    return run


@main.command("segment")
@click.argument("path", type=click.Path(exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@ingest_options
@click.pass_context
@_friendly
def segment_command(ctx: click.Context, path: str, out: str, **options: Any) -> None:
    """Read transcripts and write the turn table and analysis units (CSV and Parquet)."""
    run = _run_and_write(ctx, path, out, "segment", options)
    _echo(
        f"{run.counts['units']} units from {run.counts['turns']} turns in "
        f"{run.counts['interviews']} interviews → {out}/"
    )
    if run.failed:
        sys.exit(1)


@main.command("themes")
@click.argument("path", type=click.Path(exists=True))
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@ingest_options
@click.option(
    "--seed",
    type=int,
    help="First random seed: the Leiden runs use it and the ones after it; the map and HDBSCAN layouts use it too.",
)
@click.option("--min-cluster-size", type=int, help="Smallest theme, in units (default: scaled with corpus size).")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Embedding cache folder.")
@click.option("--device", help="Embedding device: auto, cpu, cuda.")
@click.option(
    "--embedding-backend", type=click.Choice(["onnx", "torch"]),
    help="onnx (default): the model quantised to int8, about 2.7x faster on CPU; torch: the model as shipped.",
)  # fmt: skip
@click.option("--zones", help="Zone taxonomy: an id in models/zones/ or a TOML file.")
@click.option("--personas", type=int, help="Number of personas (default: chosen by silhouette).")
@click.option(
    "--codebook", type=click.Path(exists=True),
    help="Your edited codebook.toml (insightmap codebook export), or an earlier output folder: keeps theme ids.",
)  # fmt: skip
@click.pass_context
@_friendly
def themes_command(ctx: click.Context, path: str, out: str, **overrides: Any) -> None:
    """Discover themes in the transcripts under PATH and write tables, report and workbook to OUT."""
    run = _run_and_write(ctx, path, out, "themes", overrides)
    counts = run.counts
    _echo(
        f"{counts['themes']} themes ({counts['parents']} groups) from {counts['units']} units of "
        f"{counts['participants']} participants; {counts['unassigned']} unassigned → {out}/ (open report.html)"
    )
    smallest = run.details.get("theme_params", {}).get("min_cluster_size", 0)
    if counts["themes"] == 0:
        _echo(
            f"note: no theme found: a theme needs at least {smallest} units close together, and "
            f"{counts['units']} units gave none (add interviews, or lower --min-cluster-size)",
            err=True,
        )
    for theme in run.themes.sort_values("participants", ascending=False, kind="stable").head(10).itertuples():
        _echo(f"  {theme.theme:>3}  {theme.participants:>3}/{counts['participants']}  {theme.label}")
    _print_codebook(run)
    _print_personas(run)
    if run.failed:
        sys.exit(1)


@main.command("personas")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("--personas", type=int, help="Number of personas (default: chosen by silhouette).")
@click.pass_context
@_friendly
def personas_command(ctx: click.Context, out: str, personas: int | None) -> None:
    """Regroup personas in an existing output folder OUT, without re-embedding."""
    from .runner import rerun_personas
    from .store import claim_output

    config = _config(ctx, personas=personas)
    with claim_output(out):
        run = rerun_personas(out, config)
    _print_personas(run)


def _print_codebook(run) -> None:
    """What the codebook did, and every entry that no longer matches (kept in the file, not applied)."""
    applied = run.details.get("codebook")
    if not applied:
        return
    statuses = Counter(" ".join(e["status"].split(" ")[:2]) for e in applied["entries"])
    statuses["new themes"] = sum(origin == "new" for origin in applied["origin"].values())
    _echo("codebook: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    for entry in applied["entries"]:
        if entry["status"] == "not found":
            _echo(f"warning: codebook theme {entry['id']} \u201c{entry['label']}\u201d matches no theme of this run "
                  "(left in the codebook, not applied)", err=True)  # fmt: skip
        elif entry["status"] == "seed code" and entry["units"] == 0:
            _echo(f"warning: seed code \u201c{entry['label']}\u201d found in no unit", err=True)


def _print_personas(run) -> None:
    from .render import counted

    table = run.personas
    shape = run.details.get("persona_structure", {})
    chance = f", no better than chance: p = {shape['p_value']:.2f}" if shape.get("beyond_chance") is False else ""
    k = shape.get("k", 0)
    # Participants alone in their group are listed as fitting none, so fewer personas can show than k groups.
    shown = f"; {k - len(table)} of the {k} held no one who fits it" if 0 < len(table) < k else ""
    figures = f"silhouette {shape.get('silhouette', 0.0):.2f} at k = {k}{shown}{chance}" if k else "too few to group"
    strength = shape.get("strength", "none")
    _echo(f"{counted(len(table), 'persona')} → personas.md, personas/ (structure: {strength}, {figures})")
    for row in table.itertuples():
        _echo(f"  {row.persona}  {row.name:<8} {row.size:>3} participants  {row.archetype}")


zones_option = click.option("--zones", help="Zone taxonomy: an id in models/zones/ or a TOML file.")


@main.group("zones")
def zones_group() -> None:
    """Buyer insight zones: inspect a taxonomy, or file loose texts under it."""


@zones_group.command("list")
@zones_option
@click.pass_context
@_friendly
def zones_list(ctx: click.Context, zones: str | None) -> None:
    """Print a taxonomy: each zone with its description and examples."""
    from .zones import load_taxonomy

    taxonomy = load_taxonomy(_config(ctx, zones=zones).zones)
    _echo(f"{taxonomy.name} ({taxonomy.path})\n")
    for zone in (*taxonomy.zones, taxonomy.none):
        _echo(f"{zone.id}: {zone.name}\n  {zone.description}")
        for example in zone.examples[:3]:
            _echo(f"    e.g. {example}")
        _echo("")


@zones_group.command("classify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--text-column", required=True, help="Column holding the texts to classify.")
@click.option("--question-column", help="Optional column with the question each text answers.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Output CSV (default: FILE.zones.csv).")
@zones_option
@click.pass_context
@_friendly
def zones_classify(
    ctx: click.Context, file: str, text_column: str, question_column: str | None, out: str | None, zones: str | None
) -> None:
    """File each row of a CSV (e.g. open-ended survey answers) under a zone, with a confidence."""
    from pathlib import Path

    from .outputs import write_csv_atomic
    from .runner import run_classify

    table = run_classify(file, text_column, question_column, _config(ctx, zones=zones))
    target = Path(out) if out else Path(file).with_suffix(".zones.csv")
    write_csv_atomic(table, target)
    counts = table["zone"].value_counts()
    _echo(f"{len(table)} rows → {target}: " + ", ".join(f"{z} {n}" for z, n in counts.items()))


@main.group("codebook")
def codebook_group() -> None:
    """The codebook you edit: export a run's themes, edit them, apply them with `themes --codebook`."""


@codebook_group.command("export")
@click.argument("out", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--to", "target", default="codebook.toml", type=click.Path(dir_okay=False),
              help="Codebook file to write (default: ./codebook.toml).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an existing codebook file (your edits in it are lost).")
@click.pass_context
@_friendly
def codebook_export(ctx: click.Context, out: str, target: str, force: bool) -> None:
    """Write the themes of the run in OUT as codebook.toml: rename, merge, split, exclude, move, add seed codes."""
    from pathlib import Path

    from .codebook import export_codebook
    from .errors import InputError
    from .outputs import write_text_atomic
    from .store import load_run

    if Path(target).exists() and not force:
        raise InputError(target, "exists; it may hold your edits (use --force to replace it)")
    run, _ = load_run(out, _config(ctx))
    write_text_atomic(export_codebook(run), Path(target))
    _echo(f"{len(run.themes)} themes → {target}: edit it, then `insightmap themes PATH -o OUT --codebook {target}`")


@main.group("config")
def config_group() -> None:
    """Inspect configuration."""


@config_group.command("show")
@click.pass_context
@_friendly
def config_show(ctx: click.Context) -> None:
    """Print the effective configuration (defaults + insightmap.toml) as TOML."""
    import tomli_w

    config = _config(ctx)
    _echo(tomli_w.dumps({"insightmap": config.to_dict()}))


def entry() -> None:
    """The console script: run the command, flush what it printed, and leave without tearing down the heap
    (spaCy's vocabulary, the models, the run's tables): 0.9 s of a 10k-unit run went to that alone. mypy leaves the
    same way. Outputs are complete by then: every file is written atomically before the command returns."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (``| head``): nothing more can be said
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
