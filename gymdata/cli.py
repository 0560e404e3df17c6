"""The ``gymdata`` command line.

A thin layer over the library: every command parses its options, calls one library function and
prints a summary. Importers, exporters and models are plugins found through entry points (see
:mod:`gymdata.registry`). Any :class:`~gymdata.errors.GymdataError` becomes one line on stderr and
a non-zero exit; ``--verbose`` shows the traceback as well.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path

import click

from gymdata import __version__, registry, store
from gymdata.commands import imports
from gymdata.errors import GymdataError, PluginError, ValidationError
from gymdata.logs import set_verbose
from gymdata.output import emit, format_table, json_option  # format_table: also imported from here by plugins

log = logging.getLogger("gymdata")


@contextlib.contextmanager
def _listing(ctx: click.Context):
    """Mark ``ctx`` as listing commands for --help, where a broken plugin must not hide the others."""
    ctx.meta["gymdata.listing"] = True
    try:
        yield
    finally:
        ctx.meta.pop("gymdata.listing", None)


def _load_plugin(ctx: click.Context, group: str, name: str):
    """The plugin's command, or None; a plugin that fails to load is skipped in --help, an error otherwise."""
    if name not in registry.available(group):
        return None
    try:
        return registry.load(group, name)
    except PluginError as exc:
        if ctx.meta.get("gymdata.listing"):
            log.warning("warning: %s", exc)
            return None
        raise


class PluginGroup(click.Group):
    """A group whose subcommands are the click commands registered in an entry-point group."""

    def __init__(self, *args, plugin_group: str, as_command=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plugin_group = plugin_group
        self.as_command = as_command  # turns a loaded plugin (e.g. an Importer spec) into its command

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(registry.available(self.plugin_group)))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            command = _load_plugin(ctx, self.plugin_group, name)
            if command is not None and self.as_command is not None:
                command = self.as_command(command)
        return command

    def format_commands(self, ctx, formatter):
        with _listing(ctx):
            super().format_commands(ctx, formatter)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            if args and args[0] not in self.list_commands(ctx):
                registry.load(self.plugin_group, args[0])  # raises PluginError listing what exists
            raise


class RootGroup(click.Group):
    """The top-level group: built-in commands plus ``gymdata.commands`` plugins."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(registry.available("gymdata.commands")))

    def get_command(self, ctx, name):
        return super().get_command(ctx, name) or _load_plugin(ctx, "gymdata.commands", name)

    def format_commands(self, ctx, formatter):
        with _listing(ctx):
            super().format_commands(ctx, formatter)


@click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gymdata")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar="GYMDATA_HOME",
              help="Store root (default ./gymdata-data, or $GYMDATA_HOME).")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logs and full tracebacks.")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, verbose: bool) -> None:
    """gymdata: curate, annotate and learn from exercise videos.

    Import fitness corpora (ALEX-GYM-1, FLEX, UCF-101, your own videos) into one schema of
    Parquet tables, extract BlazePose landmarks, label in the FiftyOne App, make leakage-free
    splits, export, and train the baselines.

    \b
    Start with:   gymdata demo          (the whole pipeline on a built-in sample)
    Then:         gymdata info sample
    Datasets live under ./gymdata-data (or --home / $GYMDATA_HOME).
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    set_verbose(verbose)  # third-party native logs (MediaPipe, TFLite) in this process and its workers
    if home is not None:
        os.environ["GYMDATA_HOME"] = str(home.absolute())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", stream=sys.stderr)


@cli.group("import", cls=PluginGroup, plugin_group="gymdata.importers", as_command=imports.as_command)
def import_group() -> None:
    """Import a corpus into the store (one subcommand per importer)."""


def _describe_formats() -> list[str]:
    lines = []
    for fmt in sorted(registry.available("gymdata.exporters")):
        exporter = registry.load("gymdata.exporters", fmt)
        doc = getattr(exporter, "description", None) or (exporter.__doc__ or "").strip().split("\n")[0]
        lines.append(f"{fmt}: {doc}")
        for key, opt in sorted(getattr(exporter, "options", {}).items()):
            lines.append(f"    -o {key}=... ({opt.help}; default {opt.default!r})")
    return lines or ["no exporters installed"]


@cli.command("export")
@click.argument("name", required=False)
@click.argument("out", required=False, type=click.Path(file_okay=True, path_type=Path))
@click.option("-f", "--format", "fmt", metavar="F", help="Output format (see --list-formats).")
@click.option("-s", "--split", metavar="S",
              help="Clips to export: PART of the default split, NAME:PART, or a whole named split NAME.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE", help="A format option (repeatable).")
@click.option("-j", "--workers", default=2, show_default=True, help="Worker processes (media formats).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--list-formats", is_flag=True, help="List the formats and their options, then exit.")
@json_option
def export_group(name: str | None, out: Path | None, fmt: str | None, split: str | None, overwrite: bool,
                 options: tuple[str, ...], workers: int, quiet: bool, list_formats: bool, as_json: bool) -> None:
    """Export dataset NAME (or one split of it) to folder OUT in format F.

    \b
    gymdata export NAME --format hf-parquet --split test OUT
    gymdata export NAME --format arrays --split ucf-fold2:train OUT -o frames=16 -o size=112
    OUT is built in a hidden folder next to it and appears only when the export succeeded.
    """
    from gymdata.errors import InputError

    if list_formats:
        lines = _describe_formats()
        emit({"formats": sorted(registry.available("gymdata.exporters")), "lines": lines}, lines)
        return
    if not name or out is None:
        raise click.UsageError("NAME and OUT are required (gymdata export NAME --format F OUT)")
    known = sorted(registry.available("gymdata.exporters"))
    if not fmt:
        raise InputError("--format is required", hint=f"formats: {', '.join(known) or 'none installed'}")
    exporter = registry.load("gymdata.exporters", fmt)
    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"option {item!r} is not KEY=VALUE", hint="e.g. -o frames=16")
        parsed[key.strip()] = value
    ds = store.open_dataset(name)
    result = exporter(ds, out, split=split, overwrite=overwrite, workers=workers, progress=not quiet, **parsed)
    emit(result, str(result))


@cli.group("train", cls=PluginGroup, plugin_group="gymdata.models")
def train_group() -> None:
    """Train a baseline model (one subcommand per model)."""


@cli.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """List the datasets in the store."""
    names = store.list_datasets()
    if not names:
        emit([], f"no datasets in {store.home()} (try: gymdata demo)")
        return
    rows, docs, damaged = [], [], []
    for name in names:
        try:  # one damaged dataset must not hide the others
            ds = store.open_dataset(name)
            counts = ds.row_counts()
            corpora = ",".join(s["corpus"] for s in ds.sources) or "-"
            rows.append([name, corpora, counts.get("videos", 0), counts.get("poses", 0),
                         sum(counts.get(t, 0) for t in ("criteria", "scores", "segments", "penalties")),
                         ds.meta["updated_at"][:19].replace("T", " ")])
            docs.append({"name": name, "path": str(ds.path), "corpora": [s["corpus"] for s in ds.sources],
                         "tables": counts, "updated_at": ds.meta["updated_at"]})
        except (GymdataError, KeyError, TypeError, AttributeError) as exc:
            detail = exc if isinstance(exc, GymdataError) else f"dataset.json lacks {exc}"
            damaged.append(f"warning: dataset {name!r} is damaged: {detail}")
            rows.append([name, "DAMAGED", None, None, None, "-"])
            docs.append({"name": name, "damaged": str(detail)})
    emit(docs, format_table(["dataset", "corpora", "clips", "pose frames", "label history", "updated (UTC)"], rows))
    for line in damaged:
        click.echo(line, err=True)


@cli.command()
@click.argument("name")
@json_option
def info(name: str, as_json: bool) -> None:
    """Show what a dataset holds: clips by corpus, exercise, view and split, and its current labels
    per kind with who made them (the label history and model predictions apart)."""
    from gymdata.summary import summarise, summary_dict

    ds = store.open_dataset(name)
    if as_json:
        emit(summary_dict(ds), [], True)
    else:
        click.echo(summarise(ds))


@cli.command()
@click.argument("name")
@click.option("--no-media", is_flag=True, help="Do not check that media files exist.")
@json_option
def validate(name: str, no_media: bool, as_json: bool) -> None:
    """Check a dataset: schema, ranges, references, frames vs poses. Exits 1 on any problem."""
    from gymdata.validate import check

    ds = store.open_dataset(name)
    problems = check(ds, check_media=not no_media)
    if problems:
        if as_json:
            emit({"dataset": name, "valid": False, "problems": problems}, [], True)
        else:
            for p in problems:
                click.echo(f"FAIL {p}", err=True)
        raise ValidationError(f"dataset {name!r}: {len(problems)} problem(s)")
    counts = ds.row_counts()
    emit({"dataset": name, "valid": True, "problems": [], "tables": counts},
         f"ok: dataset {name!r} is valid ({', '.join(f'{t} {n}' for t, n in counts.items())})")


@cli.command()
@click.argument("table", required=False)
@json_option
def schema(table: str | None, as_json: bool) -> None:
    """Print the unified schema (all tables, or one)."""
    from gymdata.errors import InputError
    from gymdata.schema import SCHEMA_VERSION, TABLES, describe

    if table and table not in {spec.name for spec in TABLES.values()}:
        raise InputError(f"no table {table!r} in the schema", hint=f"tables: {', '.join(t.name for t in TABLES.values())}")
    lines, doc = [], {"schema_version": SCHEMA_VERSION, "tables": {}}
    for spec in TABLES.values():
        if table and spec.name != table:
            continue
        cols = describe(spec.name)
        doc["tables"][spec.name] = {"description": spec.description, "columns": [
            {"name": n, "type": t, "nullable": nullable, "description": d} for n, t, nullable, d in cols]}
        lines.append(f"\n{spec.name}: {spec.description}  (schema {SCHEMA_VERSION})")
        rows = [[n, t, "" if nullable else "required", d] for n, t, nullable, d in cols]
        lines.append(format_table(["column", "type", "", "description"], rows))
    emit(doc, lines)


@cli.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def remove(name: str, yes: bool, as_json: bool) -> None:
    """Delete a dataset from the store."""
    from gymdata.errors import SchemaError

    try:
        path = store.open_dataset(name).path
    except SchemaError:  # a damaged dataset can still be removed
        path = store.home() / store.check_name(name)
    if not yes:
        click.confirm(f"delete dataset {name!r} at {path}?", abort=True)
    store.remove(name)
    emit({"removed": name, "path": str(path)}, f"removed {name}")


@cli.command()
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, help="Random seed; same seed, same bytes.")
@click.option("--subjects", default=6, show_default=True, help="Number of simulated people.")
@click.option("--takes", default=2, show_default=True, help="Takes per subject and exercise.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@json_option
def sample(out: Path, seed: int, subjects: int, takes: int, overwrite: bool, as_json: bool) -> None:
    """Generate the synthetic sample corpus (ALEX-GYM-1 layout + plain videos) into OUT."""
    from gymdata.errors import DatasetExistsError, InputError
    from gymdata.guard import guard_output
    from gymdata.sample import generate_sample

    if subjects < 1 or takes < 1:
        raise click.BadParameter(f"must be at least 1 (got --subjects {subjects}, --takes {takes})",
                                 param_hint="'--subjects' / '--takes'")
    guard_output(out, overwrite=overwrite)
    try:
        summary = generate_sample(out, seed=seed, subjects=subjects, takes=takes, overwrite=overwrite, progress=True)
    except FileExistsError:
        raise DatasetExistsError("output folder exists and is not empty", path=out,
                                 hint="pass --overwrite to replace it, or choose another OUT") from None
    except ValueError as exc:
        raise InputError(str(exc), hint="see gymdata sample --help") from None
    emit({"out": str(out.absolute()), **summary}, [
        f"wrote the sample corpus (seed {seed}) to {out}: {summary['subjects']} people, {summary['takes']} takes, "
        f"{summary['repetitions']} repetitions, {summary['n_videos']} videos, {summary['frames']:,} frames, "
        f"{summary['bytes'] / 1e6:.1f} MB",
        f"  {out / summary['alex']}/ (ALEX-GYM-1 layout), {out / summary['videos']}/ (H.264 + CSVs), "
        f"{out / summary['truth']} (ground truth)",
        f"  next: gymdata import videos {out / summary['videos']} --name NAME"])


@cli.command()
@click.option("--name", default="sample", show_default=True, help="Dataset name to create.")
@click.option("--seed", default=0, show_default=True, help="Seed of the sample corpus.")
@click.option("--subjects", default=6, show_default=True, help="Simulated people in the sample.")
@click.option("-j", "--workers", default=2, show_default=True, help="Worker processes.")
@click.option("--force", is_flag=True, help="Regenerate and redo every step even if up to date.")
@click.option("--frames", "pose_frames", default=16, show_default=True, help="Frames per clip for BlazePose.")
@click.option("--epochs", default=25, show_default=True, help="Training epochs of the pose baseline.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures of every step as JSON (steps go to stderr).")
@click.pass_context
def demo(ctx: click.Context, name: str, seed: int, subjects: int, workers: int, force: bool, pose_frames: int,
         epochs: int, as_json: bool) -> None:
    """The whole pipeline on the built-in sample: generate, import, poses, split, export, train, count, report.

    Every step is skipped when its result is up to date, so a rerun takes seconds.
    """
    from gymdata.demo import run_demo

    figures = run_demo(name=name, seed=seed, subjects=subjects, workers=workers, force=force, pose_frames=pose_frames,
                       epochs=epochs, verbose=bool((ctx.obj or {}).get("verbose")), to_stderr=as_json)
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gymdata`` console script."""
    verbose = "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv)
    try:
        cli.main(args=argv, prog_name="gymdata", standalone_mode=False)
    except GymdataError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted: finished work is kept; run the same command again to resume", err=True)
        sys.exit(130)
    except (OSError, UnicodeError, MemoryError) as exc:
        # disk full, read-only, permission denied, name too long, bad encoding...: one line naming the
        # file and the fix (--verbose shows where it happened)
        from gymdata.safety import describe_os_error

        if verbose:
            traceback.print_exc()
        error = describe_os_error(exc) if not isinstance(exc, MemoryError) else \
            GymdataError("out of memory", hint="use fewer workers (-j) or a smaller batch")
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
