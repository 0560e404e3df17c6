"""What every importer shares: root checks, the common CLI options, fingerprints, the
build-validate-swap sequence that makes imports atomic and idempotent, and parallel probing.

An importer implements ``build(txn)`` that writes its tables into a transaction and hands it to
:func:`run_import`, which

1. fingerprints the inputs (paths, sizes, mtimes) together with the importer version and options;
2. returns at once if the dataset already holds an import with that fingerprint (idempotent);
3. otherwise builds the dataset in a temporary folder, validates it, and only then moves it into
   place, so a failure at any step leaves the store as it was.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click

from gymdata import store
from gymdata.errors import DatasetExistsError, InputError
from gymdata.media import MediaInfo, is_video, probe_video
from gymdata.output import emit, json_option, json_requested
from gymdata.runner import run_tasks
from gymdata.store import Transaction
from gymdata.validate import validate


def check_root(root: str | Path, *, corpus: str, hint: str) -> Path:
    """Return ``root`` as an absolute path if it is a non-empty folder.

    Raises:
        InputError: If it does not exist, is not a folder, or is empty.
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise InputError(f"{corpus} root not found", path=root, hint=hint)
    if not root.is_dir():
        raise InputError(f"{corpus} root is not a folder", path=root, hint=hint)
    if not any(root.iterdir()):
        raise InputError(f"{corpus} root is empty", path=root, hint=hint)
    return root


def import_options(func: Callable) -> Callable:
    """The options every ``gymdata import <corpus>`` command takes."""

    @click.option("--name", required=True, help="Name of the dataset to create in the store.")
    @click.option("--force", is_flag=True, help="Re-import even if the dataset is up to date.")
    @click.option("-j", "--workers", default=2, show_default=True, help="Worker processes for probing.")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @json_option
    @functools.wraps(func)
    def wrapper(*args, as_json: bool = False, **kwargs):  # --json is read by ImportReport.echo
        return func(*args, **kwargs)

    return wrapper


@dataclass
class ImportReport:
    """What an import did."""

    dataset: str
    corpus: str
    up_to_date: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        if self.up_to_date:
            return [f"dataset {self.dataset!r} is up to date with its {self.corpus} source (use --force to re-import)"]
        counts = ", ".join(f"{t} {n:,}" for t, n in self.counts.items() if n)
        out = [f"imported {self.corpus} into dataset {self.dataset!r} in {self.seconds:.1f}s: {counts}"]
        if self.skipped:
            out.append(f"skipped {len(self.skipped)} unreadable input(s):")
            out += [f"  {why}" if why.startswith(path) else f"  {path}: {why}" for path, why in self.skipped]
        return out

    def echo(self) -> None:
        """Print the summary (skipped inputs on stderr), or the report as JSON with ``--json``."""
        if json_requested():
            emit(self, [], True)
            return
        for line in self.lines():
            click.echo(line, err=line.startswith(("skipped", "  ")))


def fingerprint_inputs(root: Path, inputs: Iterable[Path], *, importer: str, version: str, options: dict) -> str:
    """Fingerprint of an import: input files (path, size, mtime), importer version and options."""
    digest = hashlib.sha1(store.fingerprint(list(inputs), root).encode())
    digest.update(json.dumps({"importer": importer, "version": version, "options": options},
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def run_import(
    *,
    name: str,
    corpus: str,
    root: Path,
    importer: str,
    version: str,
    inputs: Iterable[Path],
    options: dict,
    force: bool,
    build: Callable[[Transaction, ImportReport], None],
) -> ImportReport:
    """Import atomically and idempotently (see the module docstring).

    Args:
        name: Dataset name.
        corpus: Corpus name stored in ``videos.corpus`` and the source record.
        root: Corpus root (absolute).
        importer: Importer name for the source record.
        version: Importer version; a new version invalidates earlier fingerprints.
        inputs: Every input file the import reads.
        options: Options that change the result.
        force: Rebuild even if up to date or if the dataset holds another import.
        build: Writes the tables into the transaction; may record skipped inputs in the report.

    Raises:
        DatasetExistsError: If the dataset exists with another import and ``force`` is false.
    """
    start = time.perf_counter()
    report = ImportReport(name, corpus)
    fp = fingerprint_inputs(root, inputs, importer=importer, version=version, options=options)
    if store.exists(name) and not force:
        src = store.open_dataset(name).source(corpus)
        if src is not None and src.get("fingerprint") == fp:
            report.up_to_date = True
            return report
        raise DatasetExistsError(f"dataset {name!r} exists and differs from this import",
                                 hint="pass --force to rebuild it, or choose another --name")
    with store.building(name, overwrite=True) as ds:
        with ds.transaction() as txn:
            build(txn, report)
            txn.set_source(corpus, root=str(root), importer=importer, version=version, fingerprint=fp,
                           options=options, skipped=[p for p, _ in report.skipped])
        validate(ds)
        report.counts = ds.row_counts()
    report.seconds = time.perf_counter() - start
    return report


def probe(path: Path) -> MediaInfo:
    """Probe one video file (module level so worker processes can run it)."""
    return probe_video(path)


def probe_many(paths: list[Path], *, workers: int, progress: bool, desc: str = "probing", decode: bool = True
               ) -> tuple[dict[Path, MediaInfo], list[tuple[str, str]]]:
    """Probe video files in parallel; returns infos by path and (path, error) for the failures.

    ``decode=False`` reads each clip's first packet instead of decoding its first frame (see
    :func:`gymdata.media.probe_video`).
    """
    infos, failed = {}, []
    # probe_video itself goes to the workers, so they import only gymdata.media, not this module
    fn = probe_video if decode else functools.partial(probe_video, decode=False)
    for outcome in run_tasks(fn, paths, workers=workers, desc=desc, unit="clip", progress=progress):
        if outcome.ok:
            infos[outcome.item] = outcome.value
        else:
            failed.append((str(outcome.item), outcome.error))
    return infos, sorted(failed)


def find_videos(root: Path) -> list[Path]:
    """Every video file under ``root``, sorted, hidden files and folders excluded."""
    return sorted(p for p in root.rglob("*") if p.is_file() and is_video(p)
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))
