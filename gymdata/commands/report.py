"""``gymdata report``: the HTML report of a dataset (library: :mod:`gymdata.report`)."""

from __future__ import annotations

from pathlib import Path

import click

from gymdata import store
from gymdata.output import emit, json_option
from gymdata.report import write_report


@click.command("report")
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write (default ./<NAME>-report).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it holds an earlier report.")
@json_option
def command(name: str, out: Path | None, overwrite: bool, as_json: bool) -> None:
    """Write an HTML report with plots of dataset NAME: clips, subjects, labels, poses, repetitions, leakage."""
    ds = store.open_dataset(name)
    page = write_report(ds, out or Path(f"{name}-report"), overwrite=overwrite)
    emit({"dataset": name, "page": str(page), "folder": str(page.parent)}, f"report written to {page}")
