"""FiftyOne access shared by push, pull, the App plugin and the tests.

* :func:`import_fiftyone` configures FiftyOne (database URI, no telemetry) before importing it.
* The field layout of a pushed dataset (:data:`SAMPLE_FIELDS`, :data:`FRAME_FIELDS`) and
  :func:`render` which turns a clip's labels (:mod:`annotators.labels`) into those fields.
* :func:`apply_edits`: the one code path every edit takes (operators, the panel, scripts).

How edits stay correct with several annotators on one database: each sample document holds its
base labels (``gymdata_base``), the append-only edit log (``gymdata_log``) and a revision counter
(``gymdata_rev``). An edit reads the document, folds the log, checks the edit, and writes the log
entry *and* the re-rendered label fields in one conditional update that only succeeds if the
revision is unchanged (compare-and-swap); on a conflict it re-reads and retries. Two processes
editing one clip at once therefore never lose an edit, and the displayed fields always equal the
fold of the whole log. Frame-level A/R states live in the frames collection; each frame keeps the
revision that wrote it (``gymdata_state_rev``) and only a higher revision may overwrite it.

FiftyOne's public API has no conditional update, so this module (and only this one) uses the
dataset's pymongo collections (``Dataset._sample_collection`` / ``_frame_collection``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from annotators import labels as L
from gymdata.errors import DatasetNotFoundError, GymdataError
from gymdata.skeleton import LANDMARK_NAMES, SKELETON_EDGES  # noqa: F401 (the App's keypoint skeleton)

#: Sample fields holding labels (besides ``score_<name>``, one float field per score name).
LABEL_FIELDS = ("criteria", "repetitions", "phases", "rep_count", "penalties", "penalty_points", "annotators",
                "edited_at")
#: Fields only gymdata reads (grouped out of the way in the App's sidebar).
INTERNAL_FIELDS = ("gymdata_base", "gymdata_log", "gymdata_base_len", "gymdata_rev", "gymdata_fp")
CLIP_FIELDS = ("video_id", "corpus", "exercise", "exercise_raw", "subject", "recording", "view", "rep_index", "split",
               "skill_level", "num_frames", "source_path")
SUGGESTION_FIELDS = ("suggested_repetitions", "suggestion")
POSE_FIELD, STATE_FIELD, SUGGESTED_STATE_FIELD = "pose", "state", "suggested_state"
STATE_REV = "gymdata_state_rev"
GROUP_FIELD = "group"


class EditConflictError(GymdataError):
    """An edit kept colliding with other annotators' edits and gave up."""


def import_fiftyone(database_uri: str | None = None):
    """Configure FiftyOne, import it and return the module.

    Args:
        database_uri: A MongoDB URI shared by a team; default ``$FIFTYONE_DATABASE_URI`` or FiftyOne's
            embedded database.
    """
    if database_uri:
        os.environ["FIFTYONE_DATABASE_URI"] = database_uri
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")  # the bundled mongod 6 works with 1.22
    try:
        import fiftyone as fo
    except ImportError as exc:
        raise GymdataError(f"FiftyOne is not installed ({exc})",
                           hint="pip install 'gymdata[fiftyone]' (fiftyone and the mongod wheel)") from None

    if database_uri and fo.config.database_uri != database_uri:
        fo.config.database_uri = database_uri  # imported earlier: takes effect if not yet connected
    if not fo.config.database_uri:
        check_database_service(fo.config.database_dir)
    return fo


_checked_dirs: set[str] = set()


def running_database_dirs() -> dict[int, str]:
    """The ``--dbpath`` of each ``mongod`` that a FiftyOne database service (``--51-service db
    --multi``) of this user runs, by process id."""
    import psutil
    from fiftyone.service.util import find_processes_by_args

    found = {}
    for service in find_processes_by_args(["--51-service", "db", "--multi"]):
        try:
            children = service.children(recursive=True)
        except psutil.Error:
            continue
        for child in children:
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if "--dbpath" in cmd[:-1]:
                found[child.pid] = cmd[cmd.index("--dbpath") + 1]
    return found


def check_database_service(database_dir: str) -> None:
    """Refuse to go on when a FiftyOne database service already runs for another database folder.

    FiftyOne attaches to any running service of the user, whatever ``FIFTYONE_DATABASE_DIR`` says,
    so two stores would silently write into one database (and merge labels of datasets with the
    same name). Checked once per folder and process, before FiftyOne connects.

    Raises:
        GymdataError: Naming the running database folder, its process and the fixes.
    """
    mine = os.path.realpath(database_dir)
    if mine in _checked_dirs:
        return
    import fiftyone.core.odm.database as fodb

    if getattr(fodb, "_client", None) is not None:  # already connected: nothing new is attached to
        _checked_dirs.add(mine)
        return
    for pid, folder in sorted(running_database_dirs().items()):
        if os.path.realpath(folder) != mine:
            raise GymdataError(
                f"a FiftyOne database service (mongod pid {pid}) already runs for {folder}; FiftyOne would use it, "
                f"not FIFTYONE_DATABASE_DIR={database_dir}",
                hint=f"stop it (kill {pid}, or close the other App/Python session), use the same "
                     "FIFTYONE_DATABASE_DIR, or pass --database-uri to a server of your own")
    _checked_dirs.add(mine)


def load_fo_dataset(fo_name: str, *, store_name: str | None = None):
    """Load a pushed FiftyOne dataset.

    Raises:
        DatasetNotFoundError: If it does not exist (with the push command to run).
    """
    fo = import_fiftyone()
    if not fo.dataset_exists(fo_name):
        raise DatasetNotFoundError(f"no FiftyOne dataset named {fo_name!r} in {database_label()}",
                                   hint=f"push it first: gymdata fiftyone push {store_name or fo_name}")
    return fo.load_dataset(fo_name)


def database_label() -> str:
    """Where FiftyOne's database is, for messages."""
    fo = import_fiftyone()
    return f"the database at {fo.config.database_uri}" if fo.config.database_uri else "FiftyOne's embedded database"


def gymdata_info(dataset) -> dict[str, Any]:
    """What push stored in ``dataset.info['gymdata']`` (store name, criteria per exercise, ...)."""
    return dict(dataset.info.get("gymdata") or {})


# -- rendering labels into fields ------------------------------------------------------------------


def _oid(text: str):
    from bson import ObjectId

    return ObjectId(text) if ObjectId.is_valid(text) else ObjectId(hashlib.md5(text.encode()).hexdigest()[:24])


def _when(at: str | None) -> dt.datetime | None:
    return L.parse_time(at) if at else None


def temporal_detections(video_id: str, segments: Sequence[Mapping], kind: str) -> dict:
    """A raw ``TemporalDetections`` of the segments of one kind (supports 1-based, as FiftyOne counts)."""
    dets = [{"_id": _oid(s["id"]), "_cls": "TemporalDetection", "label": s["label"], "tags": [],
             "support": [s["start"] + 1, s["end"] + 1], "segment_id": s["id"], "origin": s.get("origin"),
             "annotator": s.get("annotator"), "edited_at": _when(s.get("at"))}
            for s in segments if s["kind"] == kind]
    return {"_cls": "TemporalDetections", "detections": dets}


def score_field(name: str) -> str:
    """The sample field of a score name (``quality`` -> ``score_quality``)."""
    return "score_" + "".join(c if c.isalnum() else "_" for c in name.lower())


def render(video_id: str, labels: Mapping[str, Any], score_names: Sequence[str] = ()) -> dict[str, Any]:
    """The label fields of a sample, as raw MongoDB values (FiftyOne's document layout).

    FiftyOne counts frames from 1, the store from 0: supports are shifted here and only here.
    """
    crit = [{"_id": _oid(f"{video_id}\0criterion\0{name}"), "_cls": "Classification", "label": name, "tags": [],
             "verdict": c["verdict"], "passed": L.passed_of(c["verdict"]), "criterion_view": c.get("view"),
             "value": c.get("value"), "origin": c.get("origin"), "annotator": c.get("annotator"),
             "edited_at": _when(c.get("at"))}
            for name, c in sorted(labels["criteria"].items())]
    pens = [{k: p.get(k) for k in ("id", "keystep", "error_type", "points", "feedback", "start", "end", "origin",
                                   "annotator", "at")} for p in labels["penalties"]]
    humans = [x for group in (labels["criteria"].values(), labels["scores"].values(), labels["segments"],
                              labels["penalties"]) for x in group if x.get("origin") == "human"]
    out = {
        "criteria": {"_cls": "Classifications", "classifications": crit},
        "repetitions": temporal_detections(video_id, labels["segments"], "repetition"),
        "phases": temporal_detections(video_id, labels["segments"], "phase"),
        "rep_count": sum(1 for s in labels["segments"] if s["kind"] == "repetition"),
        "penalties": pens,
        "penalty_points": sum(p["points"] for p in pens if p.get("points") is not None) if pens else None,
        "annotators": sorted({x["annotator"] for x in humans if x.get("annotator")}),
        "edited_at": max((_when(x["at"]) for x in humans if x.get("at")), default=None),
    }
    for name in {*score_names, *labels["scores"], L.QUALITY}:
        s = labels["scores"].get(name)
        out[score_field(name)] = None if s is None else s["value"]
    return out


def state_doc(run: Mapping[str, Any], field_id: str) -> dict:
    """A frame's ``state`` Classification for an A/R run."""
    return {"_id": _oid(field_id), "_cls": "Classification", "label": run["label"], "tags": [],
            "annotator": run.get("annotator"), "origin": run.get("origin")}


def _state_key(labels: Mapping[str, Any]) -> list[tuple]:
    return [(s["start"], s["end"], s["label"], s.get("annotator")) for s in L.state_runs(labels["segments"])]


def write_states(dataset, sample_oid, labels: Mapping[str, Any], num_frames: int, rev: int) -> None:
    """Write the A/R state of every frame of a sample, unless a later revision already did."""
    from pymongo import UpdateMany

    coll = dataset._frame_collection
    guard = {"$or": [{STATE_REV: {"$lt": rev}}, {STATE_REV: {"$exists": False}}]}
    stamp = dt.datetime.now(dt.timezone.utc)
    ops, frame = [], 1
    for run in L.state_runs(labels["segments"]):
        if run["start"] + 1 > frame:  # frames before this run carry no state
            ops.append(UpdateMany({"_sample_id": sample_oid, "frame_number": {"$gte": frame, "$lte": run["start"]},
                                   **guard}, {"$set": {STATE_FIELD: None, STATE_REV: rev, "last_modified_at": stamp}}))
        ops.append(UpdateMany({"_sample_id": sample_oid,
                               "frame_number": {"$gte": run["start"] + 1, "$lte": run["end"] + 1}, **guard},
                              {"$set": {STATE_FIELD: state_doc(run, run["id"]), STATE_REV: rev,
                                        "last_modified_at": stamp}}))
        frame = run["end"] + 2
    if frame <= num_frames:
        ops.append(UpdateMany({"_sample_id": sample_oid, "frame_number": {"$gte": frame}, **guard},
                              {"$set": {STATE_FIELD: None, STATE_REV: rev, "last_modified_at": stamp}}))
    coll.bulk_write(ops, ordered=False)


# -- edits -------------------------------------------------------------------------------------------


_PROJECTION = {"video_id": 1, "exercise": 1, "view": 1, "num_frames": 1, "gymdata_base": 1, "gymdata_log": 1,
               "gymdata_base_len": 1, "gymdata_rev": 1}
#: Fields that FiftyOne's own Annotate mode may edit (label schemas set by push): segments per kind.
ANNOTATE_FIELDS = {"repetitions": "repetition", "phases": "phase"}
#: Who made the edits found in Annotate-mode fields when the dataset has no single owner.
UNKNOWN_ANNOTATOR = "unknown (FiftyOne Annotate mode)"


def dataset_owner(dataset) -> str | None:
    """The annotator a FiftyOne dataset belongs to (its blind copy's annotator), if any."""
    return gymdata_info(dataset).get("blind_for")


def outside_edits(dataset, doc: Mapping[str, Any], labels: Mapping[str, Any]) -> list[dict]:
    """Edits made to a sample's segment fields outside gymdata (FiftyOne's Annotate mode), as gymdata edits.

    Annotate mode writes the ``TemporalDetections`` fields directly and records no author. The fields
    are compared with what the log renders to: a moved or resized segment becomes a ``segment``
    edit, a new one (no ``segment_id``) an added segment, a missing one a ``segment_delete``. They
    are attributed to the dataset's owner (one FiftyOne dataset per annotator makes every change
    there theirs), else to :data:`UNKNOWN_ANNOTATOR`, at the sample's ``last_modified_at``.
    """
    who = dataset_owner(dataset) or UNKNOWN_ANNOTATOR
    stamp = doc.get("last_modified_at")
    at = (stamp.replace(tzinfo=dt.timezone.utc) if stamp and stamp.tzinfo is None else stamp)
    at_iso = at.isoformat() if at else None
    edits = []
    for fname, kind in ANNOTATE_FIELDS.items():
        shown = (doc.get(fname) or {}).get("detections") or []
        known = {seg["id"]: seg for seg in labels["segments"] if seg["kind"] == kind}
        seen = set()
        for det in shown:
            support = det.get("support") or []
            if len(support) != 2:
                continue
            start, end = int(support[0]) - 1, int(support[1]) - 1  # FiftyOne counts from 1
            seg = known.get(det.get("segment_id"))
            label = det.get("label") or (seg or {}).get("label") or ("rep" if kind == "repetition" else kind)
            if seg is None:
                edits.append(L.make_edit("segment", who, kind=kind, label=label, start=start, end=end, at=at_iso))
                continue
            seen.add(seg["id"])
            if (seg["start"], seg["end"], seg["label"]) != (start, end, label):
                edits.append(L.make_edit("segment", who, segment=seg["id"], kind=kind, label=label, start=start,
                                         end=end, at=at_iso))
        edits += [L.make_edit("segment_delete", who, segment=sid, at=at_iso) for sid in known if sid not in seen]
    return edits


def adopt_outside_edits(dataset, sample_id) -> list[dict]:
    """Turn Annotate-mode changes of one sample into logged edits (see :func:`outside_edits`).

    Returns:
        The edits appended (none when the fields are what the log renders to).
    """
    coll = dataset._sample_collection
    fields = {**_PROJECTION, **{f: 1 for f in ANNOTATE_FIELDS}, "last_modified_at": 1}
    for _ in range(50):
        doc = coll.find_one({"_id": _oid(str(sample_id))}, fields)
        if doc is None or "gymdata_rev" not in doc:
            return []
        log = doc.get("gymdata_log") or []
        labels = L.fold(doc.get("gymdata_base") or L.empty_labels(), log[doc.get("gymdata_base_len") or 0:])
        if not has_outside_edits(doc, labels):
            return []
        edits = []
        for edit in outside_edits(dataset, doc, labels):
            try:
                edit = L.check_edit(labels, edit, num_frames=doc.get("num_frames"))
            except L.EditError:
                continue  # a segment dragged past the clip: leave it to be corrected in the App
            L.apply_edit(labels, edit)
            edits.append(edit)
        rev = doc["gymdata_rev"] + 1
        result = coll.update_one({"_id": doc["_id"], "gymdata_rev": doc["gymdata_rev"]},
                                 {"$push": {"gymdata_log": {"$each": edits}},
                                  "$set": {**render(doc["video_id"], labels, gymdata_info(dataset).get("score_names", [])),
                                           "gymdata_rev": rev}})
        if result.modified_count == 1:
            return edits
    raise EditConflictError(f"sample {sample_id}: gave up adopting Annotate-mode edits", hint="try again")


def has_outside_edits(doc: Mapping[str, Any], labels: Mapping[str, Any] | None = None) -> bool:
    """Whether a raw sample document's segment fields differ from what its log renders to."""
    if labels is None:
        log = doc.get("gymdata_log") or []
        labels = L.fold(doc.get("gymdata_base") or L.empty_labels(), log[doc.get("gymdata_base_len") or 0:])
    rendered = render(doc["video_id"], labels)
    return any(_supports(doc.get(f)) != _supports(rendered[f]) for f in ANNOTATE_FIELDS)


#: What :func:`has_outside_edits` reads of a sample.
OUTSIDE_PROJECTION = {**_PROJECTION, **{f: 1 for f in ANNOTATE_FIELDS}}


def _supports(field: Mapping[str, Any] | None) -> list[tuple]:
    dets = (field or {}).get("detections") or []
    return sorted((str(d.get("segment_id")), d.get("label"), tuple(d.get("support") or ())) for d in dets)


def read_clip(dataset, sample_id) -> dict[str, Any]:
    """A sample's clip fields, base, log and revision (raw), plus its current labels under ``labels``.

    Raises:
        GymdataError: If the sample does not exist or was not pushed by gymdata.
    """
    doc = dataset._sample_collection.find_one({"_id": _oid(str(sample_id))}, _PROJECTION)
    if doc is None or "gymdata_rev" not in doc:
        raise GymdataError(f"sample {sample_id} is not a gymdata clip of FiftyOne dataset {dataset.name!r}",
                           hint="open a sample of a dataset made by 'gymdata fiftyone push'")
    log = doc.get("gymdata_log") or []
    doc["labels"] = L.fold(doc.get("gymdata_base") or L.empty_labels(), log[doc.get("gymdata_base_len") or 0:])
    return doc


def exercise_criteria(dataset, exercise: str | None, view: str | None = None) -> list[str]:
    """Criteria names of an exercise as pushed from the store, those judged from ``view`` first.

    A criterion whose view is known and differs from the clip's is left out (ALEX-GYM-1 judges each
    criterion from one camera).
    """
    entries = gymdata_info(dataset).get("criteria", {}).get(exercise or "", [])
    return [e["name"] for e in entries if not view or not e.get("view") or e["view"] == view]


def apply_edits(dataset, sample_id, edits: Sequence[dict[str, Any]], *, retries: int = 200) -> dict[str, Any]:
    """Check and append edits to one sample, updating its label fields atomically.

    Args:
        dataset: The FiftyOne dataset.
        sample_id: The sample (string or ObjectId).
        edits: From :func:`annotators.labels.make_edit`; repeats of the annotator's own current value
            are dropped (:func:`annotators.labels.is_noop`).
        retries: Compare-and-swap attempts before giving up.

    Returns:
        ``{"labels": current labels, "applied": edits appended, "rev": new revision}``.

    Raises:
        EditError: If an edit is invalid for the clip (out-of-range score or frames, ...).
        EditConflictError: If the sample kept changing under us ``retries`` times.
    """
    coll = dataset._sample_collection
    score_names = gymdata_info(dataset).get("score_names", [])
    adopt_outside_edits(dataset, sample_id)  # Annotate-mode changes first, or the re-render below would undo them
    for attempt in range(retries):
        doc = read_clip(dataset, sample_id)
        current, applied = doc["labels"], []
        crits = exercise_criteria(dataset, doc.get("exercise"))
        for edit in edits:
            edit = L.check_edit(current, dict(edit), num_frames=doc.get("num_frames"), criteria=crits)
            if L.is_noop(current, edit):
                continue
            before_states = _state_key(current)
            L.apply_edit(current, edit)
            applied.append((edit, before_states != _state_key(current)))
        if not applied:
            return {"labels": current, "applied": [], "rev": doc["gymdata_rev"]}
        rev = doc["gymdata_rev"] + 1
        stamp = dt.datetime.now(dt.timezone.utc)
        fields = render(doc["video_id"], current, score_names)
        result = coll.update_one({"_id": doc["_id"], "gymdata_rev": doc["gymdata_rev"]},
                                 {"$push": {"gymdata_log": {"$each": [e for e, _ in applied]}},
                                  "$set": {**fields, "gymdata_rev": rev, "last_modified_at": stamp}})
        if result.modified_count == 1:
            if any(changed for _, changed in applied):
                write_states(dataset, doc["_id"], current, int(doc.get("num_frames") or 0), rev)
            return {"labels": current, "applied": [e for e, _ in applied], "rev": rev}
        time.sleep(min(0.002 * (attempt + 1), 0.05))  # another annotator won the race: back off, re-read
    raise EditConflictError(f"sample {sample_id}: gave up after {retries} conflicting writes",
                            hint="someone is editing this clip very fast; try again")
