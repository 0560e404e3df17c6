"""The store: datasets as folders of Parquet tables plus a ``dataset.json``.

Layout of a dataset ``NAME`` under the store root (``$GYMDATA_HOME``, default ``./gymdata-data``)::

    NAME/
      dataset.json              # name, schema version, sources, tables -> live parts and row counts
      tables/<table>/part-*.parquet
      attachments/<file>        # documents that are not tables (e.g. a knowledge graph JSON)

Commits are atomic. A write puts new part files next to the old ones (each written to a temporary
name, then renamed), and only then replaces ``dataset.json`` (temporary file + ``os.replace``),
which lists the live parts. A write interrupted at any point therefore leaves the previous
``dataset.json`` and every part it names untouched; unreferenced parts are garbage-collected on the
next commit. Whole datasets are built in a hidden temporary folder and renamed into place
(:func:`building`), so an import that fails leaves nothing behind.

Reads go through ``pyarrow.dataset``: columns are projected and filters pushed down to the
Parquet row groups.

**Writers are serialised per dataset.** Every change to a dataset, and its creation, replacement or
removal, holds the dataset's lock (:func:`lock`: ``fcntl.flock`` on ``.locks/NAME.lock`` under the
store root, outside the dataset folder so that it survives the folder being swapped). A second
writer prints who holds it and waits, up to ``$GYMDATA_LOCK_TIMEOUT`` seconds (default 600), then
fails with one line. Readers take no lock: commits are atomic.

The store root also holds the store's own folders (:data:`RESERVED_NAMES`: ``cache``, ``runs``,
``reports``, ``sources``, ...), so no dataset may take one of their names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gymdata.errors import DatasetBusyError, DatasetExistsError, DatasetNotFoundError, SchemaError
from gymdata.schema import MEDIA_KINDS, ORIGINS, SCHEMA_VERSION, SEGMENT_KINDS, TABLES

if TYPE_CHECKING:  # imported where used: pyarrow.dataset imports pandas, half a second at start-up
    import pyarrow.dataset as pads

_ENUMS = {"media_kind": MEDIA_KINDS, "origin": ORIGINS}
_TABLE_ENUMS = {"segments": {"kind": SEGMENT_KINDS}}
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
#: Folders of the store root that are not datasets (pose and media caches, trained runs, reports,
#: generated sources); a dataset of one of these names would replace it.
#: The store's folders for outputs made into the store (``gymdata demo``'s exports and reports): the
#: only places inside the store where an export or a report may write (:func:`gymdata.guard.guard_output`).
OUTPUT_FOLDERS = ("exports", "reports")
RESERVED_NAMES = frozenset({"cache", "runs", "sources", *OUTPUT_FOLDERS})
LOCKS = ".locks"


def home() -> Path:
    """The store root: ``$GYMDATA_HOME`` or ``./gymdata-data``."""
    return Path(os.environ.get("GYMDATA_HOME", "gymdata-data")).absolute()


def now() -> dt.datetime:
    """The current time in UTC, at microsecond precision (the schema's timestamp unit)."""
    return dt.datetime.now(dt.timezone.utc)


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise SchemaError.

    A name is plain (letters, digits, ``-``, ``_``, ``.``; not starting with ``.``; at most 128
    characters) and is not one of the store's own folders (:data:`RESERVED_NAMES`, any case).
    """
    if not name or name.startswith(".") or not set(name) <= _NAME_CHARS or len(name) > 128:
        raise SchemaError(
            f"invalid dataset name {name!r}",
            hint="use up to 128 letters, digits, '-', '_' and '.', not starting with '.'",
        )
    if name.lower() in RESERVED_NAMES:
        raise SchemaError(f"dataset name {name!r} is reserved: the store keeps its own {name.lower()!r} folder there",
                          hint=f"choose another name; reserved: {', '.join(sorted(RESERVED_NAMES))}")
    return name


def list_datasets(root: Path | None = None) -> list[str]:
    """Names of the datasets in the store, sorted."""
    root = root or home()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "dataset.json").is_file() and not p.name.startswith(".")
                  and p.name.lower() not in RESERVED_NAMES)


def open_dataset(name: str, root: Path | None = None) -> Dataset:
    """Open an existing dataset.

    Raises:
        DatasetNotFoundError: If there is no dataset of that name.
    """
    path = (root or home()) / check_name(name)
    if not (path / "dataset.json").is_file():
        known = ", ".join(list_datasets(root)) or "none"
        raise DatasetNotFoundError(
            f"no dataset named {name!r} in {path.parent}",
            hint=f"known datasets: {known}; set GYMDATA_HOME to use another store",
        )
    return Dataset(path)


def exists(name: str, root: Path | None = None) -> bool:
    """Whether a dataset of that name exists."""
    return ((root or home()) / check_name(name) / "dataset.json").is_file()


@contextlib.contextmanager
def building(name: str, *, overwrite: bool = False, root: Path | None = None) -> Iterator[Dataset]:
    """Build a dataset in a hidden temporary folder and move it into place on success.

    On any exception the temporary folder is removed and an existing dataset is untouched.

    Args:
        name: Dataset name.
        overwrite: Replace an existing dataset of that name.
        root: Store root (default :func:`home`).

    Raises:
        DatasetExistsError: If the dataset exists and ``overwrite`` is false.
    """
    root = root or home()
    final = root / check_name(name)
    with lock(name, root=root, action="build"):  # held until the new folder is in place
        if (final / "dataset.json").exists() and not overwrite:
            raise DatasetExistsError(f"dataset {name!r} already exists", path=final, hint="pass --force to rebuild it")
        root.mkdir(parents=True, exist_ok=True)
        from gymdata.safety import clean_leftovers, naming

        clean_leftovers(root, name)  # what an import killed before its cleanup left behind
        tmp = root / f".{name}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            with naming(final, tmp):
                ds = Dataset.create(tmp, name)
                yield ds
            swap_into_place(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def create(name: str, tables: Mapping[str, Any], *, attachments: Mapping[str, Any] | None = None,
           source: Mapping[str, Any] | None = None, overwrite: bool = False, root: Path | None = None) -> Dataset:
    """Create dataset ``name`` from whole tables in one transaction (:func:`building` underneath).

    Args:
        name: Dataset name.
        tables: Table name -> rows (a DataFrame, an Arrow table or a list of dicts), as
            :meth:`Transaction.write` takes them.
        attachments: Attachment name -> JSON value.
        source: Arguments of :meth:`Transaction.set_source` (``corpus`` and its fields).
        overwrite: Replace an existing dataset of that name.
        root: Store root (default :func:`home`).

    Returns:
        The new dataset, opened.
    """
    with building(name, overwrite=overwrite, root=root) as ds:
        with ds.transaction() as txn:
            for table, rows in tables.items():
                txn.write(table, rows)
            for key, value in (attachments or {}).items():
                txn.put_attachment(key, value)
            if source:
                src = dict(source)
                txn.set_source(src.pop("corpus"), **src)
    return open_dataset(name, root)


def remove(name: str, root: Path | None = None) -> Path:
    """Delete a dataset (under its lock); returns where it was.

    Raises:
        DatasetNotFoundError: If there is no dataset of that name.
    """
    root = root or home()
    try:
        path = open_dataset(name, root).path
    except SchemaError:  # a damaged dataset (unreadable dataset.json) can still be removed
        path = root / check_name(name)
    with lock(name, root=root, action="remove"):
        # renamed aside first, so that a half-finished removal never leaves a half dataset in place
        trash = root / f".{name}.removed-{uuid.uuid4().hex[:8]}"
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return path


# -- the per-dataset writer lock ----------------------------------------------------------------

_HELD: dict[str, list] = {}  # lock file -> [open file, depth] for the locks this process holds
_GUARD = threading.Lock()
_THREAD_LOCKS: dict[str, threading.RLock] = {}


def lock_timeout() -> float:
    """Seconds a writer waits for a busy dataset: ``$GYMDATA_LOCK_TIMEOUT``, default 600."""
    try:
        return float(os.environ.get("GYMDATA_LOCK_TIMEOUT", "600"))
    except ValueError:
        return 600.0


@contextlib.contextmanager
def lock(name: str, *, root: Path | None = None, action: str = "write", timeout: float | None = None
         ) -> Iterator[None]:
    """Hold dataset ``name``'s writer lock for the block (see the module docstring).

    Re-entrant within a process (an import that commits transactions holds it once); across
    processes an exclusive ``flock``. A writer that finds it held prints one line saying who holds
    it, then waits.

    Args:
        name: Dataset name (need not exist yet: creating a name takes its lock too).
        root: Store root (default :func:`home`).
        action: What the holder is doing, shown to a waiting writer.
        timeout: Seconds to wait (default :func:`lock_timeout`); 0 fails at once.

    Raises:
        DatasetBusyError: If another process still holds the lock after ``timeout`` seconds.
    """
    root = (root or home()).absolute()
    path = root / LOCKS / f"{name}.lock"
    key = str(path)
    with _GUARD:
        rlock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    timeout = lock_timeout() if timeout is None else timeout
    if not rlock.acquire(timeout=max(timeout, 0) if timeout >= 0 else -1):
        raise DatasetBusyError(f"dataset {name!r} is being written by another thread", hint="try again later")
    try:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+b", buffering=0)  # unbuffered: a failed write leaves nothing to flush on close
        try:
            _acquire(fh, name, timeout)
            try:  # who holds it, for a waiting writer; a full disk must not stop the writer itself
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps({"pid": os.getpid(), "action": action, "since": now().isoformat(timespec="seconds"),
                                     "command": " ".join(sys.argv[:3])}).encode())
                fh.flush()
            except OSError:
                pass
            _HELD[key] = [fh, 1]
            try:
                yield
            finally:
                del _HELD[key]
                fh.truncate(0)
                fcntl.flock(fh, fcntl.LOCK_UN)
        finally:
            fh.close()
    finally:
        rlock.release()


def _acquire(fh, name: str, timeout: float) -> None:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    fh.seek(0)
    try:
        holder = json.loads(fh.read().decode("utf-8", "replace") or "{}")
    except ValueError:
        holder = {}
    who = (f"pid {holder.get('pid')} ({holder.get('command') or holder.get('action')}, since {holder.get('since')})"
           if holder.get("pid") else "another process")
    if timeout > 0:
        print(f"waiting for dataset {name!r}: {who} is writing it (up to {timeout:g}s)", file=sys.stderr, flush=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise DatasetBusyError(f"dataset {name!r} is being written by {who}",
                                       hint="wait for it to finish and run this again, or raise "
                                            "GYMDATA_LOCK_TIMEOUT") from None
            time.sleep(0.05)


def swap_into_place(tmp: Path, final: Path) -> None:
    """Rename the finished folder ``tmp`` to ``final``, replacing an existing one: the old folder is
    renamed aside first and removed after, so ``final`` is always whole (the old or the new)."""
    if final.exists():
        trash = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(final, trash)
        os.rename(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(tmp, final)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    from gymdata.safety import naming

    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with naming(path), open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fingerprint(paths: Iterable[Path], base: Path) -> str:
    """The fingerprint imports recorded before content fingerprints (sha1 over relative path, size
    and mtime of each file); :mod:`gymdata.importing` still recognises it, so an unchanged dataset of
    an older store stays up to date."""
    digest = hashlib.sha1()
    for p in sorted(paths):
        st = p.stat()
        name = p.relative_to(base) if p.is_relative_to(base) else p.absolute()
        digest.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def conform(table: str, data: Any) -> pa.Table:
    """Convert ``data`` to an Arrow table of ``table``'s schema, checking it.

    Accepts an Arrow table, a pandas DataFrame, or a list of row dicts. Missing nullable columns are
    filled with nulls; columns are ordered and cast to the schema's types.

    Raises:
        SchemaError: On an unknown table, unknown or missing required columns, a failed cast,
            nulls in a non-nullable column, or a value outside a column's allowed set.
    """
    if table not in TABLES:
        raise SchemaError(f"unknown table {table!r}", hint=f"tables: {', '.join(TABLES)}")
    schema = TABLES[table].schema
    if isinstance(data, pa.Table):
        tbl = data
    elif isinstance(data, list):
        tbl = pa.Table.from_pylist(data) if data else schema.empty_table()
    else:  # pandas DataFrame
        tbl = pa.Table.from_pandas(data, preserve_index=False)
    extra = [c for c in tbl.column_names if c not in schema.names]
    if extra:
        raise SchemaError(f"table {table!r} has no column(s) {', '.join(extra)}")
    columns = []
    for field in schema:
        if field.name in tbl.column_names:
            col = tbl.column(field.name)
            try:
                col = col.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise SchemaError(f"{table}.{field.name}: cannot store {col.type} as {field.type}: {exc}") from None
        elif field.nullable:
            col = pa.nulls(len(tbl), field.type)
        else:
            raise SchemaError(f"{table}: required column {field.name!r} is missing")
        if not field.nullable and col.null_count:
            raise SchemaError(f"{table}.{field.name}: {col.null_count} null value(s) in a required column")
        allowed = _TABLE_ENUMS.get(table, {}).get(field.name) or _ENUMS.get(field.name)
        if allowed is not None and len(col):
            bad = pc.unique(pc.filter(col, pc.invert(pc.is_in(col, value_set=pa.array(allowed))))).to_pylist()
            bad = [b for b in bad if b is not None]
            if bad:
                raise SchemaError(f"{table}.{field.name}: invalid value(s) {bad[:5]}", hint=f"allowed: {', '.join(allowed)}")
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def as_expression(filter: Any) -> Any:
    """A ``pyarrow.compute`` expression from a mapping column -> value or list of values (AND-ed);
    an expression or None is returned as it is."""
    if not isinstance(filter, Mapping):
        return filter
    expr = None
    for col, val in filter.items():
        term = pc.field(col).isin(list(val)) if isinstance(val, (list, tuple, set)) else pc.field(col) == val
        expr = term if expr is None else expr & term
    return expr


def parquet_encodings(schema: pa.Schema) -> dict[str, list[str]]:
    """Parquet column encodings for a table: float columns (and lists of floats, such as pose
    landmarks) byte-stream split, every other column dictionary-encoded.

    Floats barely compress as they are; split into byte streams (all first bytes, then all second
    bytes, ...) they compress about twice as well with zstd (pose rows: ~1,130 -> ~610 bytes each).
    Parquet applies the split only to columns that are not dictionary-encoded, hence both lists.
    """
    floats, others = [], []
    for field in schema:
        kind = field.type.value_type if pa.types.is_list(field.type) else field.type
        if pa.types.is_floating(kind) and not pa.types.is_float16(kind):
            floats.append(f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name)
        elif not pa.types.is_list(field.type):
            others.append(field.name)
    return {"use_dictionary": others, "use_byte_stream_split": floats}


def _read_meta(path: Path) -> dict[str, Any]:
    """A dataset's ``dataset.json``; a damaged one is one clear error, not a traceback."""
    file = path / "dataset.json"
    try:
        meta = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise DatasetNotFoundError("dataset.json is missing", path=file,
                                   hint="the folder is not a dataset; re-import it (gymdata import ... --force)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaError(f"dataset.json is damaged (not valid JSON: {exc})", path=file,
                          hint="restore it from a backup, or re-import the dataset (gymdata import ... --force)") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("tables"), dict) or "name" not in meta:
        raise SchemaError("dataset.json is damaged (no name or tables)", path=file,
                          hint="restore it from a backup, or re-import the dataset (gymdata import ... --force)")
    meta.setdefault("sources", [])
    return meta


class Dataset:
    """A dataset in the store. Obtain one with :func:`open_dataset` or :func:`building`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta: dict[str, Any] = _read_meta(self.path)

    @classmethod
    def create(cls, path: Path, name: str) -> Dataset:
        """Create an empty dataset folder at ``path``."""
        path.mkdir(parents=True)
        stamp = now().isoformat()
        meta = {
            "name": name,
            "schema_version": SCHEMA_VERSION,
            "created_at": stamp,
            "updated_at": stamp,
            "sources": [],
            "tables": {},
        }
        atomic_write_bytes(path / "dataset.json", json.dumps(meta, indent=2).encode())
        return cls(path)

    # -- metadata -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def sources(self) -> list[dict[str, Any]]:
        return self.meta["sources"]

    def source(self, corpus: str) -> dict[str, Any] | None:
        """The source record of a corpus, or None."""
        return next((s for s in self.sources if s["corpus"] == corpus), None)

    def reload(self) -> Dataset:
        self.meta = _read_meta(self.path)
        return self

    def row_counts(self) -> dict[str, int]:
        """Rows per table, from ``dataset.json`` (no data is read)."""
        return {t: info["rows"] for t, info in self.meta["tables"].items()}

    def count(self, table: str) -> int:
        return self.meta["tables"].get(table, {}).get("rows", 0)

    def has(self, table: str) -> bool:
        return self.count(table) > 0

    def resolve(self, corpus: str, path: str) -> Path:
        """Absolute location of a clip: its corpus root joined with the stored relative path.

        Raises:
            InputError: If the stored path is absolute or leaves the root (a tampered table).
        """
        from gymdata.safety import inside

        src = self.source(corpus)
        root = Path(src["root"]) if src and src.get("root") else self.path
        if path in ("", "."):
            return root
        return inside(root, path, where=self.path / "tables" / "videos")

    # -- reading ------------------------------------------------------------------------------

    def _parts(self, table: str) -> list[Path]:
        return [self.path / "tables" / table / p for p in self.meta["tables"].get(table, {}).get("parts", [])]

    def scanner_dataset(self, table: str) -> pads.Dataset:
        """The table as a ``pyarrow.dataset.Dataset`` (for streaming scans)."""
        if table not in TABLES:
            raise SchemaError(f"unknown table {table!r}", hint=f"tables: {', '.join(TABLES)}")
        import pyarrow.dataset as pads

        return pads.dataset([str(p) for p in self._parts(table)], schema=TABLES[table].schema, format="parquet")

    def read(self, table: str, columns: list[str] | None = None, filter: Any = None) -> pa.Table:
        """Read a table, projecting ``columns`` and pushing ``filter`` down.

        Args:
            table: Table name.
            columns: Columns to read (default all).
            filter: A ``pyarrow.compute`` expression, or a mapping column -> value or list of values.
        """
        try:
            return self.scanner_dataset(table).to_table(columns=columns, filter=as_expression(filter))
        except (OSError, pa.ArrowInvalid) as exc:
            raise self._damaged(table, exc) from None

    def _damaged(self, table: str, exc: BaseException) -> SchemaError:
        """The one-line error of a table whose part files are missing or damaged."""
        missing = [p.name for p in self._parts(table) if not p.is_file()]
        what = f"part file(s) missing: {', '.join(missing[:3])}" if missing else \
            f"a part file is damaged ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})"
        return SchemaError(f"table {table!r} of dataset {self.name!r}: {what}", path=self.path / "tables" / table,
                           hint=f"run 'gymdata validate {self.name}' for details; re-import the dataset "
                                "(gymdata import ... --force) or restore the folder from a backup")

    def df(self, table: str, columns: list[str] | None = None, filter: Any = None):
        """Like :meth:`read`, as a pandas DataFrame."""
        return self.read(table, columns, filter).to_pandas()

    def attachment(self, name: str) -> Path:
        """Path of an attachment file (may not exist)."""
        return self.path / "attachments" / name

    # -- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group writes into one atomic commit of ``dataset.json``.

        Nothing is visible until the block exits without an exception.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        # the dataset's writer lock (re-entrant: an import holding it commits through here)
        with lock(self.name, root=self.path.parent, action="commit"):
            self.reload()
            txn = Transaction(self)
            try:
                yield txn
            except BaseException:
                txn.abort()
                raise
            txn.commit()

    def write(self, table: str, data: Any) -> None:
        """Replace a table's contents (atomic)."""
        with self.transaction() as txn:
            txn.write(table, data)

    def append(self, table: str, data: Any) -> None:
        """Add rows to a table (atomic)."""
        with self.transaction() as txn:
            txn.append(table, data)


class Transaction:
    """Pending writes to a dataset; see :meth:`Dataset.transaction`."""

    def __init__(self, ds: Dataset):
        self.ds = ds
        self.meta = json.loads(json.dumps(ds.meta))
        self._new_parts: list[Path] = []

    def _write_part(self, table: str, tbl: pa.Table) -> str:
        folder = self.ds.path / "tables" / table
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        tmp = folder / f".{name}.tmp"
        self._new_parts.append(tmp)
        from gymdata.safety import naming

        with naming(folder / name):
            pq.write_table(tbl, tmp, compression="zstd", row_group_size=64 * 1024, **parquet_encodings(tbl.schema))
        os.replace(tmp, folder / name)
        self._new_parts.append(folder / name)
        return name

    def write(self, table: str, data: Any) -> None:
        """Replace ``table`` with ``data`` (conformed to the schema)."""
        tbl = conform(table, data)
        parts = [self._write_part(table, tbl)] if len(tbl) else []
        self.meta["tables"][table] = {"parts": parts, "rows": len(tbl)}

    def append(self, table: str, data: Any) -> None:
        """Add ``data`` to ``table``."""
        tbl = conform(table, data)
        if not len(tbl):
            return
        info = self.meta["tables"].setdefault(table, {"parts": [], "rows": 0})
        info["parts"].append(self._write_part(table, tbl))
        info["rows"] += len(tbl)

    def delete(self, table: str, where: Any) -> int:
        """Remove the rows of ``table`` that match ``where`` and return how many were removed.

        Args:
            table: Table name.
            where: A ``pyarrow.compute`` expression, or a mapping as in :meth:`Dataset.read`; rows
                where it is null are kept.

        Only the parts that hold a matching row are read whole and rewritten; the others are only
        scanned for the filter's columns and kept as they are.
        """
        import pyarrow.dataset as pads

        info = self.meta["tables"].get(table)
        if not info:
            return 0
        expr = as_expression(where)
        kept, removed = [], 0
        for name in info["parts"]:
            part = pads.dataset(str(self.ds.path / "tables" / table / name), schema=TABLES[table].schema,
                                format="parquet")
            if not part.count_rows(filter=expr):
                kept.append(name)
                continue
            tbl = part.to_table()
            rest = pads.dataset(tbl).to_table(filter=~expr | expr.is_null())
            removed += len(tbl) - len(rest)
            if len(rest):
                kept.append(self._write_part(table, rest))
        info["parts"] = kept
        info["rows"] -= removed
        return removed

    def set_source(self, corpus: str, **fields: Any) -> None:
        """Record (or replace) the source of a corpus: root, importer, version, fingerprint, options."""
        sources = [s for s in self.meta["sources"] if s["corpus"] != corpus]
        sources.append({"corpus": corpus, **fields, "imported_at": now().isoformat()})
        self.meta["sources"] = sorted(sources, key=lambda s: s["corpus"])

    def put_attachment(self, name: str, data: bytes | str | dict | list) -> None:
        """Store a document next to the tables (atomic per file)."""
        if isinstance(data, (dict, list)):
            data = json.dumps(data, indent=2, ensure_ascii=False)
        if isinstance(data, str):
            data = data.encode()
        atomic_write_bytes(self.ds.attachment(name), data)

    def abort(self) -> None:
        for p in self._new_parts:
            p.unlink(missing_ok=True)

    def commit(self) -> None:
        self.meta["updated_at"] = now().isoformat()
        atomic_write_bytes(self.ds.path / "dataset.json", json.dumps(self.meta, indent=2).encode())
        self.ds.meta = self.meta
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        tables = self.ds.path / "tables"
        if not tables.is_dir():
            return
        for folder in tables.iterdir():
            live = set(self.meta["tables"].get(folder.name, {}).get("parts", []))
            for part in folder.iterdir():
                if part.name not in live:
                    part.unlink(missing_ok=True)
