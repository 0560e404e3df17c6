"""The FLEX knowledge-graph format (docs/knowledge_graph.md): read, check, turn into rows, write.

FLEX annotates actions with a penalty function: keysteps, error types worth points with a
feedback text, and per sample its repetitions, keystep phases and errors seen. gymdata defines a
JSON format for it (``format`` :data:`FORMAT`, ``version`` :data:`VERSION`). This module is the one
home of that format: the FLEX importer reads it (:func:`read`, :func:`segment_rows`,
:func:`penalty_rows`, :func:`check_frames`) and stores the graph (actions only) as the dataset
attachment :data:`ATTACHMENT`; the FLEX exporter writes it back with the current annotations
(:func:`write`); the FiftyOne push offers its actions in the App (:func:`actions`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from gymdata import labels, store, vocab
from gymdata.errors import InputError
from gymdata.importing import read_json
from gymdata.store import Dataset

FORMAT = "gymdata.flex-knowledge-graph"
VERSION = 1
#: The dataset attachment holding the graph (its actions; annotations become label rows).
ATTACHMENT = "knowledge_graph.json"
#: The ``annotator`` of imported label rows that come from the graph's annotations.
ANNOTATOR = "flex:knowledge_graph"
#: An action id: ``A`` and two digits (FLEX's A01..A20).
ACTION_ID = re.compile(r"^A(\d{2})$")


def actions(ds: Dataset) -> list[dict]:
    """The graph's actions stored with ``ds`` (none if it has no graph).

    Raises:
        InputError: If the attachment is damaged.
    """
    path = ds.attachment(ATTACHMENT)
    if not path.is_file():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("actions", [])
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the knowledge graph: {exc}", path=path,
                         hint="re-import the corpus that wrote it") from None


class _Checker:
    """Raises InputError naming the JSON location of a knowledge-graph problem."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str) -> None:
        raise InputError(f"{where}: {message}", path=self.path, hint="see docs/knowledge_graph.md for the format")

    def get(self, obj: Any, key: str, where: str, types: type | tuple, optional: bool = False) -> Any:
        if not isinstance(obj, dict):
            self.fail(where, "expected an object")
        if key not in obj or obj[key] is None:
            if optional:
                return None
            self.fail(where, f"{key!r} is missing")
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, types):  # JSON true/false are not numbers here
            expected = "number" if types == (int, float) else types.__name__
            self.fail(f"{where}.{key}", f"expected a {expected}, got {type(value).__name__}")
        return value

    def frames(self, obj: dict, where: str, optional: bool = False) -> tuple[int | None, int | None]:
        start = self.get(obj, "start_frame", where, int, optional)
        end = self.get(obj, "end_frame", where, int, optional)
        if (start is None) != (end is None):
            self.fail(where, "give both start_frame and end_frame, or neither")
        if start is not None and not 0 <= start <= end:
            self.fail(where, f"frames {start}..{end} are not 0 <= start <= end")
        return start, end


def read(path: Path) -> dict:
    """Read and check a knowledge-graph JSON (docs/knowledge_graph.md).

    Returns:
        The document, unchanged.

    Raises:
        InputError: If it is not valid JSON or breaks the format, naming the JSON location.
    """
    doc = read_json(path)
    c = _Checker(path)
    if c.get(doc, "format", "$", str) != FORMAT:
        c.fail("$.format", f"expected {FORMAT!r}")
    if c.get(doc, "version", "$", int) != VERSION:
        c.fail("$.version", f"this gymdata reads version {VERSION}")
    actions: dict[str, tuple[set, dict]] = {}
    for i, action in enumerate(c.get(doc, "actions", "$", list)):
        where = f"$.actions[{i}]"
        aid = c.get(action, "id", where, str)
        if not ACTION_ID.match(aid) or aid in actions:
            c.fail(f"{where}.id", f"{aid!r} is not a new action id like 'A16'")
        c.get(action, "name", where, str, optional=True)
        exercise = c.get(action, "exercise", where, str, optional=True)
        if exercise is not None and exercise not in vocab.EXERCISES:
            c.fail(f"{where}.exercise", f"{exercise!r} is not in the vocabulary ({', '.join(vocab.EXERCISES)})")
        keysteps, errors = set(), {}
        for k, step in enumerate(c.get(action, "keysteps", where, list)):
            sid = c.get(step, "id", f"{where}.keysteps[{k}]", str)
            c.get(step, "name", f"{where}.keysteps[{k}]", str)
            if sid in keysteps:
                c.fail(f"{where}.keysteps[{k}].id", f"{sid!r} appears twice")
            keysteps.add(sid)
        for e, err in enumerate(c.get(action, "error_types", where, list)):
            ew = f"{where}.error_types[{e}]"
            eid = c.get(err, "id", ew, str)
            c.get(err, "name", ew, str)
            step = c.get(err, "keystep", ew, str, optional=True)
            if step is not None and step not in keysteps:
                c.fail(f"{ew}.keystep", f"{step!r} is not a keystep of {aid}")
            points = c.get(err, "points", ew, (int, float))
            if points < 0:
                c.fail(f"{ew}.points", "points deducted cannot be negative")
            c.get(err, "feedback", ew, str, optional=True)
            if eid in errors:
                c.fail(f"{ew}.id", f"{eid!r} appears twice")
            errors[eid] = err
        actions[aid] = (keysteps, errors)
    seen = set()
    for i, ann in enumerate(c.get(doc, "annotations", "$", list)):
        where = f"$.annotations[{i}]"
        aid = c.get(ann, "action", where, str)
        if aid not in actions:
            c.fail(f"{where}.action", f"{aid!r} is not an action of the graph")
        key = f"{aid}/{c.get(ann, 'sample', where, int):03d}"
        if key in seen:
            c.fail(where, f"sample {key} is annotated twice")
        seen.add(key)
        for k in ("subject", "skill_level"):
            c.get(ann, k, where, str, optional=True)
        c.frames(ann, where, optional=True)
        keysteps, errors = actions[aid]
        for r, rep in enumerate(c.get(ann, "repetitions", where, list, optional=True) or []):
            rw = f"{where}.repetitions[{r}]"
            c.frames(rep, rw)
            for p, phase in enumerate(c.get(rep, "phases", rw, list, optional=True) or []):
                pw = f"{rw}.phases[{p}]"
                if c.get(phase, "keystep", pw, str) not in keysteps:
                    c.fail(f"{pw}.keystep", f"{phase['keystep']!r} is not a keystep of {aid}")
                c.frames(phase, pw)
        for p, pen in enumerate(c.get(ann, "penalties", where, list, optional=True) or []):
            pw = f"{where}.penalties[{p}]"
            if c.get(pen, "error_type", pw, str) not in errors:
                c.fail(f"{pw}.error_type", f"{pen['error_type']!r} is not an error type of {aid}")
            c.get(pen, "points", pw, (int, float), optional=True)
            c.get(pen, "feedback", pw, str, optional=True)
            c.frames(pen, pw, optional=True)
    return doc


def segment_rows(ann: dict, vid: str, label: dict) -> list[dict]:
    """``segments`` rows of one annotation: its repetitions and their keystep phases, for clip ``vid``."""
    rows = []
    for rep in ann.get("repetitions") or []:
        rows.append({"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": rep["start_frame"],
                     "end_frame": rep["end_frame"], **label})
        for phase in rep.get("phases") or []:
            rows.append({"video_id": vid, "kind": "phase", "label": phase["keystep"],
                         "start_frame": phase["start_frame"], "end_frame": phase["end_frame"], **label})
    return rows


def penalty_rows(ann: dict, action: dict, vid: str, label: dict) -> list[dict]:
    """``penalties`` rows of one annotation for clip ``vid``; points and feedback default to the
    error type's in ``action`` (the graph's entry of the annotated action)."""
    errors = {e["id"]: e for e in action.get("error_types", [])}
    rows = []
    for pen in ann.get("penalties") or []:
        err = errors[pen["error_type"]]
        rows.append({"video_id": vid, "keystep": err.get("keystep"), "error_type": err["id"],
                     "points": pen["points"] if pen.get("points") is not None else err["points"],
                     "feedback": pen.get("feedback") or err.get("feedback"),
                     "start_frame": pen.get("start_frame"), "end_frame": pen.get("end_frame"), **label})
    return rows


def check_frames(ann: dict, frames: int, key: str, path: Path) -> None:
    """Every annotated frame of sample ``key`` must lie in its shortest view (``frames`` long).

    Raises:
        InputError: Naming the frame and the file.
    """
    ends = [ann.get("end_frame")] + [r["end_frame"] for r in ann.get("repetitions") or []]
    ends += [p["end_frame"] for r in ann.get("repetitions") or [] for p in r.get("phases") or []]
    ends += [p.get("end_frame") for p in ann.get("penalties") or []]
    last = max((e for e in ends if e is not None), default=-1)
    if last >= frames:
        raise InputError(f"sample {key}: annotated frame {last} is past the last frame ({frames - 1})", path=path,
                         hint="frames are 0-based indices: img_00001.JPG is frame 0")


def write(dataset: Dataset | str, path: str | Path, *, corpus: str = "flex") -> dict:
    """Write a dataset's FLEX knowledge graph and annotations as JSON (docs/knowledge_graph.md).

    The graph comes from the ``knowledge_graph.json`` attachment; annotations (subjects, skill
    levels, annotated frames, repetitions with their phases, penalties) from the current labels
    (:func:`gymdata.labels.current`), one per sample, read from its first view clip. Points and
    feedback of a penalty are written only where they differ from its error type's, so importing
    the file again gives the same tables.

    Args:
        dataset: A dataset or its name.
        path: Output file (written atomically).
        corpus: The corpus whose clips carry the annotations (their ``extras``: ``action``,
            ``sample``, ``sensors_on``, ``annotated_frames``, as the FLEX importer writes them).

    Returns:
        The document written.

    Raises:
        InputError: If the dataset has no knowledge graph.
    """
    ds = store.open_dataset(dataset) if isinstance(dataset, str) else dataset
    attachment = ds.attachment(ATTACHMENT)
    if not attachment.is_file():
        raise InputError(f"dataset {ds.name!r} has no knowledge graph", path=attachment,
                         hint="import FLEX with a knowledge_graph.json")
    doc = json.loads(attachment.read_text(encoding="utf-8"))
    errors = {e["id"]: e for a in doc["actions"] for e in a["error_types"]}
    videos = ds.df("videos", columns=["video_id", "recording", "subject", "skill_level", "extras"],
                   filter={"corpus": corpus})
    first = {}
    for row in videos.itertuples(index=False):
        extras = json.loads(row.extras)
        if extras.get("sensors_on") == row.video_id:
            first[row.video_id] = (row, extras)
    # the current ground truth (gymdata.labels): people's corrections included, predictions never
    segments = labels.current(ds, "segments", video_ids=sorted(first)) if ds.has("segments") else None
    penalties = labels.current(ds, "penalties", video_ids=sorted(first)) if ds.has("penalties") else None
    annotations = []
    for vid, (row, extras) in sorted(first.items()):
        ann: dict[str, Any] = {"action": extras["action"], "sample": extras["sample"]}
        for key in ("subject", "skill_level"):
            if isinstance(getattr(row, key), str):
                ann[key] = getattr(row, key)
        if "annotated_frames" in extras:
            ann["start_frame"], ann["end_frame"] = extras["annotated_frames"]
        segs = segments[segments["video_id"] == vid] if segments is not None else None
        if segs is not None and len(segs):
            reps = segs[segs["kind"] == "repetition"].sort_values("start_frame")
            phases = segs[segs["kind"] == "phase"]
            ann["repetitions"] = []
            for rep in reps.itertuples(index=False):
                inside = phases[(phases["start_frame"] >= rep.start_frame) & (phases["end_frame"] <= rep.end_frame)]
                ann["repetitions"].append({
                    "start_frame": int(rep.start_frame), "end_frame": int(rep.end_frame),
                    "phases": [{"keystep": p.label, "start_frame": int(p.start_frame), "end_frame": int(p.end_frame)}
                               for p in inside.sort_values("start_frame").itertuples(index=False)]})
        pens = penalties[penalties["video_id"] == vid] if penalties is not None else None
        if pens is not None and len(pens):
            ann["penalties"] = []
            for pen in pens.itertuples(index=False):
                err = errors[pen.error_type]
                item: dict[str, Any] = {"error_type": pen.error_type}
                if not np.isclose(pen.points, err["points"]):
                    item["points"] = float(pen.points)
                if pen.feedback != err.get("feedback"):
                    item["feedback"] = pen.feedback
                if not _isna(pen.start_frame):
                    item["start_frame"], item["end_frame"] = int(pen.start_frame), int(pen.end_frame)
                ann["penalties"].append(item)
        if len(ann) > 2:  # more than the sample's id
            annotations.append(ann)
    doc["annotations"] = annotations
    store.atomic_write_bytes(Path(path), json.dumps(doc, indent=2, ensure_ascii=False).encode())
    return doc


def _isna(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
