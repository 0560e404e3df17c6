"""What every importer shares: root checks, fingerprints, the build-validate-swap sequence that
makes imports atomic and idempotent, and parallel probing. (What an importer declares about
itself, its :class:`~gymdata.importer.Importer` spec, is in :mod:`gymdata.importer`.)

An importer implements ``build(txn)`` that writes its tables into a transaction and hands it to
:func:`run_import`, which, holding the dataset's lock (:func:`gymdata.store.lock`) throughout,

1. fingerprints the inputs by **content** (path, size and a BLAKE2 hash of each file; a hash is
   reused from the previous import while a file's size and mtime are unchanged) together with the
   importer version and options: touching a file changes nothing;
2. returns at once if the dataset already holds an import with that fingerprint (idempotent);
3. otherwise builds the dataset in a temporary folder and **carries over what was added since the
   last import** (:func:`carry_over`) for every clip whose identity is unchanged (same id, path and
   media content): poses, human and model labels, labels of other sources, the edit ledger, splits.
   Human labels of clips that changed or left the source would be lost: then the import refuses,
   in one line that says how many and how to proceed (``--drop-labels``), unless asked;
4. validates the result and only then moves it into place, so a failure at any step leaves the
   store as it was.
"""

from __future__ import annotations

import contextvars
import fnmatch
import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from gymdata import store
from gymdata.errors import DatasetExistsError, InputError, ValidationError
from gymdata.media import MediaInfo, is_video, probe_video
from gymdata.output import emit, json_requested
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


def read_json(path: Path, *, hint: str = "the file is truncated or damaged") -> Any:
    """The JSON document in ``path`` (an input file of an import).

    Raises:
        InputError: If it cannot be read or is not valid JSON (naming the line and column).
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", path=path,
                         hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=path) from None


#: Whether the running import may drop human labels (``--drop-labels``); see :func:`run_import`.
DROP_LABELS: contextvars.ContextVar[bool] = contextvars.ContextVar("gymdata_drop_labels", default=False)
#: Attachment with the content digests of the last import's inputs, per corpus.
DIGESTS = "import_digests.json"


@dataclass
class ImportReport:
    """What an import did."""

    dataset: str
    corpus: str
    up_to_date: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    kept: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        if self.up_to_date:
            return [f"dataset {self.dataset!r} is up to date with its {self.corpus} source (use --force to re-import)"]
        counts = ", ".join(f"{t} {n:,}" for t, n in self.counts.items() if n)
        out = [f"imported {self.corpus} into dataset {self.dataset!r} in {self.seconds:.1f}s: {counts}"]
        if self.kept:
            rows = ", ".join(f"{t} {n:,}" for t, n in self.kept.items() if n and t != "clips") or "nothing to keep"
            out[0] += f"; kept from before for {self.kept.get('clips', 0):,} unchanged clip(s): {rows}"
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


def file_digests(root: Path, inputs: Iterable[Path], known: dict[str, list] | None = None
                 ) -> dict[str, list]:
    """``{relative path: [size, mtime_ns, content digest]}`` of the input files.

    A file whose size and mtime match its entry in ``known`` keeps that digest without being read
    (a re-import of an unchanged corpus reads nothing twice); every other file is hashed whole
    with XXH3-128 (a change detector, not a security check: ~9 GB/s against sha1's ~0.8), in
    threads, once per inode (hard links share their content).
    """
    import xxhash

    known = known or {}
    by_inode: dict[tuple[int, int, int, int], str] = {}

    def digest_of(path: Path, st) -> str:
        inode = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if inode not in by_inode:
            with open(path, "rb") as fh:
                by_inode[inode] = hashlib.file_digest(fh, xxhash.xxh3_128).hexdigest()
        return by_inode[inode]

    def one(path: Path) -> tuple[str, list]:
        st = path.stat()
        rel = (path.relative_to(root) if path.is_relative_to(root) else path.absolute()).as_posix()
        old = known.get(rel)
        if old is not None and old[0] == st.st_size and old[1] == st.st_mtime_ns:
            return rel, old
        return rel, [st.st_size, st.st_mtime_ns, digest_of(path, st)]

    paths = sorted({Path(p) for p in inputs})
    with ThreadPoolExecutor(max_workers=4) as pool:  # reading and hashing release the GIL
        return dict(pool.map(one, paths))


def fingerprint_inputs(root: Path, inputs: Iterable[Path] | dict[str, list], *, importer: str, version: str,
                       options: dict) -> str:
    """Fingerprint of an import: its input files by content (relative path, size, digest; never
    the modification time), the importer version and the options.

    Args:
        root: Corpus root; paths are taken relative to it.
        inputs: The input files, or their :func:`file_digests` already computed.
    """
    files = inputs if isinstance(inputs, dict) else file_digests(root, inputs)
    digest = hashlib.sha1()
    for rel in sorted(files):
        size, _, content = files[rel]
        digest.update(f"{rel}\0{size}\0{content}\n".encode())
    digest.update(json.dumps({"importer": importer, "version": version, "options": options},
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _legacy_fingerprint(root: Path, inputs: list[Path], importer: str, version: str, options: dict) -> str:
    """The fingerprint an older gymdata recorded (paths, sizes, mtimes): see :func:`store.fingerprint`."""
    digest = hashlib.sha1(store.fingerprint(inputs, root).encode())
    digest.update(json.dumps({"importer": importer, "version": version, "options": options},
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _old_digests(name: str, corpus: str) -> dict[str, list]:
    if not store.exists(name):
        return {}
    path = store.open_dataset(name).attachment(DIGESTS)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get(corpus, {})
    except (OSError, ValueError):
        return {}


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
    drop_labels: bool | None = None,
) -> ImportReport:
    """Import atomically and idempotently, keeping what was added since (see the module docstring).

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
        drop_labels: Rebuild even if human labels would be dropped (default: the ``--drop-labels``
            flag of the running command).

    Raises:
        DatasetExistsError: If the dataset exists with another import and ``force`` is false, or
            if the rebuild would drop human labels and ``drop_labels`` is false.
        DatasetBusyError: If another process keeps the dataset locked.
    """
    start = time.perf_counter()
    store.check_name(name)
    report = ImportReport(name, corpus)
    drop_labels = DROP_LABELS.get() if drop_labels is None else drop_labels
    inputs = list(inputs)
    # the lock covers the check and the build: a second import of the same name waits, then finds
    # this one's result (up to date, or "exists and differs") instead of silently replacing it
    with store.lock(name, action=f"import {corpus}"):
        files = file_digests(root, inputs, _old_digests(name, corpus))
        fp = fingerprint_inputs(root, files, importer=importer, version=version, options=options)
        old = store.open_dataset(name) if store.exists(name) else None
        if old is not None and not force:
            src = old.source(corpus)
            if src is not None and src.get("fingerprint") == fp:
                report.up_to_date = True
                return report
            if src is not None and src.get("fingerprint") == _legacy_fingerprint(root, inputs, importer, version,
                                                                                  options):
                # imported by an older gymdata with the same files: record the content fingerprint
                with old.transaction() as txn:
                    fields = {k: v for k, v in src.items() if k not in ("corpus", "imported_at")}
                    txn.set_source(corpus, **{**fields, "fingerprint": fp})
                    txn.put_attachment(DIGESTS, {**_all_digests(old), corpus: files})
                report.up_to_date = True
                return report
            raise DatasetExistsError(f"dataset {name!r} exists and differs from this import",
                                     hint="pass --force to re-import it (poses and labels of unchanged clips are "
                                          "kept), or choose another --name")
        with store.building(name, overwrite=True) as ds:
            with ds.transaction() as txn:
                build(txn, report)
                txn.set_source(corpus, root=str(root), importer=importer, version=version, fingerprint=fp,
                               options=options, skipped=[p for p, _ in report.skipped])
                digests = {corpus: files}
                if old is not None:
                    digests = {**_all_digests(old), corpus: files}
                txn.put_attachment(DIGESTS, digests)
            if old is not None:
                report.kept = carry_over(old, ds, corpus, drop_labels=drop_labels)
            try:
                validate(ds)
            except ValidationError as exc:
                raise _import_invalid(ds, root, exc) from None
            report.counts = ds.row_counts()
    report.seconds = time.perf_counter() - start
    return report


def _all_digests(ds: store.Dataset) -> dict:
    try:
        return json.loads(ds.attachment(DIGESTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- what a re-import keeps ------------------------------------------------------------------------

_IDENTITY = ["path", "media_kind", "num_frames", "fps", "width", "height"]


def clip_identities(ds: store.Dataset, corpora: set[str] | None = None) -> dict[str, str]:
    """``{video_id: identity}``: a hash of the clip's location, shape and media content.

    The content is the digests of the clip's files among the import's inputs (its video file, or
    the images of its frame folder or pattern) when the importer listed them and the clip's corpus
    is in ``corpora`` (default all); otherwise the probed shape (frames, fps, size) stands for it.
    """
    videos = ds.df("videos", columns=["video_id", "corpus", *_IDENTITY])
    digests = _all_digests(ds)
    out = {}
    for row in videos.itertuples(index=False):
        files = digests.get(row.corpus, {}) if corpora is None or row.corpus in corpora else {}
        media = []
        if files:
            if row.path in files:
                media = [files[row.path][2]]
            else:
                pattern = row.path if any(c in row.path for c in "*?[") else row.path.rstrip("/") + "/*"
                media = [files[k][2] for k in sorted(files) if fnmatch.fnmatchcase(k, pattern)]
        key = [row.video_id, *(None if v != v else v for v in (getattr(row, c) for c in _IDENTITY)), media]
        out[row.video_id] = hashlib.sha1(json.dumps(key, default=str).encode()).hexdigest()
    return out


def carry_over(old: store.Dataset, new: store.Dataset, corpus: str, *, drop_labels: bool = False) -> dict[str, int]:
    """Copy into the freshly built ``new`` what ``old`` held beyond this import, for every clip
    whose identity (:func:`clip_identities`) is unchanged.

    Kept: human and model label rows; imported label rows of other sources (an annotator this
    build did not write, e.g. a RepCount CSV added to a video import); poses of sources the build
    did not produce (extracted poses) and the clips' pose summaries; the split columns when the
    dataset has stored splits; the records of other sources whose rows were kept; every
    attachment the build did not write (the edit ledger, splits).

    Raises:
        DatasetExistsError: If human label rows belong to clips that changed or are gone and
            ``drop_labels`` is false (nothing is written then).

    Returns:
        Rows kept per table.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from gymdata.schema import LABEL_TABLES

    # media digests are compared where both imports recorded them (a store made by an older
    # gymdata has none: there the probed shape decides)
    both = set(_all_digests(old)) & set(_all_digests(new))
    before, after = clip_identities(old, both), clip_identities(new, both)
    kept_ids = sorted(v for v, ident in before.items() if after.get(v) == ident)
    lost = []
    for table in LABEL_TABLES:
        if old.has(table):
            human = old.df(table, columns=["video_id"], filter={"origin": "human"})
            lost += [v for v in human["video_id"] if v not in set(kept_ids)]
    if lost and not drop_labels:
        raise DatasetExistsError(
            f"re-importing {new.name!r} would drop {len(lost)} human label row(s) of {len(set(lost))} clip(s) "
            "that changed or are no longer in the source",
            hint="pass --drop-labels to re-import anyway, or import it under another --name to compare")
    def isin(column: str, values) -> pc.Expression:  # typed: an empty list has no type of its own
        return pc.field(column).isin(pa.array(sorted(v for v in values if v is not None), pa.string()))

    kept: dict[str, int] = {}
    carried_imports: set[str] = set()  # annotators (source tags) of the other sources' rows kept
    keep = isin("video_id", kept_ids)
    with new.transaction() as txn:
        for table in LABEL_TABLES:
            if not old.has(table):
                continue
            ours = set(new.df(table, columns=["annotator"], filter={"origin": "imported"})["annotator"]) \
                if new.has(table) else set()
            other_imports = (pc.field("origin") == "imported") & ~isin("annotator", ours)
            rows = old.read(table, filter=keep & (pc.field("origin").isin(["human", "model"]) | other_imports))
            txn.append(table, rows)
            kept[table] = len(rows)
            carried_imports |= set(rows.filter(pc.equal(rows.column("origin"), "imported")).column("annotator")
                                   .to_pylist())
        if old.has("poses") and kept_ids:
            produced = set(new.df("poses", columns=["source"])["source"]) if new.has("poses") else set()
            flt = keep & ~isin("source", produced)
            n = 0
            for batch in old.scanner_dataset("poses").to_batches(filter=flt, batch_size=256 * 1024):
                if batch.num_rows:
                    txn.append("poses", pa.Table.from_batches([batch]))
                    n += batch.num_rows
            kept["poses"] = n
        _carry_video_columns(old, txn, kept_ids)
        for src in old.sources:  # a source whose rows were kept (a RepCount CSV added later) stays listed
            if src["corpus"] in carried_imports and not any(s["corpus"] == src["corpus"] for s in txn.meta["sources"]):
                txn.meta["sources"] = sorted([*txn.meta["sources"], src], key=lambda s: s["corpus"])
        folder = old.path / "attachments"
        if folder.is_dir():
            for path in folder.iterdir():
                if path.is_file() and not path.name.startswith(".") and not new.attachment(path.name).exists():
                    txn.put_attachment(path.name, path.read_bytes())
    kept["clips"] = len(kept_ids)
    return kept


def _carry_video_columns(old: store.Dataset, txn: Transaction, kept_ids: list[str]) -> None:
    """Pose summaries (``extras.pose``) and, when the dataset has stored splits, the ``split`` of kept clips."""
    import pyarrow as pa

    from gymdata.splits import ATTACHMENT as SPLITS

    if not kept_ids:
        return
    prev = old.df("videos", columns=["video_id", "split", "extras"], filter={"video_id": kept_ids}).set_index("video_id")
    docs = {v: json.loads(e) for v, e in prev["extras"].items() if isinstance(e, str) and e}
    pose = {v: d["pose"] for v, d in docs.items() if isinstance(d, dict) and "pose" in d}
    splits = old.attachment(SPLITS).is_file()
    if not pose and not splits:
        return
    videos = txn.ds.read("videos")  # as the build committed it
    ids = videos.column("video_id").to_pylist()
    extras = videos.column("extras").to_pylist()
    split = videos.column("split").to_pylist()
    for i, vid in enumerate(ids):
        if vid in pose:
            doc = json.loads(extras[i]) if extras[i] else {}
            doc["pose"] = pose[vid]
            extras[i] = json.dumps(doc)
        if splits and vid in prev.index:
            value = prev.at[vid, "split"]
            split[i] = value if isinstance(value, str) else None
    videos = videos.set_column(videos.schema.get_field_index("extras"), "extras", pa.array(extras, pa.string()))
    videos = videos.set_column(videos.schema.get_field_index("split"), "split", pa.array(split, pa.string()))
    txn.write("videos", videos)


def _import_invalid(ds: store.Dataset, root: Path, exc: ValidationError) -> ValidationError:
    """The validation error of an import, naming the input file(s) behind the first problem (the
    dataset was never created, so ``gymdata validate`` cannot help)."""
    first = exc.problems[0] if exc.problems else exc.message
    files = []
    try:
        videos = ds.read("videos").to_pylist()
        text = first.split(":", 1)[-1].replace(" for ", ",").replace("(", ",").replace(")", ",")
        mentioned = {t.strip() for part in text.split(",") for t in part.split()} | \
            {t.strip() for t in text.split(",")}
        # the rows the problem names: by id, or by the offending value (an unknown view, exercise...)
        files = [str(root / v["path"]) for v in videos
                 if any(isinstance(x, str) and x in mentioned for x in (v["video_id"], v["view"], v["exercise"],
                                                                        v["path"], v["split"]))]
    except Exception:  # naming the file is a help; the validation problem is the error
        files = []
    where = files[0] if len(files) == 1 else root
    also = f" (files: {', '.join(files[:3])})" if len(files) > 1 else ""
    more = f" and {len(exc.problems) - 1} more problem(s)" if len(exc.problems) > 1 else ""
    return ValidationError(f"the import failed validation: {first}{also}{more}; no dataset was created",
                           problems=exc.problems, path=where, hint="fix or remove the input named, then import again")


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
    """Every video file under ``root``, sorted, hidden files and folders excluded.

    Raises:
        InputError: If a video's name is not valid UTF-8 (the store keeps paths as UTF-8 text).
    """
    from gymdata.safety import printable

    found = sorted(p for p in root.rglob("*") if p.is_file() and is_video(p)
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    for p in found:
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("file name is not valid UTF-8", path=printable(str(p)),
                             hint="rename the file with UTF-8 characters (e.g. convmv -f latin1 -t utf8)") from None
    return found
