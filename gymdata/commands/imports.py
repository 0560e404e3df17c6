"""``gymdata import NAME``: one click command per importer, generated from its spec.

Every importer's command takes the same common options (:func:`import_options`) after its own
(:attr:`gymdata.importer.Importer.options`), runs the import and prints its report: a short
summary, or the report as JSON with ``--json``; notes (what was skipped and why) go to stderr.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click

from gymdata import store
from gymdata.errors import PluginError
from gymdata.importer import Importer, ImportOption
from gymdata.importing import DROP_LABELS
from gymdata.output import json_option


def import_options(func: Callable) -> Callable:
    """The options every ``gymdata import <corpus>`` command takes."""

    @click.option("--name", required=True, help="Name of the dataset to create in the store.")
    @click.option("--force", is_flag=True, help="Re-import even if the dataset is up to date.")
    @click.option("--drop-labels", is_flag=True,
                  help="Re-import even if human labels of clips that changed or left the source are dropped.")
    @click.option("-j", "--workers", default=2, show_default=True, help="Worker processes for probing.")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @json_option
    @functools.wraps(func)
    def wrapper(*args, drop_labels: bool = False, as_json: bool = False, **kwargs):
        # --json is read by ImportReport.echo
        if "name" in kwargs:  # a bad or reserved name fails before any input is read
            store.check_name(kwargs["name"])
        # the flag reaches run_import without each importer having to pass it along
        token = DROP_LABELS.set(drop_labels)
        try:
            return func(*args, **kwargs)
        finally:
            DROP_LABELS.reset(token)

    return wrapper


def _click_option(option: ImportOption) -> Callable:
    """The click decorator of one importer option."""
    if option.type is bool:
        return click.option(option.flag, is_flag=True, help=option.help)
    if option.choices is not None:
        kind = click.Choice(option.choices)
    elif option.type is Path:
        kind = click.Path(file_okay=option.path != "folder", dir_okay=option.path != "file", path_type=Path)
    else:
        kind = option.type
    return click.option(option.flag, type=kind, default=option.default, show_default=option.default is not None,
                        help=option.help)


def as_command(plugin: Importer | click.Command) -> click.Command:
    """An importer plugin as a click command: the command generated from an :class:`Importer`
    spec, or a ``click.Command`` registered as it is (what a third-party importer may also do)."""
    if isinstance(plugin, Importer):
        return command_for(plugin)
    if isinstance(plugin, click.Command):
        return plugin
    raise PluginError(f"importer plugin {plugin!r} is neither a gymdata.importer.Importer nor a click command",
                      hint="register an Importer spec under gymdata.importers")


@functools.cache
def command_for(importer: Importer) -> click.Command:
    """The ``gymdata import NAME`` command of an importer spec."""

    def run(name: str, force: bool, workers: int, quiet: bool, **options) -> None:
        source = options.pop(importer.input)
        report, notes = importer(source, name, force=force, workers=workers, progress=not quiet, **options)
        report.echo()
        for line in notes:
            click.echo(line, err=True)

    run.__doc__ = importer.help
    # decorators apply inside out: this gives ARG, the importer's options, then the common ones
    run = import_options(run)
    for option in reversed(importer.options):
        run = _click_option(option)(run)
    run = click.argument(importer.input, type=click.Path(path_type=Path))(run)
    return click.command(importer.name, help=importer.help)(run)
