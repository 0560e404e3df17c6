"""Commands added to ``gymdata`` by the annotators package (entry points ``gymdata.commands``).

* ``gymdata fiftyone push NAME`` / ``gymdata fiftyone pull NAME``;
* ``gymdata app NAME``: the FiftyOne App with the labelling plugin;
* ``gymdata agreement NAME``: inter-annotator agreement, as a table and a PNG;
* ``gymdata adjudicate NAME --raters A B``: two annotators' labels side by side for a reviewer.
"""

from __future__ import annotations

from pathlib import Path

import click

from gymdata.output import emit, json_option

_URI_HELP = "MongoDB URI of a shared FiftyOne database (default: $FIFTYONE_DATABASE_URI or FiftyOne's embedded one)."


def _database_option(func):
    return click.option("--database-uri", envvar="FIFTYONE_DATABASE_URI", default=None, help=_URI_HELP)(func)


def _fo_name_option(func):
    return click.option("--fo-name", default=None,
                        help="FiftyOne dataset name (default NAME); one per annotator gives blind double "
                             "labelling.")(func)


@click.group("fiftyone")
def fiftyone_group() -> None:
    """Push a dataset to FiftyOne for labelling, and pull the labels back."""


@fiftyone_group.command("push")
@click.argument("name")
@_fo_name_option
@_database_option
@click.option("--pose-source", default=None, help="Poses source to show when a clip has several.")
@click.option("--criteria-from", multiple=True, metavar="DATASET",
              help="Also offer the criteria of another store dataset (repeatable), e.g. sample-alex for sample.")
@click.option("--blind-for", default=None, metavar="ANNOTATOR",
              help="Blind double labelling: show ANNOTATOR's own and the imported labels only, never another "
                   "annotator's (use with an --fo-name of their own).")
@click.option("--takes/--no-takes", "make_takes", default=True, show_default=True,
              help="Add the 'take' slice: frontal and lateral side by side in one video, labelled once.")
@click.option("-j", "--workers", default=2, show_default=True, help="Processes encoding frame folders to MP4.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@json_option
def push_cmd(name: str, fo_name: str | None, database_uri: str | None, pose_source: str | None,
             criteria_from: tuple[str, ...], blind_for: str | None, make_takes: bool, workers: int, quiet: bool,
             as_json: bool) -> None:
    """Create or update the FiftyOne dataset of store dataset NAME (one sample per clip, views grouped)."""
    from annotators.push import push

    report = push(name, fo_name=fo_name, pose_source=pose_source, criteria_from=criteria_from, workers=workers,
                  progress=not quiet, database_uri=database_uri, blind_for=blind_for, make_takes=make_takes)
    emit(report, report.lines())


@fiftyone_group.command("pull")
@click.argument("name")
@_fo_name_option
@_database_option
@json_option
def pull_cmd(name: str, fo_name: str | None, database_uri: str | None, as_json: bool) -> None:
    """Append the labels made in FiftyOne to store dataset NAME, with who and when (idempotent)."""
    from annotators.pull import pull

    report = pull(name, fo_name=fo_name, database_uri=database_uri)
    emit(report, report.lines())


@click.command("app")
@click.argument("name")
@_fo_name_option
@_database_option
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0: the network).")
@click.option("--port", default=5151, show_default=True, help="Port to serve on.")
@click.option("--annotator", default=None, help="Default annotator name (default $GYMDATA_ANNOTATOR or the OS user).")
@click.option("--plugins-dir", default=None, help="FiftyOne plugins folder to install the labelling plugin into.")
@click.option("--criteria-from", multiple=True, metavar="DATASET",
              help="When pushing first: also offer the criteria of another store dataset (as push).")
@click.option("--blind/--no-blind", default=None,
              help="When pushing first: show only --annotator's own and the imported labels (default: blind when "
                   "--fo-name is not NAME, an annotator's own copy).")
def app_cmd(name: str, fo_name: str | None, database_uri: str | None, address: str, port: int,
            annotator: str | None, plugins_dir: str | None, criteria_from: tuple[str, ...],
            blind: bool | None) -> None:
    """Open the FiftyOne App on NAME with the labelling plugin (pushes NAME first if needed)."""
    from annotators.app import launch

    launch(name, fo_name=fo_name, database_uri=database_uri, address=address, port=port, annotator=annotator,
           plugins_dir=plugins_dir, criteria_from=criteria_from, blind=blind, echo=click.echo)


@click.command("agreement")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for agreement.png and agreement.json (default $GYMDATA_HOME/reports/NAME).")
@click.option("--annotator", "annotators", multiple=True, help="Only these annotators (repeatable).")
@click.option("--include-imported", is_flag=True, help="Count the corpus's own labels as one more rater.")
@json_option
def agreement_cmd(name: str, out: Path | None, annotators: tuple[str, ...], include_imported: bool,
                  as_json: bool) -> None:
    """Agreement between annotators: kappa per criterion, ICC of scores, repetition counts, segment IoU."""
    from annotators.agreement import run_agreement

    report = run_agreement(name, out=out, annotators=annotators or None, include_imported=include_imported)
    emit({"dataset": name, "raters": report.raters, "rows": report.rows, "warnings": report.warnings(),
          "png": report.png, "json": report.json},
         [report.table(), f"\nwrote {report.png} and {report.json}"])


@click.command("adjudicate")
@click.argument("name")
@click.option("--raters", nargs=2, required=True, metavar="A B", help="The two annotators to compare.")
@click.option("--fo-name", default=None, help="FiftyOne dataset to make (default NAME-adjudicate-A-B).")
@_database_option
@json_option
def adjudicate_cmd(name: str, raters: tuple[str, str], fo_name: str | None, database_uri: str | None,
                   as_json: bool) -> None:
    """Push NAME with two annotators' labels side by side (disagreements first) for a reviewer to pick."""
    from annotators.adjudicate import build

    report = build(name, raters, fo_name=fo_name, database_uri=database_uri)
    emit(report, report.lines())
