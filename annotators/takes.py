"""Takes: the two views of one repetition (or recording) shown side by side and labelled once.

``push`` gives every FiftyOne group that has a ``frontal`` and a ``lateral`` clip one more slice,
``take`` (:data:`TAKE_SLICE`, the modal's default): a **composite** video, the frontal view on the
left and the lateral view on the right, so one player shows both views in sync and the App's own
timeline (Annotate mode) edits both at once.

The composite (:func:`encode_composite`):

* both views are scaled to the taller view's height (aspect kept, widths rounded to even), put side
  by side (numpy ``hstack``, what ffmpeg's ``hstack`` filter does) and encoded to H.264 with PyAV
  at the views' frame rate (the frontal one if they differ);
* **frame f of the take is frame f of each view** (the views of a take start together). When the
  views have different lengths the take is as long as the longer one and the shorter view holds its
  last frame; take edits are clipped to each view's own frames (a segment wholly past a view's end
  is not written to that view);
* cached like the other encodes under ``$GYMDATA_HOME/cache/mp4``, named after the two view files
  (path, size, mtime) and the frame rate, written under a temporary name and renamed: a second
  push encodes nothing and an interrupted one resumes.

A take sample holds **no labels of its own**. Its label fields are rendered from its view clips
(:func:`render_take`) and every edit made on it is routed to the view clips (:func:`route`,
:func:`apply_edits`), which are what ``pull`` reads. Routing:

* repetitions, phases, A/R states and penalties are take-level: written to every view clip, with
  the same annotator and time (each copy has its own edit id, derived from the take edit's);
* a criterion goes to the view it is judged from (its ``criterion_view``);
* a score named on one view only (ALEX-GYM-1's ``frontal`` / ``lateral`` partial scores) goes to
  that view; any other score (``quality``, ALEX's ``total``, which the importer writes on both clips
  of a take) is a judgement of the whole take and goes to every view.

The take shows the segments and penalties of its first view (frontal; the views agree once edited
on the take), every criterion of both views and each score of the first view that has it.
Edits made on the take in FiftyOne's own Annotate mode are found by comparing its segment fields
with what was rendered there (``gymdata_take.shown``) and routed like any take edit
(:func:`adopt_outside_edits`).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annotators import foapi
from annotators import labels as L

TAKE_SLICE = "take"
#: The views a take is made of, left to right; the first one present is the take's reference view.
TAKE_VIEWS = ("frontal", "lateral")
TAKE_FIELD = "gymdata_take"
COMPOSITE_VERSION = "hstack-1"
_TAKE_ONLY = (L.OPS[2], L.OPS[3], L.OPS[4], L.OPS[5], L.OPS[6])  # segment, segment_delete, state, penalty(_delete)


# -- the composite video ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompositeJob:
    """One take to encode (picklable, for worker processes): its view MP4s, left to right."""

    group: str
    views: tuple[str, ...]
    fps: float
    cache_dir: str


def composite_path(job: CompositeJob) -> tuple[str, bool]:
    """The composite MP4 of a take, without encoding: ``(path, whether it must be encoded)``."""
    from gymdata import store

    files = store.fingerprint([Path(v) for v in job.views], Path("/"))
    key = hashlib.sha1(f"{COMPOSITE_VERSION}\0{job.fps}\0{'|'.join(job.views)}\0{files}".encode()).hexdigest()
    out = Path(job.cache_dir) / key[:2] / f"take-{key}.mp4"
    return str(out), not out.is_file()


def layout(sizes: Sequence[tuple[int, int]]) -> tuple[int, list[int]]:
    """Height and per-view widths of the composite: every view scaled to the tallest, widths even."""
    height = max(h for _, h in sizes)
    height -= height % 2
    widths = []
    for w, h in sizes:
        scaled = max(2, round(w * height / h))
        widths.append(scaled - scaled % 2)
    return height, widths


def encode_composite(job: CompositeJob) -> str:
    """Encode a take's composite into its cache file (see :func:`composite_path`); returns the path.

    Raises:
        CorruptMediaError: If a view cannot be decoded.
    """
    import cv2

    from gymdata import media

    out, needed = composite_path(job)
    if not needed:
        return out
    infos = [media.probe_video(v) for v in job.views]
    height, widths = layout([(i.width, i.height) for i in infos])

    def frames():
        readers = [media.iter_video(v) for v in job.views]
        last: list[np.ndarray | None] = [None] * len(readers)
        while True:
            alive = False
            for k, reader in enumerate(readers):
                nxt = next(reader, None) if reader is not None else None
                if nxt is None:
                    readers[k] = None  # this view ended: hold its last frame
                else:
                    alive = True
                    last[k] = cv2.resize(nxt[1], (widths[k], height), interpolation=cv2.INTER_AREA)
            if not alive:
                return
            yield np.hstack([x if x is not None else np.zeros((height, w, 3), np.uint8)
                             for x, w in zip(last, widths)])

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    media.encode_h264(frames(), out, job.fps or 30.0)
    return out


# -- reading a take --------------------------------------------------------------------------------


def is_take(doc: Mapping[str, Any] | None) -> bool:
    """Whether a raw sample document is a take sample."""
    return bool(doc) and bool(doc.get(TAKE_FIELD))


def take_of(dataset, sample_id) -> Any | None:
    """The take sample id (ObjectId) of a sample: itself if it is a take, its group's take, else None."""
    coll = dataset._sample_collection
    doc = coll.find_one({"_id": foapi._oid(str(sample_id))}, {"group": 1, TAKE_FIELD: 1})
    if doc is None:
        return None
    if is_take(doc):
        return doc["_id"]
    group = (doc.get("group") or {}).get("_id")
    if group is None:
        return None
    take = coll.find_one({"group._id": group, "group.name": TAKE_SLICE}, {"_id": 1})
    return take["_id"] if take else None


def view_samples(dataset, sample_id) -> dict[str, str]:
    """The view clips of a take (or of the take a view clip is part of): ``{view: sample id}``, left to right.

    A sample that is not part of a take gives ``{its view: its id}``.
    """
    take = take_of(dataset, sample_id)
    if take is None:
        doc = dataset._sample_collection.find_one({"_id": foapi._oid(str(sample_id))}, {"view": 1})
        return {} if doc is None else {doc.get("view") or "default": str(doc["_id"])}
    info = dataset._sample_collection.find_one({"_id": take}, {TAKE_FIELD: 1})[TAKE_FIELD]
    return {v: info["views"][v] for v in TAKE_VIEWS if v in info["views"]}


def read_views(dataset, take_id) -> dict[str, dict]:
    """Each view clip of a take read with :func:`annotators.foapi.read_clip` (labels under ``labels``)."""
    return {v: foapi.read_clip(dataset, sid) for v, sid in view_samples(dataset, take_id).items()}


def criteria_keys(dataset, views: Mapping[str, Mapping]) -> dict[str, tuple[str, str]]:
    """How the criteria of a take's views are named on the take: ``{take name: (view, criterion)}``.

    A criterion keeps its own name (ALEX-GYM-1's names already end in F or L) unless two views have
    one of the same name; then each is named ``"<name> [<view>]"``.
    """
    per_view: dict[str, list[str]] = {}
    for view, doc in views.items():
        names = foapi.exercise_criteria(dataset, doc.get("exercise"), view)
        names += [n for n in doc["labels"]["criteria"] if n not in names]
        per_view[view] = names
    counts: dict[str, int] = {}
    for names in per_view.values():
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    return {(n if counts[n] == 1 else f"{n} [{view}]"): (view, n) for view, names in per_view.items() for n in names}


def take_labels(dataset, views: Mapping[str, Mapping]) -> dict[str, Any]:
    """The labels a take shows (see the module docstring), from its views' current labels."""
    out = L.empty_labels()
    if not views:
        return out
    ref = next(iter(views.values()))["labels"]
    for key, (view, name) in criteria_keys(dataset, views).items():
        crit = views[view]["labels"]["criteria"].get(name)
        if crit is not None:
            out["criteria"][key] = {**crit, "view": crit.get("view") or view}
    for doc in views.values():
        for name, score in doc["labels"]["scores"].items():
            out["scores"].setdefault(name, copy.deepcopy(score))
    out["segments"] = copy.deepcopy(ref["segments"])
    out["penalties"] = copy.deepcopy(ref["penalties"])
    return out


# -- routing take edits to the views -------------------------------------------------------------


def _view_edit(edit: Mapping[str, Any], target: str, /, **changes: Any) -> dict[str, Any]:
    """A copy of a take edit for one view: same op, annotator, time and origin; its own stable id."""
    out = {**copy.deepcopy(dict(edit)), **changes}
    out["id"] = hashlib.md5(f"{edit['id']}\0{target}".encode()).hexdigest()
    out["take_edit"] = edit["id"]
    return out


def _match(items: Sequence[Mapping], item_id: str, like: Mapping | None) -> str | None:
    """The id, in one view, of the segment/penalty ``item_id`` of the reference view (same id, else same content)."""
    if any(x["id"] == item_id for x in items):
        return item_id
    if like is None:
        return None
    key = L._content_key(like)
    return next((x["id"] for x in items if L._content_key(x) == key), None)


def _clip_range(edit: Mapping[str, Any], num_frames: int | None) -> tuple[int | None, int | None] | None:
    """An edit's frame range cut to a view's frames; None when it lies wholly past the view's end."""
    start, end = edit.get("start"), edit.get("end")
    if start is None or end is None or not num_frames:
        return start, end
    if int(start) >= num_frames:
        return None
    return int(start), min(int(end), num_frames - 1)


def route(dataset, views: Mapping[str, Mapping], edits: Sequence[Mapping[str, Any]]) -> dict[str, list[dict]]:
    """Split edits made on a take into edits of its view clips (see the module docstring).

    Args:
        dataset: The FiftyOne dataset.
        views: :func:`read_views` of the take.
        edits: Edits as made on the take (criterion names as :func:`criteria_keys` names them).

    Returns:
        ``{view: [edits]}``, in the order given.

    Raises:
        EditError: If a criterion is not one of the take's.
    """
    keys = criteria_keys(dataset, views)
    ref_view = next(iter(views))
    ref = views[ref_view]["labels"]
    out: dict[str, list[dict]] = {v: [] for v in views}
    for edit in edits:
        op = edit["op"]
        if op == "criterion":
            target = keys.get(edit["name"])
            if target is None and edit.get("view") in views:
                target = (edit["view"], edit["name"])
            if target is None:
                raise L.EditError(f"{edit['name']!r} is not a criterion of this take",
                                  hint=f"criteria: {', '.join(keys) or 'none'}")
            view, name = target
            out[view].append(_view_edit(edit, view, name=name, view=view))
        elif op == "score":
            having = [v for v, doc in views.items() if edit["name"] in doc["labels"]["scores"]]
            for view in having if len(having) == 1 else views:
                out[view].append(_view_edit(edit, view))
        elif op in _TAKE_ONLY:
            item_key = "penalty" if op.startswith("penalty") else "segment"
            table = "penalties" if item_key == "penalty" else "segments"
            like = next((x for x in ref[table] if x["id"] == edit.get(item_key)), None)
            for view, doc in views.items():
                labels, changes = doc["labels"], {}
                if item_key in edit and op != "state":
                    found = _match(labels[table], edit[item_key], like)
                    if found is None and op.endswith("_delete"):
                        continue  # this view never had it
                    changes[item_key] = found or edit[item_key]
                if op in ("segment", "state", "penalty"):
                    rng = _clip_range(edit, doc.get("num_frames"))
                    if rng is None:
                        if op != "penalty":
                            continue  # wholly past this view's end
                        rng = (None, None)
                    changes["start"], changes["end"] = rng
                out[view].append(_view_edit(edit, view, **changes))
        else:
            raise L.EditError(f"unknown edit {op!r}", hint=f"edits: {', '.join(L.OPS)}")
    return out


# -- rendering and editing -------------------------------------------------------------------------


def render_take(dataset, take_id, *, force: bool = False) -> dict[str, Any]:
    """Re-render a take's label fields (and its frames' A/R states) from its views; returns its labels.

    Annotate-mode changes made on the take are adopted first. A render only lands if it comes from
    newer view revisions than the one shown (or ``force``), so two writers never leave an older
    render on top.
    """
    if adopt_outside_edits(dataset, take_id, render=False) is not None:
        force = True  # what the take shows differs from its last render: replace it in any case
    return _render(dataset, take_id, force=force)


def _render(dataset, take_id, *, force: bool) -> dict[str, Any]:
    coll = dataset._sample_collection
    views = read_views(dataset, take_id)
    labels = take_labels(dataset, views)
    revsum = sum(int(d["gymdata_rev"]) for d in views.values())
    take = coll.find_one({"_id": foapi._oid(str(take_id))}, {TAKE_FIELD: 1, "num_frames": 1})
    info = dict(take[TAKE_FIELD])
    score_names = foapi.gymdata_info(dataset).get("score_names", [])
    fields = foapi.render(f"take\0{take['_id']}", labels, score_names)
    frame_rev = int(info.get("frame_rev") or 0) + 1
    info.update(shown=labels, revs={v: int(d["gymdata_rev"]) for v, d in views.items()}, revsum=revsum,
                frame_rev=frame_rev)
    newer = {"$or": [{f"{TAKE_FIELD}.revsum": {"$lt": revsum}}, {f"{TAKE_FIELD}.revsum": {"$exists": False}}]}
    result = coll.update_one({"_id": take["_id"], **({} if force else newer)},
                             {"$set": {**fields, TAKE_FIELD: info, "video_id": None, "last_modified_at": dt.datetime.now(dt.timezone.utc)}})
    if result.modified_count == 1:
        foapi.write_states(dataset, take["_id"], labels, int(take.get("num_frames") or 0), frame_rev)
    return labels


def apply_edits(dataset, sample_id, edits: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Apply edits made on a take or on a view clip; the take shown is re-rendered either way.

    On a take sample the edits are routed to its view clips (:func:`route`) and every routed edit is
    checked against its view before any is written, so a bad edit writes nothing. On a view clip this
    is :func:`annotators.foapi.apply_edits`, followed by a re-render of the clip's take.

    Returns:
        ``{"labels": the labels of the sample shown (the take's, or the clip's), "applied": {view
        sample id: [edits appended]}, "take": take sample id or None}``.

    Raises:
        EditError: If an edit is invalid for the take or one of its views.
        EditConflictError: If a view kept changing under us.
    """
    take = take_of(dataset, sample_id)
    doc = dataset._sample_collection.find_one({"_id": foapi._oid(str(sample_id))}, {TAKE_FIELD: 1})
    if not is_take(doc):
        result = foapi.apply_edits(dataset, sample_id, edits)
        if take is not None and result["applied"]:
            render_take(dataset, take)
        return {"labels": result["labels"], "applied": {str(sample_id): result["applied"]},
                "take": None if take is None else str(take)}
    adopt_outside_edits(dataset, take)
    views = read_views(dataset, take)
    routed = route(dataset, views, edits)
    for view, view_edits in routed.items():  # check everything before writing anything
        labels = L.fold(views[view]["labels"], [])
        crits = foapi.exercise_criteria(dataset, views[view].get("exercise"))
        for edit in view_edits:
            L.apply_edit(labels, L.check_edit(labels, dict(edit), num_frames=views[view].get("num_frames"),
                                              criteria=crits))
    applied = {}
    for view, view_edits in routed.items():
        if view_edits:
            sid = str(views[view]["_id"])
            applied[sid] = foapi.apply_edits(dataset, sid, view_edits)["applied"]
    return {"labels": render_take(dataset, take), "applied": applied, "take": str(take)}


def adopt_outside_edits(dataset, take_id, *, render: bool = True) -> dict[str, list[dict]] | None:
    """Route changes made to a take's segment fields in FiftyOne's Annotate mode to its views.

    The take's ``repetitions`` / ``phases`` are compared with what was last rendered there, and the
    differences become edits (:func:`annotators.foapi.outside_edits`: by the dataset's owner, at the
    take's ``last_modified_at``) applied to every view; then the take is rendered again (unless
    ``render`` is false: the caller does it).

    Returns:
        ``{view sample id: edits appended}``, or None when the take shows what was rendered there.
    """
    coll = dataset._sample_collection
    fields = {TAKE_FIELD: 1, "last_modified_at": 1, **{f: 1 for f in foapi.ANNOTATE_FIELDS}}
    doc = coll.find_one({"_id": foapi._oid(str(take_id))}, fields)
    if not is_take(doc) or "shown" not in doc[TAKE_FIELD]:
        return None
    shown = doc[TAKE_FIELD]["shown"]
    doc["video_id"] = f"take\0{doc['_id']}"
    if not foapi.has_outside_edits(doc, shown):
        return None
    views = read_views(dataset, doc["_id"])
    ref = next(iter(views))
    views[ref] = {**views[ref], "labels": {**views[ref]["labels"], "segments": shown["segments"]}}
    applied: dict[str, list[dict]] = {}
    for edit in foapi.outside_edits(dataset, doc, shown):
        for view, view_edits in route(dataset, views, [edit]).items():
            sid = str(views[view]["_id"])
            try:
                applied.setdefault(sid, []).extend(foapi.apply_edits(dataset, sid, view_edits)["applied"])
            except L.EditError:
                continue  # dragged past this view's frames: left for the annotator to correct
    if render:
        _render(dataset, doc["_id"], force=True)
    return applied


# -- push ------------------------------------------------------------------------------------------


@dataclass
class TakesReport:
    """What :func:`push_takes` did."""

    added: int = 0
    encoded: int = 0
    failed: list[tuple[str, str]] | None = None


def _take_frames(sample_oid, dataset_oid, num_frames: int, stamp: dt.datetime) -> list[dict]:
    from bson import ObjectId

    return [{"_id": ObjectId(), "_sample_id": sample_oid, "_dataset_id": dataset_oid, "frame_number": f + 1,
             "created_at": stamp, "last_modified_at": stamp} for f in range(num_frames)]


def push_takes(fo, dataset, *, cache_dir: str | Path, workers: int = 2, progress: bool = True) -> TakesReport:
    """Give every group with a frontal and a lateral clip its ``take`` slice (see the module docstring).

    Encodes the missing composites (``workers`` processes), adds or updates the take samples and
    renders their labels from their views. Call it after the view clips are pushed and the dataset's
    ``info['gymdata']`` is saved. Changes made on a take in Annotate mode are adopted before anything
    is rewritten.
    """
    from gymdata.errors import GymdataError
    from gymdata.runner import run_tasks

    report = TakesReport(failed=[])
    coll = dataset._sample_collection
    groups: dict[Any, dict[str, dict]] = {}
    for doc in coll.find({"group.name": {"$in": list(TAKE_VIEWS)}},
                         {"group": 1, "filepath": 1, "metadata": 1, "num_frames": 1, "video_id": 1}):
        groups.setdefault(doc["group"]["_id"], {})[doc["group"]["name"]] = doc
    groups = {g: {v: views[v] for v in TAKE_VIEWS} for g, views in groups.items() if set(TAKE_VIEWS) <= set(views)}
    takes = {d["group"]["_id"]: d for d in coll.find({"group.name": TAKE_SLICE}, {"group": 1, "filepath": 1,
                                                                                 TAKE_FIELD: 1})}
    for take in takes.values():  # Annotate-mode edits on a take reach its views before anything moves
        adopt_outside_edits(dataset, take["_id"])
    jobs = {g: CompositeJob(str(g), tuple(views[v]["filepath"] for v in TAKE_VIEWS),
                            float((views[TAKE_VIEWS[0]].get("metadata") or {}).get("frame_rate") or 30.0),
                            str(cache_dir)) for g, views in groups.items()}
    paths: dict[Any, str] = {}
    todo = []
    for g, job in jobs.items():
        try:
            paths[g], needed = composite_path(job)
        except (GymdataError, OSError) as exc:
            report.failed.append((str(g), str(exc)))
            continue
        if needed:
            todo.append(job)
            del paths[g]
    by_key = {str(g): g for g in jobs}
    for outcome in run_tasks(encode_composite, todo, workers=workers, desc="encoding takes", unit="take",
                             progress=progress):
        if outcome.ok:
            paths[by_key[outcome.item.group]] = outcome.value
            report.encoded += 1
        else:
            report.failed.append((outcome.item.group, outcome.error))
    if not paths:
        return report
    stamp = dt.datetime.now(dt.timezone.utc)
    new, rewrite = [], []
    for g, path in paths.items():
        views = groups[g]
        metas = [views[v].get("metadata") or {} for v in TAKE_VIEWS]
        height, widths = layout([(int(m.get("frame_width") or 2), int(m.get("frame_height") or 2)) for m in metas])
        num_frames = max(int(views[v].get("num_frames") or 0) for v in TAKE_VIEWS)
        fps = float(metas[0].get("frame_rate") or 30.0)
        meta = fo.VideoMetadata(size_bytes=Path(path).stat().st_size, mime_type="video/mp4", frame_width=sum(widths),
                                frame_height=height, frame_rate=fps, total_frame_count=num_frames,
                                duration=num_frames / fps, encoding_str="avc1")
        info = {"views": {v: str(views[v]["_id"]) for v in TAKE_VIEWS},
                "video_ids": {v: views[v].get("video_id") for v in TAKE_VIEWS},
                "widths": widths, "height": height}
        ref = coll.find_one({"_id": views[TAKE_VIEWS[0]]["_id"]}, {k: 1 for k in foapi.CLIP_FIELDS})
        clip = {k: ref.get(k) for k in foapi.CLIP_FIELDS if k not in ("video_id", "view", "source_path")}
        clip.update(view=TAKE_SLICE, num_frames=num_frames, video_id=None)  # not a store clip: pull skips it
        old = takes.get(g)
        if old is None:
            new.append(fo.Sample(filepath=path, group=fo.Group(id=str(g)).element(TAKE_SLICE), metadata=meta,
                                 **clip, **{TAKE_FIELD: info}))
            continue
        sets = {"filepath": path, **clip, "metadata": {k: v for k, v in meta.to_dict().items() if k != "_id"},
                **{f"{TAKE_FIELD}.{k}": v for k, v in info.items()}}
        coll.update_one({"_id": old["_id"]}, {"$set": sets})
        if old.get("filepath") != path:
            rewrite.append((old["_id"], num_frames))
    if new:
        ids = dataset.add_samples(new, progress=False)
        rewrite += [(foapi._oid(i), s.num_frames) for i, s in zip(ids, new)]
        report.added = len(new)
    frames = dataset._frame_collection
    if rewrite:
        frames.delete_many({"_sample_id": {"$in": [oid for oid, _ in rewrite]}})
        docs = [d for oid, n in rewrite for d in _take_frames(oid, dataset._doc.id, n, stamp)]
        if docs:
            frames.insert_many(docs, ordered=False)
        coll.update_many({"_id": {"$in": [oid for oid, _ in rewrite]}}, {"$unset": {f"{TAKE_FIELD}.frame_rev": ""}})
    for take in coll.find({"group.name": TAKE_SLICE, "group._id": {"$in": list(paths)}}, {"_id": 1}):
        _render(dataset, take["_id"], force=True)
    if dataset.default_group_slice != TAKE_SLICE:
        dataset.default_group_slice = TAKE_SLICE  # the modal opens on both views side by side
    dataset.group_slice = TAKE_SLICE  # this process's dataset object too (an App launched from it)
    return report
