"""``gymdata split``: make, report on and list a dataset's splits (library: :mod:`gymdata.splits`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gymdata import store
from gymdata.output import emit, json_option
from gymdata.splits import available_splits, default_split, make_split, part_order, split_clips, stored_splits
from gymdata.store import Dataset


def list_lines(ds: Dataset) -> list[str]:
    """One line per named split: its parts and sizes, and the default split's."""
    videos = split_clips(ds)
    meta = stored_splits(ds)
    out = []
    default = default_split(videos)
    sizes = " ".join(f"{p}={n}" for p, n in default.value_counts().reindex(part_order(default)).items())
    out.append(f"default (videos.split): {sizes or 'not set'}")
    for name, parts in available_splits(ds, videos).items():
        info = meta.get(name, {})
        kind = info.get("method", "derived")
        sizes = " ".join(f"{p}={n}" for p, n in parts.value_counts().reindex(part_order(parts)).items())
        out.append(f"{name} [{kind}]: {sizes}")
    return out


@click.command("split")
@click.argument("name")
@click.option("--scheme", default="group", show_default=True,
              help="group, kfold, or a named split to report on (alex-authors, ucf-fold1, flex-split4, ...).")
@click.option("--ratios", default="0.7,0.15,0.15", show_default=True, help="train,val,test (or train,test).")
@click.option("--seed", default=0, show_default=True, help="Seed of the group order.")
@click.option("-k", "--folds", default=5, show_default=True, help="Folds for --scheme kfold.")
@click.option("--no-stratify", is_flag=True, help="Balance sizes only, not exercises and labels.")
@click.option("--save-as", help="Name to store the split under (default seed<S>, or kfold<K>-seed<S>-<i>).")
@click.option("--default/--no-default", "make_default", default=None,
              help="Write the split into videos.split (default: yes for group, no otherwise).")
@click.option("--dry-run", is_flag=True, help="Print the leakage report; store nothing.")
@click.option("--list", "list_only", is_flag=True, help="List the dataset's splits and exit.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the leakage report(s) as JSON to this file.")
@json_option
def command(name: str, scheme: str, ratios: str, seed: int, folds: int, no_stratify: bool, save_as: str | None,
            make_default: bool | None, dry_run: bool, list_only: bool, report_file: Path | None, as_json: bool) -> None:
    """Make a leakage-free split of dataset NAME and print its leakage report.

    \b
    Subjects and recordings never straddle two parts; parts are stratified by exercise and
    label balance. Official splits (ucf-fold1..3, flex-split4) and the ALEX-GYM-1 authors' row
    split (alex-authors, which leaks) are available as named splits:
      gymdata split NAME                          70/15/15, seed 0 -> videos.split
      gymdata split NAME --seed 3 --ratios 0.8,0.1,0.1
      gymdata split NAME --scheme kfold -k 5
      gymdata split NAME --scheme alex-authors    report the authors' split
      gymdata split NAME --list
    """
    ds = store.open_dataset(name)
    if list_only:
        emit({"dataset": name, "splits": stored_splits(ds)}, list_lines(ds))
        return
    result = make_split(ds, scheme, ratios=ratios, seed=seed, folds=folds, stratify=not no_stratify,
                        save_as=save_as, default=make_default, dry_run=dry_run)
    reports = [r.to_dict() for r in result.reports]
    if report_file is not None:
        store.atomic_write_bytes(report_file, json.dumps(reports, indent=2).encode())
    emit({"dataset": name, "reports": reports, "saved": result.saved, "splits": list(result.splits),
          "default": result.default}, result.lines())
