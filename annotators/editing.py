"""One builder per kind of edit, shared by the plugin's operators, the "Gym labels" panel and the
keyboard/timeline panel (the JS bundle), plus the read side those panels show.

Every edit a person makes in the App is built here (so the checks are the same whichever surface
made it: a penalty is checked against the knowledge graph from the panel as from the operator),
then applied with :func:`apply`, which stamps nothing itself: the annotator and time are set by
:func:`annotators.labels.make_edit`, the edit is checked by the core and appended to the clip's log.

A sample may be a view clip or a two-view **take** (``annotators.takes``): edits on a take are
routed to its view clips there; reading a take shows the labels of both views.

Frames are the store's: 0-based and inclusive (the App's player shows the same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from annotators import foapi
from annotators import labels as L
from gymdata.errors import GymdataError


def _takes():
    """The takes module, or None on a checkout without two-view takes."""
    try:
        from annotators import takes
    except ImportError:  # pragma: no cover - takes ship with gymdata; kept for partial installs
        return None
    return takes


def is_take(dataset, sample_id) -> bool:
    takes = _takes()
    if takes is None:
        return False
    doc = dataset._sample_collection.find_one({"_id": foapi._oid(str(sample_id))}, {takes.TAKE_FIELD: 1})
    return takes.is_take(doc)


def read(dataset, sample_id) -> dict[str, Any]:
    """A sample's clip fields and current labels (a take: its views' labels, criteria of both views).

    Raises:
        GymdataError: If it is not a gymdata sample.
    """
    takes = _takes()
    if takes is not None and is_take(dataset, sample_id):
        views = takes.read_views(dataset, sample_id)
        first = next(iter(views.values()))
        doc = dataset._sample_collection.find_one({"_id": foapi._oid(str(sample_id))},
                                                  {"video_id": 1, "num_frames": 1, "group": 1})
        return {"_id": doc["_id"], "video_id": doc.get("video_id") or f"take of {first['video_id']}",
                "exercise": first.get("exercise"), "view": takes.TAKE_SLICE,
                "num_frames": max(int(v.get("num_frames") or 0) for v in views.values()) or None,
                "labels": takes.take_labels(dataset, views), "views": views,
                "criteria_keys": takes.criteria_keys(dataset, views)}
    return foapi.read_clip(dataset, sample_id)


def criteria(dataset, clip: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """``[(name, view)]`` of the criteria judged on a sample (a take: both views', left to right)."""
    if clip.get("criteria_keys") is not None:
        return [(name, view) for name, (view, _) in clip["criteria_keys"].items()]
    names = foapi.exercise_criteria(dataset, clip.get("exercise"), clip.get("view"))
    return [(n, clip.get("view")) for n in names]


def apply(dataset, sample_id, edits: Sequence[dict[str, Any]]) -> list[dict]:
    """Apply edits to a view clip or a take; returns the edits appended (all views together)."""
    if not edits:
        return []
    takes = _takes()
    if takes is not None and hasattr(takes, "apply_edits"):
        result = takes.apply_edits(dataset, sample_id, list(edits))
        return [e for applied in result["applied"].values() for e in applied]
    return foapi.apply_edits(dataset, sample_id, list(edits))["applied"]


# -- builders -------------------------------------------------------------------------------------


def criterion(clip: Mapping[str, Any], who: str, name: str, verdict: str) -> dict:
    view = next((v for n, (v, _) in (clip.get("criteria_keys") or {}).items() if n == name), clip.get("view"))
    return L.make_edit("criterion", who, name=name, verdict=verdict, view=view)


def remaining_verdicts(dataset, clip: Mapping[str, Any], who: str, verdict: str = "pass",
                       view: str | None = None) -> list[dict]:
    """``verdict`` for every criterion (of ``view``, or all) that ``who`` has not judged yet."""
    out = []
    for name, v in criteria(dataset, clip):
        if view and v != view:
            continue
        cur = clip["labels"]["criteria"].get(name)
        if cur and cur.get("origin") == "human" and cur.get("annotator") == who:
            continue
        out.append(criterion(clip, who, name, verdict))
    return out


def score(who: str, value: Any, name: str | None = None) -> dict:
    if value in (None, ""):
        raise L.EditError("the score is missing", hint="type a score from 0 to 100")
    return L.make_edit("score", who, name=name or L.QUALITY, value=value)


def frame(value: Any, what: str, *, optional: bool = False) -> int | None:
    """A frame number given by a person or the UI (0-based)."""
    if value in (None, ""):
        if optional:
            return None
        raise L.EditError(f"{what} is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise L.EditError(f"{what} {value!r} is not a frame number") from None


def _segment(clip: Mapping[str, Any], seg_id: str | None) -> dict[str, Any]:
    seg = next((s for s in clip["labels"]["segments"] if s["id"] == seg_id), None)
    if seg is None:
        raise L.EditError(f"no segment {seg_id!r} in this clip (someone else deleted it?)")
    return seg


def repetition(clip: Mapping[str, Any], who: str, start: Any, end: Any, segment: str | None = None) -> dict:
    """A new repetition, or (``segment``: its id) an existing one moved to ``start``-``end``."""
    start, end = frame(start, "start frame"), frame(end, "end frame")
    if segment:
        seg = _segment(clip, segment)
        return L.make_edit("segment", who, segment=seg["id"], kind=seg["kind"], label=seg["label"], start=start,
                           end=end)
    return L.make_edit("segment", who, kind="repetition", label="rep", start=start, end=end)


def delete_segment(clip: Mapping[str, Any], who: str, segment: str) -> dict:
    return L.make_edit("segment_delete", who, segment=_segment(clip, segment)["id"])


def state(who: str, label: str | None, start: Any, end: Any) -> dict:
    """Mark frames ``start``-``end`` A or R (``None``/``"none"``: clear them)."""
    label = None if label in (None, "", "none") else label
    return L.make_edit("state", who, label=label, start=frame(start, "start frame"), end=frame(end, "end frame"))


def kg_action(dataset, clip: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The knowledge-graph action of a clip: by the corpus's action id, else by exercise."""
    actions = foapi.gymdata_info(dataset).get("knowledge_graph") or []
    if not clip or not actions:
        return None
    doc = dataset._sample_collection.find_one({"_id": clip["_id"]}, {"exercise_raw": 1}) or {}
    raw = doc.get("exercise_raw")
    if raw is None and clip.get("views"):
        first = next(iter(clip["views"].values()))
        raw = (dataset._sample_collection.find_one({"_id": first["_id"]}, {"exercise_raw": 1}) or {}).get(
            "exercise_raw")
    return (next((a for a in actions if a.get("id") == raw), None)
            or next((a for a in actions if a.get("exercise") == clip.get("exercise")), None))


def penalty(dataset, clip: Mapping[str, Any], who: str, *, error_type: Any, keystep: Any = None,
            points: Any = None, feedback: Any = None, start: Any = None, end: Any = None) -> dict:
    """A penalty; with a knowledge graph, its error type and keystep must be in it (points and
    feedback default to the graph's)."""
    action = kg_action(dataset, clip)
    keystep = keystep or None
    if action:
        known = {e["id"]: e for e in action.get("error_types", [])}
        if error_type not in known:
            raise L.EditError(f"error type {error_type!r} is not in the knowledge graph of {action.get('id')}",
                              hint=f"error types: {', '.join(known) or 'none'}")
        steps = {k["id"] for k in action.get("keysteps", [])}
        if keystep and keystep not in steps:
            raise L.EditError(f"keystep {keystep!r} is not in the knowledge graph of {action.get('id')}")
        keystep = keystep or known[error_type].get("keystep")
        points = known[error_type].get("points") if points in (None, "") else points
        feedback = feedback or known[error_type].get("feedback")
    start = frame(start, "start frame", optional=True)
    end = frame(end, "end frame", optional=start is None)
    return L.make_edit("penalty", who, keystep=keystep, error_type=error_type,
                       points=None if points in (None, "") else points, feedback=feedback or None, start=start, end=end)


def delete_penalty(clip: Mapping[str, Any], who: str, pen_id: str) -> dict:
    if not any(p["id"] == pen_id for p in clip["labels"]["penalties"]):
        raise L.EditError(f"no penalty {pen_id!r} in this clip (someone else deleted it?)")
    return L.make_edit("penalty_delete", who, penalty=pen_id)


def move_penalty(clip: Mapping[str, Any], who: str, pen_id: str, start: Any, end: Any) -> list[dict]:
    """A penalty's frame range changed: the old one is deleted and the same penalty added with the
    new range, both by ``who`` (the log keeps penalties immutable)."""
    old = next((p for p in clip["labels"]["penalties"] if p["id"] == pen_id), None)
    if old is None:
        raise L.EditError(f"no penalty {pen_id!r} in this clip (someone else deleted it?)")
    return [L.make_edit("penalty_delete", who, penalty=pen_id),
            L.make_edit("penalty", who, keystep=old.get("keystep"), error_type=old["error_type"],
                        points=old.get("points"), feedback=old.get("feedback"), start=frame(start, "start frame"),
                        end=frame(end, "end frame"))]


def accept_suggestions(dataset, clip: Mapping[str, Any], who: str) -> list[dict]:
    """Edits that make the counter's suggestion the clip's repetitions and states (a take: its first
    view's suggestion, the take's segments being its first view's); suggests first if none is stored."""
    from annotators import suggest as S

    source = clip["views"][next(iter(clip["views"]))]["_id"] if clip.get("views") else clip["_id"]
    doc = dataset._sample_collection.find_one({"_id": source}, {"suggestion": 1}) or {}
    suggestion = doc.get("suggestion") or S.suggest(dataset, str(source))
    return S.accept_edits(clip["labels"], suggestion, who)


# -- what the panels show -------------------------------------------------------------------------


def _prov(item: Mapping[str, Any] | None) -> dict[str, Any]:
    item = item or {}
    return {"annotator": item.get("annotator"), "origin": item.get("origin"), "at": item.get("at")}


def panel_state(dataset, sample_id, who: str | None = None) -> dict[str, Any]:
    """Everything the keyboard/timeline panel shows for one sample, JSON-able.

    Raises:
        GymdataError: If the sample is not a gymdata clip or take.
    """
    clip = read(dataset, sample_id)
    labels = clip["labels"]
    crits = []
    for name, view in criteria(dataset, clip):
        cur = labels["criteria"].get(name)
        crits.append({"name": name, "view": view, "verdict": cur["verdict"] if cur else None, **_prov(cur)})
    quality = labels["scores"].get(L.QUALITY)
    segs = sorted(labels["segments"], key=lambda s: (s["start"], s["end"]))
    source = clip["views"][next(iter(clip["views"]))]["_id"] if clip.get("views") else clip["_id"]
    doc = dataset._sample_collection.find_one({"_id": source}, {"suggestion": 1}) or {}
    sug = doc.get("suggestion")
    action = kg_action(dataset, clip)
    return {
        "sample_id": str(clip["_id"]), "video_id": clip["video_id"], "view": clip.get("view"),
        "exercise": clip.get("exercise"), "num_frames": clip.get("num_frames"), "annotator": who,
        "views": {v: str(c["_id"]) for v, c in (clip.get("views") or {}).items()},
        "criteria": crits,
        "score": None if quality is None else {"value": quality["value"], **_prov(quality)},
        "repetitions": [{"id": s["id"], "start": s["start"], "end": s["end"], **_prov(s)}
                        for s in segs if s["kind"] == "repetition"],
        "states": [{"id": s["id"], "label": s["label"], "start": s["start"], "end": s["end"], **_prov(s)}
                   for s in segs if s["kind"] == "state"],
        "penalties": [{"id": p["id"], "error_type": p["error_type"], "keystep": p.get("keystep"),
                       "points": p.get("points"), "start": p.get("start"), "end": p.get("end"), **_prov(p)}
                      for p in labels["penalties"]],
        "suggestion": None if not sug else {"counter": sug.get("counter"), "reps": sug.get("reps") or []},
        "error_types": [{"id": e["id"], "name": e.get("name"), "points": e.get("points")}
                        for e in (action or {}).get("error_types", [])],
    }


def safe_panel_state(dataset, sample_id, who: str | None = None) -> dict[str, Any] | None:
    try:
        return panel_state(dataset, sample_id, who)
    except GymdataError:
        return None
