"""``gymdata demo``: the main job on the built-in sample corpus, end to end.

Steps (each is skipped when its result is already up to date, so a rerun is cheap):

1. generate the synthetic sample corpus under ``$GYMDATA_HOME/sources/``;
2. import its plain videos (``videos`` importer, with the subjects/views sidecar and scores) as
   dataset ``NAME``, and its repetition annotations when the ``repcount`` importer is installed;
3. import its ALEX-GYM-1 layout as ``NAME-alex`` when the ``alex-gym-1`` importer is installed;
4. validate and print ``gymdata info`` for each dataset.
"""

from __future__ import annotations

import json
import logging

import click

from gymdata import registry, store
from gymdata.summary import summarise
from gymdata.validate import validate

log = logging.getLogger("gymdata")


def _importer(name: str, args: list[str]) -> bool:
    """Run ``gymdata import NAME ARGS`` if that importer is installed; returns whether it ran."""
    if name not in registry.available("gymdata.importers"):
        log.info("(importer %r not installed: step skipped)", name)
        return False
    command = registry.load("gymdata.importers", name)
    command.main(args=args, prog_name=f"gymdata import {name}", standalone_mode=False)
    return True


def run_demo(*, name: str = "sample", seed: int = 0, subjects: int = 6, workers: int = 2, force: bool = False) -> None:
    """Generate, import, validate and summarise the sample corpus (see the module docstring)."""
    from gymdata.sample import generate_sample

    source = store.home() / "sources" / f"sample-seed{seed}-subjects{subjects}"
    if force or not (source / "truth.json").is_file():
        click.echo(f"[1/4] generating the sample corpus in {source}")
        summary = generate_sample(source, seed=seed, subjects=subjects, overwrite=True, progress=True)
        click.echo("      " + json.dumps({k: v for k, v in summary.items() if not isinstance(v, (dict, list))}))
    else:
        click.echo(f"[1/4] sample corpus already generated in {source}")
    flags = ["-j", str(workers)] + (["--force"] if force else [])
    click.echo(f"[2/4] importing the sample videos as {name!r}")
    videos = source / "videos"
    _importer("videos", [str(videos), "--name", name, "--meta", str(videos / "subjects.csv"), *flags])
    _importer("repcount", [str(videos / "repcount.csv"), "--name", name])
    click.echo(f"[3/4] importing the sample's ALEX-GYM-1 layout as {name + '-alex'!r}")
    names = [name]
    if _importer("alex-gym-1", [str(source / "alex-gym-1"), "--name", f"{name}-alex", *flags]):
        names.append(f"{name}-alex")
    click.echo("[4/4] validating")
    for ds_name in names:
        ds = store.open_dataset(ds_name)
        validate(ds)
        click.echo(f"\n{summarise(ds)}")
    click.echo(f"\ndone: datasets {', '.join(names)} in {store.home()}  (next: gymdata info {name})")
