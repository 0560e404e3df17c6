"""Importer for repetition annotations: RepCount-A CSVs and Fit3D ``rep_ann.json``, as ``segments``.

Formats read:

* RepCount-A (TransRAC): CSV with header ``,type,name,count,L1,L2,...`` (pandas re-saves add an
  ``Unnamed: 0`` column); each (L2k-1, L2k) pair gives the first and last frame of one repetition.
  Frame numbers may be written as floats (``60.0``); rows are padded with empty cells to the widest
  row; the end of one repetition often equals the start of the next (kept as written). ``count``
  is compared with the number of pairs and differences are reported. Rows with a count but no
  frame pairs give no segment (reported).
* Fit3D: ``<subject>/rep_ann.json`` = ``{exercise: [boundary frames]}``; n boundaries give n - 1
  repetitions, repetition k spanning boundary k to boundary k + 1 (inclusive, so a boundary frame
  belongs to both neighbours, as in RepCount). The clips are ``<subject>/.../<exercise>.<ext>``
  (every camera of the subject gets the segments).

Two ways to use it:

* ``gymdata import repcount FILE --name NAME`` adds the repetitions of a CSV or ``rep_ann.json`` to
  an existing dataset. A CSV ``name`` is matched to ``videos.path``, then to ``video_id``, then to a
  unique file name or stem; a name that matches nothing is an error (``--skip-unmatched`` reports
  and skips it). The rows are tagged ``annotator`` = ``repcount:<file name>`` (or
  ``fit3d:<subject>/rep_ann.json``): importing the file again replaces exactly those rows, and an
  unchanged file is a no-op. The whole change is one atomic transaction, validated before it commits.
* ``gymdata import repcount FOLDER --name NAME`` imports a corpus with its annotations as a new
  dataset (corpus ``repcount``): every video under the folder (probed in parallel; ``video_id`` =
  path without extension), plus every RepCount CSV and ``rep_ann.json`` in it. The exercise comes
  from the annotation (``type`` or the Fit3D key, normalised, ``other`` if unknown), the split from
  a CSV named ``*train*``/``*valid*``/``*test*``, the subject from the Fit3D subject folder.

A repetition whose end lies past the clip's last frame (annotations made on another decode of the
video) is clamped to the last frame and counted in the summary; one that starts past it is an error.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from gymdata import store, vocab
from gymdata.errors import InputError
from gymdata.importer import Importer, ImportOption
from gymdata.importing import (
    ImportReport,
    check_root,
    find_videos,
    fingerprint_inputs,
    probe_many,
    read_json,
    run_import,
)
from gymdata.store import Transaction, now
from gymdata.validate import validate

CORPUS = "repcount"
VERSION = "1"
_L_COLUMN = re.compile(r"^L(\d+)$")
# Spellings of RepCount-A's type column that the vocabulary does not know.
_TYPE_QUIRKS = {"squant": "squat", "jumpjack": "jumping_jack", "jumpjacks": "jumping_jack",
                "benchpressing": "bench_press", "battlerope": "other",
                "pommelhorse": "other", "others": "other"}


@dataclass
class Entry:
    """The repetitions of one video as an annotation file gives them."""

    name: str  # CSV name, or Fit3D exercise key
    reps: list[tuple[int, int]]
    source: Path
    where: str  # "line 12" or "key 'squat'"
    type: str | None = None
    count: int | None = None
    subject: str | None = None  # Fit3D subject folder

    @property
    def annotator(self) -> str:
        if self.source.name == "rep_ann.json":
            return f"fit3d:{self.source.parent.name}/rep_ann.json"
        return f"repcount:{self.source.name}"


def _frame(text: str, path: Path, where: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{where}: frame {text!r} is not a number", path=path) from None
    if not value.is_integer() or value < 0:
        raise InputError(f"{where}: frame {text!r} is not a frame number", path=path)
    return int(value)


def read_csv_rows(path: Path) -> list[list[str]]:
    """All rows of a RepCount-layout CSV (a BOM is dropped).

    Raises:
        InputError: If the file cannot be read or is not CSV text.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None


def read_repcount_csv(path: Path) -> list[Entry]:
    """The entries of a RepCount-style CSV.

    Raises:
        InputError: On a header without ``name`` and ``L1``, an odd number of frame values or a gap
            in them, a value that is not a frame number, or a repetition that ends before it starts.
    """
    rows = read_csv_rows(path)
    header = [h.strip() for h in rows[0]] if rows else []
    l_cols = sorted(((int(m.group(1)), i) for i, h in enumerate(header) if (m := _L_COLUMN.match(h))))
    if "name" not in header or not l_cols:
        raise InputError("not a RepCount CSV (no 'name' or 'L1' column)", path=path,
                         hint="expected the header ',type,name,count,L1,L2,...'")
    col = {h: header.index(h) for h in ("name", "type", "count") if h in header}
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [row[i].strip() if i < len(row) else "" for _, i in l_cols]
        filled = [i for i, c in enumerate(cells) if c]
        where = f"line {line}"
        if filled and filled[-1] + 1 != len(filled):
            raise InputError(f"{where}: L{filled[-1] + 1} is set but an earlier L column is empty", path=path)
        if len(filled) % 2:
            raise InputError(f"{where}: {len(filled)} frame values; they must come in (start, end) pairs", path=path)
        frames = [_frame(cells[i], path, where) for i in filled]
        reps = list(zip(frames[0::2], frames[1::2]))
        for k, (start, end) in enumerate(reps, start=1):
            if end < start:
                raise InputError(f"{where}: repetition {k} ends (frame {end}) before it starts ({start})", path=path)
        name = row[col["name"]].strip() if col["name"] < len(row) else ""
        if not name:
            raise InputError(f"{where}: empty name", path=path)
        count_text = row[col["count"]].strip() if "count" in col and col["count"] < len(row) else ""
        try:
            count = int(float(count_text)) if count_text else None
        except ValueError:
            raise InputError(f"{where}: count {count_text!r} is not a number", path=path) from None
        kind = row[col["type"]].strip() if "type" in col and col["type"] < len(row) else None
        entries.append(Entry(name, reps, path, where, kind or None, count))
    return entries


def read_rep_ann(path: Path) -> list[Entry]:
    """The entries of a Fit3D ``rep_ann.json`` (one per exercise).

    Raises:
        InputError: If it is not a JSON object of lists of increasing frame numbers.
    """
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise InputError("expected an object {exercise: [boundary frames]}", path=path)
    entries = []
    for key, marks in doc.items():
        where = f"key {key!r}"
        if not isinstance(marks, list) or not all(isinstance(m, int) and not isinstance(m, bool) and m >= 0
                                                  for m in marks):
            raise InputError(f"{where}: expected a list of frame numbers", path=path)
        if any(b <= a for a, b in zip(marks, marks[1:])):
            raise InputError(f"{where}: boundary frames must increase", path=path)
        entries.append(Entry(key, list(zip(marks, marks[1:])), path, where, key, len(marks) - 1 if marks else 0,
                             subject=path.parent.name))
    return entries


def read_annotations(path: Path) -> list[Entry]:
    """Entries of a RepCount CSV or a Fit3D ``rep_ann.json``."""
    if path.suffix.lower() == ".json":
        return read_rep_ann(path)
    return read_repcount_csv(path)


def is_repcount_csv(path: Path) -> bool:
    """Whether a CSV's header is RepCount's (a name column and L1)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return "name" in header and "L1" in header


class Matcher:
    """Finds the clips an entry is about, among rows with video_id, path, subject, num_frames."""

    def __init__(self, videos: list[dict]):
        self.frames = {v["video_id"]: v["num_frames"] for v in videos}
        self.by_path = {v["path"]: v["video_id"] for v in videos}
        self.by_id = set(self.frames)
        self.by_file, self.by_stem = defaultdict(list), defaultdict(list)
        self.parts = {}
        for v in videos:
            p = Path(v["path"])
            self.by_file[p.name].append(v["video_id"])
            self.by_stem[p.stem].append(v["video_id"])
            self.parts[v["video_id"]] = set(p.parts[:-1]) | {v.get("subject")}

    def match(self, entry: Entry) -> list[str]:
        """The matching clips (several only for a Fit3D subject's cameras).

        Raises:
            InputError: If a CSV name matches several clips by file name or stem.
        """
        if entry.subject is not None:  # Fit3D: the exercise's clips of this subject
            return sorted(v for v in self.by_stem.get(entry.name, []) if entry.subject in self.parts[v])
        name = entry.name.replace("\\", "/")
        if name in self.by_path:
            return [self.by_path[name]]
        stripped = name.rsplit(".", 1)[0] if "." in Path(name).name else name
        if stripped in self.by_id:
            return [stripped]
        for index, key in ((self.by_file, Path(name).name), (self.by_stem, Path(name).stem)):
            found = index.get(key, [])
            if len(found) > 1:
                listed = ", ".join(sorted(found)[:5])
                raise InputError(f"{entry.where}: {entry.name!r} matches several videos: {listed}", path=entry.source,
                                 hint="write the name as the video's path relative to its root")
            if found:
                return found
        return []


@dataclass
class Outcome:
    """Segments made from entries, and what to report."""

    rows: list[dict]
    unmatched: list[Entry]
    clamped: int
    empty: int  # entries with no frame pairs
    miscounted: int  # entries whose count differs from their pairs


def make_segments(entries: list[Entry], matcher: Matcher, *, skip_unmatched: bool) -> Outcome:
    """Segments rows for the entries that match a clip.

    Raises:
        InputError: On an unmatched entry (unless ``skip_unmatched``) or a repetition that starts
            after the clip's last frame.
    """
    stamp = now()
    out = Outcome([], [], 0, 0, 0)
    for entry in entries:
        if not entry.reps:
            out.empty += 1
            continue
        if entry.count is not None and entry.count != len(entry.reps):
            out.miscounted += 1
        clips = matcher.match(entry)
        if not clips:
            if not skip_unmatched:
                raise InputError(f"{entry.where}: no video matches {entry.name!r}", path=entry.source,
                                 hint="import the videos first, or pass --skip-unmatched to skip such rows")
            out.unmatched.append(entry)
            continue
        for vid in clips:
            last = matcher.frames[vid] - 1
            for start, end in entry.reps:
                if start > last:
                    raise InputError(f"{entry.where}: a repetition starts at frame {start}, after the last frame "
                                     f"({last}) of {vid}", path=entry.source,
                                     hint="frame numbers are 0-based; is this the right video?")
                if end > last:
                    out.clamped += 1
                    end = last
                out.rows.append({"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": start,
                                 "end_frame": end, "origin": "imported", "annotator": entry.annotator,
                                 "created_at": stamp})
    return out


def _notes(out: Outcome) -> list[str]:
    notes = []
    if out.clamped:
        notes.append(f"note: {out.clamped} repetition end(s) past the clip's last frame were clamped to it")
    if out.miscounted:
        notes.append(f"note: {out.miscounted} row(s) have a count that differs from their frame pairs "
                     "(the pairs were imported)")
    if out.empty:
        notes.append(f"note: {out.empty} row(s) have no frame pairs and gave no segment")
    return notes


def add_repetitions(path: str | Path, name: str, *, skip_unmatched: bool = False,
                    force: bool = False) -> tuple[ImportReport, list[str]]:
    """Add a RepCount CSV's or a Fit3D ``rep_ann.json``'s repetitions to an existing dataset.

    Args:
        path: The annotation file.
        name: The dataset (must exist).
        skip_unmatched: Report and skip entries that match no video instead of failing.
        force: Re-apply even if this file was already imported unchanged.

    Returns:
        The report and extra note lines.

    Raises:
        InputError: See the module docstring.
        DatasetNotFoundError: If the dataset does not exist.
    """
    start = time.perf_counter()
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise InputError("annotation file not found", path=path, hint="pass a RepCount CSV or a rep_ann.json")
    with store.lock(name, action="import repcount"):  # read, compare and write as one step
        return _add_repetitions(path, name, skip_unmatched=skip_unmatched, force=force, start=start)


def _add_repetitions(path: Path, name: str, *, skip_unmatched: bool, force: bool, start: float
                     ) -> tuple[ImportReport, list[str]]:
    ds = store.open_dataset(name)
    entries = read_annotations(path)
    tag = f"fit3d:{path.parent.name}/rep_ann.json" if path.name == "rep_ann.json" else f"repcount:{path.name}"
    report = ImportReport(name, tag)
    options = {"skip_unmatched": skip_unmatched}
    fp = fingerprint_inputs(path.parent, [path], importer="repcount", version=VERSION, options=options)
    src = ds.source(tag)
    if src is not None and src.get("fingerprint") == fp and not force:
        report.up_to_date = True
        return report, []
    videos = ds.read("videos", columns=["video_id", "path", "subject", "num_frames"]).to_pylist()
    out = make_segments(entries, Matcher(videos), skip_unmatched=skip_unmatched)
    report.skipped = [(str(path), f"{e.where}: no video matches {e.name!r}") for e in out.unmatched]
    with ds.transaction() as txn:
        txn.delete("segments", {"annotator": tag})  # what this file imported before
        txn.append("segments", out.rows)
        txn.set_source(tag, root=str(path.parent), importer="repcount", version=VERSION, fingerprint=fp,
                       options=options, skipped=[p for p, _ in report.skipped])
        staged = copy.copy(ds)  # validate what the transaction would commit, before it does
        staged.meta = txn.meta
        validate(staged)
    report.counts = {"segments": len(out.rows)}
    report.seconds = time.perf_counter() - start
    return report, _notes(out)


def _exercise(raw: str | None) -> str:
    if not raw:
        return "other"
    key = re.sub(r"[^a-z0-9]", "", raw.lower())
    return vocab.lookup(raw) or _TYPE_QUIRKS.get(key) or next(
        (ex for ex in vocab.EXERCISES if ex != "other" and ex.replace("_", "") in key), "other")


def _split(path: Path) -> str | None:
    stem = path.stem.lower()
    return next((split for word, split in (("train", "train"), ("valid", "val"), ("val", "val"), ("test", "test"))
                 if word in stem), None)


def import_folder(root: str | Path, name: str, *, skip_unmatched: bool = False, workers: int = 2,
                  force: bool = False, progress: bool = True) -> tuple[ImportReport, list[str]]:
    """Import a folder of videos with its RepCount CSVs and Fit3D ``rep_ann.json`` files as a new dataset.

    Args:
        root: The folder.
        name: Dataset to create.
        skip_unmatched: Report and skip annotation entries that match no video.
        workers: Probing processes.
        force: Re-import even if up to date.
        progress: Show a progress bar.

    Returns:
        The report and extra note lines.

    Raises:
        InputError: See the module docstring.
    """
    root = check_root(root, corpus="repcount", hint="pass a folder of videos with RepCount CSVs or rep_ann.json files")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(s.startswith(".") for s in
                                                                        p.relative_to(root).parts)
                   and ((p.suffix.lower() == ".csv" and is_repcount_csv(p)) or p.name == "rep_ann.json"))
    if not files:
        raise InputError("no RepCount CSV or rep_ann.json found", path=root,
                         hint="to add annotations to a dataset, pass the annotation file itself")
    entries = [e for f in files for e in read_annotations(f)]
    paths = find_videos(root)
    if not paths:
        raise InputError("no video files found", path=root, hint="the annotations need their videos")
    notes: list[str] = []

    def build(txn: Transaction, report: ImportReport) -> None:
        infos, failed = probe_many(paths, workers=workers, progress=progress)
        report.skipped = failed
        if not infos:
            raise InputError("none of the videos could be read", path=root, hint="see the errors above")
        videos = []
        for path, info in sorted(infos.items()):
            rel = path.relative_to(root).as_posix()
            videos.append({"video_id": rel.rsplit(".", 1)[0], "path": rel, "num_frames": info.num_frames,
                           "subject": None, "info": info})
        matcher = Matcher(videos)
        out = make_segments(entries, matcher, skip_unmatched=skip_unmatched)
        report.skipped += [(str(e.source), f"{e.where}: no video matches {e.name!r}") for e in out.unmatched]
        about = {}  # video_id -> the entry that annotates it
        for entry in entries:
            if entry.reps or entry.count is not None:
                for vid in matcher.match(entry):
                    about[vid] = entry
        rows = []
        for v in videos:
            entry, info = about.get(v["video_id"]), v["info"]
            raw = entry.type if entry else Path(v["path"]).parts[0] if "/" in v["path"] else None
            rows.append({
                "video_id": v["video_id"], "corpus": CORPUS, "path": v["path"], "media_kind": "video",
                "exercise": _exercise(raw), "exercise_raw": raw, "subject": entry.subject if entry else None,
                "recording": v["video_id"], "fps": info.fps, "num_frames": info.num_frames, "width": info.width,
                "height": info.height, "duration": info.duration,
                "split": _split(entry.source) if entry and entry.subject is None else None,
                "extras": json.dumps({"codec": info.codec, **({"rep_count": entry.count} if entry and
                                                              entry.count is not None else {})}),
            })
        txn.write("videos", rows)
        txn.write("segments", out.rows)
        notes.extend(_notes(out))

    report = run_import(name=name, corpus=CORPUS, root=root, importer="repcount", version=VERSION,
                        inputs=paths + files, options={"skip_unmatched": skip_unmatched}, force=force, build=build)
    return report, notes


def import_repcount(path: Path, name: str, *, skip_unmatched: bool = False, workers: int = 2, force: bool = False,
                    progress: bool = True) -> tuple[ImportReport, list[str]]:
    """A FILE's repetitions onto dataset ``name`` (:func:`add_repetitions`), or a RepCount FOLDER
    as a new dataset (:func:`import_folder`); returns the report and note lines."""
    if path.is_file() or path.suffix.lower() in (".csv", ".json"):
        return add_repetitions(path, name, skip_unmatched=skip_unmatched, force=force)
    return import_folder(path, name, skip_unmatched=skip_unmatched, workers=workers, force=force, progress=progress)


importer = Importer(
    name=CORPUS,
    help="Repetitions from a RepCount CSV or Fit3D rep_ann.json (FILE: onto dataset NAME; FOLDER: new dataset).",
    run=import_repcount,
    input="path",
    options=(ImportOption("--skip-unmatched", "Report and skip annotation rows that match no video.", type=bool,
                          default=False),),
)
