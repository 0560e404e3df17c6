"""Importer for FLEX (20 weight-loaded actions, 5 RGB views, 3D MoCap skeleton, sEMG, scores, penalties).

Layout read (that of the authors' loader, HaoYin116/FLEX ``datasets/SevenPair.py``)::

    <root>/A%02d/%03d/View-<k>/img_%05d.JPG          frames of each view (k = 1..5), 1-based, contiguous
    <root>/Skeleton/A%02d/%03d/skeleton_points.csv   one header row, one row per frame, 21 joints x (x, y, z)
    <root>/EMG/A%02d/%03d/EMG.csv                    no header, 4 sEMG channels as columns
    <root>/Split_4/split_4_train_list.mat            key consolidated_train_list: rows [action, sample, score]
    <root>/Split_4/split_4_test_list.mat             key consolidated_test_list
    <root>/knowledge_graph.json                      optional: actions, keysteps, error types, feedback and
                                                     per-sample annotations, in OUR format (docs/knowledge_graph.md)
    <root>/subjects.csv                              optional: action,sample,subject,skill_level

A sample is one recording of an action (``A16/001``). Each view folder present becomes a clip:
``video_id`` ``A16/001/View-1``, ``path`` the folder, ``recording`` ``A16/001``, ``view`` null
(which camera is frontal is not published; ``extras.camera`` keeps ``View-k``). The frame rate is
not published: ``--fps`` (default 30) is stored and ``extras.fps_assumed`` says so. Exercise:
from the knowledge graph's action entry when given, else ``squat`` for A16 (the only action the
paper names) and ``other``; ``exercise_raw`` is the action id.

Labels about the performance are stored on every view clip of the sample (a clip is then
self-contained for training; group by ``recording`` to count samples): the split-list score
(``score``, raw, on the 0-100 scale the corpus uses; the authors' loader min-max normalises it per
action at training time), the train/test side (``split``), repetitions and keystep phases
(``segments`` kind ``repetition``/``phase``, label ``rep``/the keystep id) and ``penalties``.
Measurements of the recording are stored once, on its first view clip (``extras.sensors_on``
names it on every view): the skeleton as ``poses`` (layout ``flex21``, source ``mocap``, the
coordinates as in the file with NaN visibility; not image-normalised, units not published;
``world`` null) and the sEMG as ``signals`` (channels ``emg_1``..``emg_4`` in column order, kind
``emg``, ``sample_rate`` from ``--emg-rate`` or null: not published). Which muscle each column
holds depends on the action (left/right pairs, see the authors' ``load_EMG``).

The 21 joints (:data:`gymdata.skeleton.FLEX21_JOINTS`) are inferred from the authors' ``remap21_to_25``
(NTU RGB+D order) and are *uncertain*; :data:`gymdata.skeleton.FLEX21_TO_BLAZEPOSE` maps the joints that
have a BlazePose counterpart (shoulders, elbows, wrists, hips, knees, ankles) and
:func:`gymdata.skeleton.flex21_to_blazepose` applies it.

The knowledge graph (our format, read and written by :mod:`gymdata.knowledge_graph`) is stored as
the dataset attachment ``knowledge_graph.json`` (actions only); its annotations become label rows.

Errors (one line each, nothing written): missing/empty root, no sample folder, a gap in a view's
frame numbers (the missing file named), a skeleton or EMG file with the wrong column count or a
non-numeric cell, a skeleton longer than the clip, a ``.mat`` without its key or with rows that are
not ``[action, sample, score]``, a score outside 0-100, a sample in both lists, and any knowledge
graph problem (named by its JSON location). Samples listed in a ``.mat`` but absent on disk are
reported and skipped.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gymdata import knowledge_graph as kg_format  # the parameter knowledge_graph is a path
from gymdata import vocab
from gymdata.errors import InputError
from gymdata.importer import Importer, ImportOption
from gymdata.importing import ImportReport, check_root, run_import
from gymdata.pose import poses_table
from gymdata.runner import run_tasks
from gymdata.skeleton import FLEX21, FLEX21_JOINTS, FLEX21_TO_BLAZEPOSE  # noqa: F401 (the skeleton's home)
from gymdata.store import Dataset, Transaction, now

if TYPE_CHECKING:
    import pandas as pd

CORPUS = "flex"
VERSION = "1"
SPLIT_FILES = {"train": ("split_4_train_list.mat", "consolidated_train_list"),
               "test": ("split_4_test_list.mat", "consolidated_test_list")}
EMG_CHANNELS = 4
#: Exercises of the actions the corpus names (the others are 'other' unless the knowledge graph says).
KNOWN_ACTIONS = {"A16": "squat"}
_SAMPLE, _VIEW = re.compile(r"^(\d{3})$"), re.compile(r"^View-(\d+)$")
_IMAGE = re.compile(r"^img_(\d{5})\.jpe?g$", re.IGNORECASE)
_HINT = "pass the FLEX root holding A01/ ... A20/, Skeleton/, EMG/ and Split_4/"


# -- one sample: listed before the fingerprint, read inside the build (both in worker processes) ----


@dataclass
class View:
    camera: str  # View-k
    folder: Path
    num_frames: int
    first: Path  # img_00001
    width: int = 0
    height: int = 0


@dataclass
class Sample:
    """One sample's files, and (once read) what they hold."""

    action: str  # A16
    number: int  # 1
    folder: Path
    views: list[View] = field(default_factory=list)
    skeleton_csv: Path | None = None
    emg_csv: Path | None = None
    inputs: list[Path] = field(default_factory=list)
    skeleton: np.ndarray | None = None  # (T, 21, 3) float32, once read
    emg: np.ndarray | None = None  # (N, 4) float32, once read

    @property
    def key(self) -> str:
        return f"{self.action}/{self.number:03d}"


def list_view(folder: Path) -> tuple[View, list[Path]]:
    """A view folder's frames; raises InputError naming the first missing one."""
    numbers = {}
    for entry in os.scandir(folder):
        m = _IMAGE.match(entry.name)
        if m:
            numbers[int(m.group(1))] = entry.name
    if not numbers:
        raise InputError("no img_%05d.JPG frames", path=folder, hint="every View-k folder needs its frames")
    missing = next((i for i in range(1, max(numbers) + 1) if i not in numbers), None)
    if missing is not None:
        ext = Path(numbers[max(numbers)]).suffix
        raise InputError("frame file missing", path=folder / f"img_{missing:05d}{ext}",
                         hint="the frame numbers must run from 1 without gaps: copy the folder again")
    return View(folder.name, folder, len(numbers), folder / numbers[1]), [folder / n for n in numbers.values()]


def list_sample(sample: Sample) -> Sample:
    """Find a sample's views (checked for gaps), skeleton and EMG files; nothing is read."""
    root = sample.folder.parents[1]
    views = sorted((p for p in sample.folder.iterdir() if p.is_dir() and _VIEW.match(p.name)),
                   key=lambda p: int(_VIEW.match(p.name).group(1)))
    if not views:
        raise InputError("no View-k folder", path=sample.folder, hint="expected View-1 ... View-5 with the frames")
    for folder in views:
        view, files = list_view(folder)
        sample.views.append(view)
        sample.inputs += files
    rel = Path(sample.action) / f"{sample.number:03d}"
    skeleton, emg = root / "Skeleton" / rel / "skeleton_points.csv", root / "EMG" / rel / "EMG.csv"
    sample.skeleton_csv = skeleton if skeleton.is_file() else None
    sample.emg_csv = emg if emg.is_file() else None
    sample.inputs += [p for p in (sample.skeleton_csv, sample.emg_csv) if p is not None]
    return sample


def read_sample(sample: Sample) -> Sample:
    """Read a listed sample: frame sizes (image headers only), skeleton and EMG."""
    from PIL import Image

    for view in sample.views:
        try:
            with Image.open(view.first) as img:  # reads the header only
                view.width, view.height = img.size
        except OSError as exc:
            raise InputError(f"cannot read image: {exc}", path=view.first, hint="re-extract the frames") from None
    if sample.skeleton_csv is not None:
        data = read_number_csv(sample.skeleton_csv, columns=3 * len(FLEX21_JOINTS), header=True,
                               what="21 joints x (x, y, z)")
        sample.skeleton = data.reshape(len(data), len(FLEX21_JOINTS), 3)
    if sample.emg_csv is not None:
        sample.emg = read_number_csv(sample.emg_csv, columns=EMG_CHANNELS, header=False, what="4 sEMG channels")
    sample.inputs = []  # not needed any more: keep what comes back from the workers small
    return sample


def read_number_csv(path: Path, *, columns: int, header: bool, what: str) -> np.ndarray:
    """A CSV of numbers as a float32 (rows, columns) array.

    Parsed with numpy's C reader; if that finds anything amiss, the file is read again line by
    line to name the problem.

    Raises:
        InputError: Naming the line, if a row has another number of fields, a non-numeric or NaN cell.
    """
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1 if header else 0, dtype=np.float32, ndmin=2,
                          encoding="utf-8-sig")
        if data.shape[1] == columns and len(data) and not np.isnan(data).any():
            return data
    except (ValueError, UnicodeDecodeError):
        pass
    except OSError as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None
    return _read_number_csv_slowly(path, columns=columns, header=header, what=what)


def _read_number_csv_slowly(path: Path, *, columns: int, header: bool, what: str) -> np.ndarray:
    out = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            if header:
                next(reader, None)
            for line, row in enumerate(reader, start=2 if header else 1):
                if not row:
                    continue
                if len(row) != columns:
                    raise InputError(f"line {line}: {len(row)} columns, expected {columns} ({what})", path=path,
                                     hint="the file is damaged or not in the FLEX layout")
                try:
                    out.append([float(v) for v in row])
                except ValueError:
                    raise InputError(f"line {line}: a cell is not a number", path=path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None
    if not out:
        raise InputError(f"no data rows ({what})", path=path)
    data = np.asarray(out, dtype=np.float32)
    if np.isnan(data).any():  # 'nan' cells parse as floats but are not measurements
        line = int(np.argwhere(np.isnan(data))[0][0]) + (2 if header else 1)
        raise InputError(f"about line {line}: a cell is NaN", path=path, hint="the file is damaged")
    return data


def find_samples(root: Path) -> list[Sample]:
    """Sample folders ``A%02d/%03d`` under ``root``, in order."""
    samples = []
    for action in sorted(p for p in root.iterdir() if p.is_dir() and kg_format.ACTION_ID.match(p.name)):
        for folder in sorted(p for p in action.iterdir() if p.is_dir() and _SAMPLE.match(p.name)):
            samples.append(Sample(action.name, int(folder.name), folder))
    if not samples:
        raise InputError("no sample folder A%02d/%03d found", path=root, hint=_HINT)
    return samples


# -- split lists, subjects ------------------------------------------------------


def read_split_lists(root: Path) -> tuple[dict[str, tuple[str, float]], list[Path]]:
    """Scores and sides from the ``.mat`` lists: ``A16/001`` -> (train|test, score); and the files read.

    Raises:
        InputError: On a file without its key, rows that are not [action, sample, score], a score
            outside 0-100, or a sample in both lists.
    """
    import scipy.io

    out: dict[str, tuple[str, float]] = {}
    files = []
    for side, (name, key) in SPLIT_FILES.items():
        path = root / "Split_4" / name
        if not path.is_file():
            continue
        try:
            mat = scipy.io.loadmat(str(path))
        except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on damaged files
            raise InputError(f"cannot read .mat file: {exc}", path=path, hint="copy the file again") from None
        if key not in mat:
            found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
            raise InputError(f"no variable {key!r} (found: {found})", path=path,
                             hint=f"{name} must hold {key}, as in the release")
        rows = np.asarray(mat[key], dtype=float)
        if rows.ndim != 2 or rows.shape[1] != 3:
            raise InputError(f"{key} has shape {rows.shape}, expected (samples, 3): action, sample, score", path=path)
        for i, (action, number, score) in enumerate(rows):
            if not (action.is_integer() and number.is_integer() and 1 <= action <= 99 and number >= 1):
                raise InputError(f"{key} row {i + 1}: {action:g}, {number:g} is not an action and sample number",
                                 path=path)
            if not 0 <= score <= 100:
                raise InputError(f"{key} row {i + 1}: score {score:g} outside 0-100", path=path)
            sample = f"A{int(action):02d}/{int(number):03d}"
            if sample in out:
                raise InputError(f"{key} row {i + 1}: sample {sample} is listed twice (also in {out[sample][0]})",
                                 path=path)
            out[sample] = (side, float(score))
        files.append(path)
    return out, files


def read_subjects(path: Path) -> dict[str, dict[str, str | None]]:
    """The optional ``subjects.csv``: ``A16/001`` -> {subject, skill_level}."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read CSV: {exc}", path=path) from None
    if not {"action", "sample"} <= set(header) or not {"subject", "skill_level"} & set(header):
        raise InputError(f"unexpected header {','.join(header)!r}", path=path,
                         hint="expected action,sample,subject,skill_level")
    out = {}
    for line, row in enumerate(rows, start=2):
        key = _sample_key(row.get("action"), row.get("sample"), f"line {line}", path)
        out[key] = {k: (row.get(k) or "").strip() or None for k in ("subject", "skill_level")}
    return out


def _sample_key(action: Any, sample: Any, where: str, path: Path) -> str:
    """``A16/001`` from an action (``A16`` or 16) and a sample number."""
    try:
        a = int(str(action).strip().upper().removeprefix("A"))
        s = int(str(sample).strip())
    except ValueError:
        raise InputError(f"{where}: {action!r}, {sample!r} is not an action and a sample number", path=path) from None
    return f"A{a:02d}/{s:03d}"


# -- the import ----------------------------------------------------------------------------------


def _exercise(action: str, graph: dict[str, dict]) -> str:
    entry = graph.get(action, {})
    if entry.get("exercise"):
        return entry["exercise"]
    return KNOWN_ACTIONS.get(action) or vocab.lookup(entry.get("name") or "") or "other"


def import_flex(root: str | Path, name: str, *, knowledge_graph: str | Path | None = None, fps: float = 30.0,
                emg_rate: float | None = None, workers: int = 2, force: bool = False,
                progress: bool = True) -> ImportReport:
    """Import FLEX (see the module docstring).

    Args:
        root: Corpus root.
        name: Dataset to create.
        knowledge_graph: Knowledge-graph JSON (default ``<root>/knowledge_graph.json`` when present).
        fps: Nominal frame rate of the frame folders (not published).
        emg_rate: sEMG samples per second, if known.
        workers: Processes reading the samples.
        force, progress: As for every import (:class:`gymdata.importer.Importer`).

    Returns:
        What the import did; an :class:`InputError` (see the module docstring) otherwise.
    """
    root = check_root(root, corpus="FLEX", hint=_HINT)
    if not fps > 0 or (emg_rate is not None and not emg_rate > 0):
        raise InputError("--fps and --emg-rate must be positive")
    samples = find_samples(root)
    splits, split_files = read_split_lists(root)
    subjects_csv = root / "subjects.csv"
    subjects = read_subjects(subjects_csv) if subjects_csv.is_file() else {}
    kg_path = Path(knowledge_graph) if knowledge_graph else root / "knowledge_graph.json"
    if knowledge_graph and not kg_path.is_file():
        raise InputError("knowledge graph not found", path=kg_path)
    kg = kg_format.read(kg_path) if kg_path.is_file() else None
    graph = {a["id"]: a for a in kg["actions"]} if kg else {}
    annotations = {f"{a['action']}/{a['sample']:03d}": a for a in kg["annotations"]} if kg else {}
    on_disk = {s.key for s in samples}
    for key in annotations:
        if key not in on_disk:
            raise InputError(f"knowledge graph annotates sample {key}, which is not on disk", path=kg_path,
                             hint="remove the annotation or add the sample's folders")
    for key, ann in annotations.items():  # subjects given twice must agree
        for field_ in ("subject", "skill_level"):
            given = subjects.get(key, {}).get(field_)
            if ann.get(field_) and given and ann[field_] != given:
                raise InputError(f"sample {key}: {field_} {ann[field_]!r} in the knowledge graph but {given!r} in "
                                 f"subjects.csv", path=kg_path)
    extra_inputs = split_files + ([subjects_csv] if subjects else []) + ([kg_path] if kg else [])

    # Listing (every frame is an input of the fingerprint) and reading are both done in parallel;
    # reading waits for the build, so that an import that is up to date reads nothing.
    listed = _run_all(list_sample, samples, workers=workers, progress=progress, desc="listing samples")
    inputs = [p for s in listed for p in s.inputs] + extra_inputs

    def build(txn: Transaction, report: ImportReport) -> None:
        read = _run_all(read_sample, listed, workers=workers, progress=progress, desc="reading samples")
        report.skipped = [(str(root / key), f"listed in {SPLIT_FILES[side][0]} but not on disk")
                          for key, (side, _) in sorted(splits.items()) if key not in on_disk]
        stamp = now()
        label = {"origin": "imported", "annotator": kg_format.ANNOTATOR, "created_at": stamp}
        videos, scores, segments, penalties = [], [], [], []
        pose_ids, pose_arrays, signal_rows = [], [], []
        for sample in read:
            key = sample.key
            ann = annotations.get(key, {})
            who = {**subjects.get(key, {}), **{k: ann[k] for k in ("subject", "skill_level") if ann.get(k)}}
            side, score = splits.get(key, (None, None))
            ids = [f"{key}/{v.camera}" for v in sample.views]
            frames = min(v.num_frames for v in sample.views)
            for view, vid in zip(sample.views, ids):
                extras = {"action": sample.action, "sample": sample.number, "camera": view.camera,
                          "fps_assumed": True, "sensors_on": ids[0]}
                if ann.get("start_frame") is not None:
                    extras["annotated_frames"] = [ann["start_frame"], ann["end_frame"]]
                if sample.action in graph and graph[sample.action].get("name"):
                    extras["action_name"] = graph[sample.action]["name"]
                videos.append({
                    "video_id": vid, "corpus": CORPUS, "path": view.folder.relative_to(root).as_posix(),
                    "media_kind": "frames", "exercise": _exercise(sample.action, graph),
                    "exercise_raw": sample.action, "subject": who.get("subject"), "recording": key, "view": None,
                    "fps": fps, "num_frames": view.num_frames, "width": view.width, "height": view.height,
                    "duration": view.num_frames / fps, "skill_level": who.get("skill_level"), "split": side,
                    "extras": json.dumps(extras),
                })
                if score is not None:
                    scores.append({"video_id": vid, "name": "score", "value": score, "scale_min": 0.0,
                                   "scale_max": 100.0, **label, "annotator": f"flex:{SPLIT_FILES[side][0]}"})
                segments += kg_format.segment_rows(ann, vid, label)
                penalties += kg_format.penalty_rows(ann, graph.get(sample.action, {}), vid, label)
            kg_format.check_frames(ann, frames, key, kg_path)
            if sample.skeleton is not None:
                if len(sample.skeleton) > sample.views[0].num_frames:
                    raise InputError(f"skeleton has {len(sample.skeleton)} frames but {ids[0]} has "
                                     f"{sample.views[0].num_frames} images",
                                     path=sample.skeleton_csv,
                                     hint="skeleton rows must match the frames one to one")
                pose_ids.append(ids[0])
                pose_arrays.append(sample.skeleton)
            if sample.emg is not None:
                for c in range(EMG_CHANNELS):
                    signal_rows.append((ids[0], f"emg_{c + 1}", sample.emg[:, c]))
        txn.write("videos", videos)
        txn.write("scores", scores)
        txn.write("segments", segments)
        txn.write("penalties", penalties)
        txn.write("poses", poses_table(pose_ids, pose_arrays, "mocap", layout=FLEX21))
        txn.write("signals", _signal_table(signal_rows, emg_rate))
        if kg:
            txn.put_attachment(kg_format.ATTACHMENT, {k: v for k, v in kg.items() if k != "annotations"})

    return run_import(name=name, corpus=CORPUS, root=root, importer="flex", version=VERSION, inputs=inputs,
                      options={"fps": fps, "emg_rate": emg_rate, "knowledge_graph": str(kg_path) if kg else None},
                      force=force, build=build)


def _run_all(fn, samples: list[Sample], *, workers: int, progress: bool, desc: str) -> list[Sample]:
    """``fn`` over the samples with the shared runner; the first failure stops the import."""
    done = []
    for outcome in run_tasks(fn, samples, workers=workers, desc=desc, unit="sample", progress=progress):
        if not outcome.ok:
            raise InputError(outcome.error)
        done.append(outcome.value)
    return sorted(done, key=lambda s: s.key)




def _signal_table(rows: list[tuple[str, str, np.ndarray]], rate: float | None) -> pa.Table:
    lengths = np.asarray([len(r[2]) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = np.concatenate([r[2] for r in rows]).astype(np.float32) if rows else np.zeros(0, np.float32)
    return pa.table({
        "video_id": pa.array([r[0] for r in rows], pa.string()),
        "channel": pa.array([r[1] for r in rows], pa.string()),
        "kind": pa.array(["emg"] * len(rows), pa.string()),
        "sample_rate": pa.array([rate] * len(rows), pa.float64()),
        "samples": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
    })


def split4(ds: Dataset | None, videos: pd.DataFrame) -> pd.Series | None:
    """FLEX's Split_4, from the scores :func:`import_flex` read out of ``split_4_{train,test}_list.mat``.

    The import fills ``split`` with Split_4 and tags each score with the list it came from
    (``annotator`` ``flex:split_4_train_list.mat``); the tag survives a new default split.
    """
    import pandas as pd

    ids = videos["video_id"].tolist()
    if ds is None or not ids or not ds.has("scores"):
        return None
    # the import's provenance tag, not a label value: read the imported rows as they are
    sc = ds.df("scores", columns=["video_id", "annotator"], filter={"video_id": ids, "origin": "imported"})
    side = sc["annotator"].str.extract(r"split_4_(train|test)_list", expand=False)
    found = pd.Series(side.to_numpy(), index=sc["video_id"].to_numpy(), name="part").dropna()
    found = found[~found.index.duplicated()]
    return found if len(found) else None


def official_splits(ds: Dataset | None, videos: pd.DataFrame) -> dict[str, pd.Series]:
    """FLEX's official ``flex-split4`` (:func:`split4`), and any split stored in ``extras["splits"]``
    as ``flex-split<key>``."""
    from gymdata.splits import extras_splits  # pandas: not for every import (workers import this module)

    found = extras_splits(videos, lambda key: "flex-split" + (re.sub(r"\D", "", key) or key))
    parts = split4(ds, videos)
    if parts is not None and "flex-split4" not in found:
        found["flex-split4"] = parts
    return found


importer = Importer(
    name=CORPUS,
    help="Import FLEX: frames of every view, skeleton, sEMG, split scores and the knowledge graph.",
    run=import_flex,
    options=(
        ImportOption("--knowledge-graph", "Knowledge-graph JSON (default: ROOT/knowledge_graph.json when present).",
                     type=Path, path="file"),
        ImportOption("--fps", "Nominal frame rate of the frames (not published).", type=float, default=30.0),
        ImportOption("--emg-rate", "sEMG samples per second (not published; stored as unknown if omitted).",
                     type=float),
    ),
    official_splits=official_splits,
)
