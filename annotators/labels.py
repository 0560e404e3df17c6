"""The labels of one clip as annotators edit them: a base, an append-only edit log, and a fold.

This module is pure Python (no FiftyOne, no store I/O), so the rules that the App plugin, ``push``
and ``pull`` share are written and tested once.

* A clip's **labels** are a JSON-able dict (:func:`empty_labels`)::

    {"criteria":  {name: {"verdict": "pass"|"fail"|"unsure", "view", "value", <provenance>}},
     "scores":    {name: {"value", "scale_min", "scale_max", <provenance>}},
     "segments":  [{"id", "kind", "label", "start", "end", <provenance>}],    # frames 0-based, inclusive
     "penalties": [{"id", "keystep", "error_type", "points", "feedback", "start", "end", <provenance>}]}

  where ``<provenance>`` is ``origin``, ``annotator`` and ``at`` (ISO 8601 UTC). A/R states are
  segments of kind ``state`` (labels ``A``/``R``).
* The **base** is what the store held when the clip was pushed (:func:`labels_from_rows`).
* An **edit** is a dict with ``id`` (a stable uuid), ``op``, ``annotator``, ``at``, ``origin`` and the
  op's payload (:func:`make_edit` lists the ops). Edits are only ever appended.
* The **current labels** are ``fold(base, edits)`` (:func:`fold`): every reader computes them the same
  way, so the App, a pull and a re-push agree.
* A pull turns each edit into store rows (:func:`rows_for_edit`): a criterion or score edit writes
  one row; an edit of segments or penalties writes the complete set of that clip (and kind) after
  the edit, so "the latest snapshot" is the current value (see :mod:`annotators.history`).
"""

from __future__ import annotations

import copy
import datetime as dt
import getpass
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gymdata.errors import GymdataError

VERDICTS = ("pass", "fail", "unsure")
STATE_LABELS = ("A", "R")
#: The score annotators set in the App, on a 0-100 scale.
QUALITY = "quality"
QUALITY_SCALE = (0.0, 100.0)
OPS = ("criterion", "score", "segment", "segment_delete", "state", "penalty", "penalty_delete")
_SEGMENT_OPS = ("segment", "segment_delete", "state")
_PENALTY_OPS = ("penalty", "penalty_delete")


class EditError(GymdataError):
    """An edit cannot be applied: a value out of range, an unknown segment, a bad frame range."""

    exit_code = 2


def default_annotator() -> str:
    """The annotator name when none is given: ``$GYMDATA_ANNOTATOR``, else the OS user."""
    name = os.environ.get("GYMDATA_ANNOTATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def now_iso() -> str:
    """The current UTC time as ISO 8601 with microseconds (the store's timestamp precision)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def parse_time(text: str | dt.datetime | None) -> dt.datetime | None:
    """An ISO string (or datetime) as an aware UTC datetime."""
    if text is None:
        return None
    value = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def new_id() -> str:
    """A 24-hex-digit id: it doubles as a FiftyOne label id (an ObjectId), so the App can select it."""
    return uuid.uuid4().hex[:24]


def verdict_of(passed: bool | None) -> str:
    """pass / fail / unsure for the store's ``passed`` column (True / False / null)."""
    return "unsure" if passed is None else ("pass" if passed else "fail")


def passed_of(verdict: str) -> bool | None:
    """The store's ``passed`` value for a verdict."""
    return {"pass": True, "fail": False, "unsure": None}[verdict]


def empty_labels() -> dict[str, Any]:
    return {"criteria": {}, "scores": {}, "segments": [], "penalties": []}


# -- the base, from store rows ---------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """None for NaN/NA, plain Python numbers for numpy scalars."""
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):  # pandas NA refuses comparisons
        return None
    return value.item() if hasattr(value, "item") else value


def _prov(row: Mapping[str, Any]) -> dict[str, Any]:
    at = _clean(row.get("created_at"))
    return {"origin": row.get("origin") or "imported", "annotator": _clean(row.get("annotator")),
            "at": parse_time(at).isoformat(timespec="microseconds") if at is not None else None}


def labels_from_rows(criteria: Iterable[Mapping] = (), scores: Iterable[Mapping] = (),
                     segments: Iterable[Mapping] = (), penalties: Iterable[Mapping] = (),
                     keep_ids: Sequence[Mapping] = ()) -> dict[str, Any]:
    """Build one clip's labels from its *current* store rows (see :func:`annotators.history.current_labels`).

    Args:
        criteria, scores, segments, penalties: Row dicts of the clip, in the store's columns.
        keep_ids: Segments or penalties from an earlier push whose ids are reused when a row has
            the same content, so edits that refer to them still apply.
    """
    out = empty_labels()
    for r in criteria:
        out["criteria"][r["criterion"]] = {"verdict": verdict_of(_clean(r.get("passed"))),
                                           "view": _clean(r.get("view")), "value": _clean(r.get("value")), **_prov(r)}
    for r in scores:
        out["scores"][r["name"]] = {"value": float(r["value"]), "scale_min": float(r["scale_min"]),
                                    "scale_max": float(r["scale_max"]), **_prov(r)}
    reuse: dict[tuple, list[str]] = {}
    for old in keep_ids:
        reuse.setdefault(_content_key(old), []).append(old["id"])
    for r in sorted(segments, key=lambda r: (r["kind"], int(r["start_frame"]), int(r["end_frame"]))):
        seg = {"kind": r["kind"], "label": r["label"], "start": int(r["start_frame"]), "end": int(r["end_frame"])}
        ids = reuse.get(_content_key(seg))
        out["segments"].append({"id": ids.pop(0) if ids else new_id(), **seg, **_prov(r)})
    for r in penalties:
        pen = {"keystep": _clean(r.get("keystep")), "error_type": r["error_type"], "points": _clean(r.get("points")),
               "feedback": _clean(r.get("feedback")), "start": _clean(r.get("start_frame")),
               "end": _clean(r.get("end_frame"))}
        pen["start"] = None if pen["start"] is None else int(pen["start"])
        pen["end"] = None if pen["end"] is None else int(pen["end"])
        ids = reuse.get(_content_key(pen))
        out["penalties"].append({"id": ids.pop(0) if ids else new_id(), **pen, **_prov(r)})
    return out


def _content_key(item: Mapping[str, Any]) -> tuple:
    if "kind" in item:
        return ("segment", item["kind"], item["label"], item["start"], item["end"])
    return ("penalty", item.get("keystep"), item.get("error_type"), item.get("points"), item.get("start"),
            item.get("end"))


# -- edits -----------------------------------------------------------------------------------------


def make_edit(op: str, annotator: str | None = None, *, origin: str = "human", at: str | None = None,
              **payload: Any) -> dict[str, Any]:
    """A new edit (not yet checked against a clip: see :func:`check_edit`).

    Ops and their payloads:
        * ``criterion``: ``name``, ``verdict`` (pass/fail/unsure), optional ``view``;
        * ``score``: ``name`` (default ``quality``), ``value``;
        * ``segment``: ``segment`` (its id: new = add, existing = adjust), ``kind``, ``label``, ``start``, ``end``;
        * ``segment_delete``: ``segment`` (its id);
        * ``state``: ``label`` (A, R, or None to clear), ``start``, ``end``: overwrite that frame range;
        * ``penalty``: ``penalty`` (its id), ``keystep``, ``error_type``, ``points``, ``feedback``, optional
          ``start``/``end``;
        * ``penalty_delete``: ``penalty`` (its id).

    Frames are 0-based and inclusive, as in the store.
    """
    if op not in OPS:
        raise EditError(f"unknown edit {op!r}", hint=f"edits: {', '.join(OPS)}")
    annotator = (annotator or "").strip() or default_annotator()
    edit = {"id": uuid.uuid4().hex, "op": op, "annotator": annotator, "origin": origin, "at": at or now_iso()}
    if op in ("segment", "penalty") and not payload.get(op):
        payload[op] = new_id()
    if op == "score":
        payload.setdefault("name", QUALITY)
    edit.update(payload)
    return edit


def _frame_range(edit: Mapping, num_frames: int | None, *, optional: bool = False) -> tuple[int | None, int | None]:
    start, end = edit.get("start"), edit.get("end")
    if start is None and end is None and optional:
        return None, None
    if start is None or end is None:
        raise EditError(f"{edit['op']}: both start and end frames are needed")
    try:
        start, end = int(start), int(end)
    except (TypeError, ValueError):
        raise EditError(f"{edit['op']}: frames must be whole numbers, got {start!r}..{end!r}") from None
    if start < 0 or start > end:
        raise EditError(f"{edit['op']}: frames {start}..{end} are not a range (start <= end, from frame 0)")
    if num_frames is not None and end >= num_frames:
        raise EditError(f"{edit['op']}: frame {end} is past the clip's last frame ({num_frames - 1})")
    return start, end


def check_edit(labels: Mapping[str, Any], edit: dict[str, Any], *, num_frames: int | None = None,
               criteria: Sequence[str] | None = None) -> dict[str, Any]:
    """Validate an edit against a clip's current labels; returns it with values normalised.

    Args:
        labels: The clip's current labels.
        edit: From :func:`make_edit`.
        num_frames: The clip's frame count (frame ranges must lie inside it).
        criteria: The criteria of the clip's exercise; a criterion edit must name one of them.

    Raises:
        EditError: With a message an annotator can act on.
    """
    op = edit["op"]
    if not str(edit.get("annotator") or "").strip():
        raise EditError("an edit needs an annotator name")
    if op == "criterion":
        if edit.get("verdict") not in VERDICTS:
            raise EditError(f"verdict {edit.get('verdict')!r} is not one of {', '.join(VERDICTS)}")
        if criteria is not None and edit.get("name") not in criteria:
            raise EditError(f"{edit.get('name')!r} is not a criterion of this clip's exercise",
                            hint=f"criteria: {', '.join(criteria) or 'none'}")
    elif op == "score":
        old = labels["scores"].get(edit["name"], {})
        lo, hi = (old["scale_min"], old["scale_max"]) if old else QUALITY_SCALE
        try:
            value = float(edit.get("value"))
        except (TypeError, ValueError):
            raise EditError(f"score {edit.get('value')!r} is not a number") from None
        if not lo <= value <= hi:
            raise EditError(f"score {value:g} is outside {lo:g}-{hi:g}",
                            hint=f"give a {edit['name']} score from {lo:g} to {hi:g}")
        edit["value"], edit["scale_min"], edit["scale_max"] = value, lo, hi
    elif op == "segment":
        edit["start"], edit["end"] = _frame_range(edit, num_frames)
        if edit.get("kind") not in ("repetition", "phase"):
            raise EditError(f"segment kind {edit.get('kind')!r} cannot be edited as a segment",
                            hint="use kind repetition or phase; mark A/R states with a state edit")
        edit["label"] = str(edit.get("label") or ("rep" if edit["kind"] == "repetition" else "")).strip()
        if not edit["label"]:
            raise EditError("a phase segment needs a label")
    elif op == "segment_delete":
        if not any(s["id"] == edit.get("segment") for s in labels["segments"]):
            raise EditError(f"no segment {edit.get('segment')!r} in this clip (already deleted?)")
    elif op == "state":
        edit["start"], edit["end"] = _frame_range(edit, num_frames)
        if edit.get("label") not in (*STATE_LABELS, None):
            raise EditError(f"state {edit.get('label')!r} is not A, R or none")
    elif op == "penalty":
        if not str(edit.get("error_type") or "").strip():
            raise EditError("a penalty needs an error type")
        edit["start"], edit["end"] = _frame_range(edit, num_frames, optional=True)
        if edit.get("points") is not None:
            try:
                edit["points"] = float(edit["points"])
            except (TypeError, ValueError):
                raise EditError(f"penalty points {edit['points']!r} is not a number") from None
            if edit["points"] < 0:
                raise EditError("penalty points cannot be negative (they are deducted)")
    elif op == "penalty_delete":
        if not any(p["id"] == edit.get("penalty") for p in labels["penalties"]):
            raise EditError(f"no penalty {edit.get('penalty')!r} in this clip (already deleted?)")
    return edit


def is_noop(labels: Mapping[str, Any], edit: Mapping[str, Any]) -> bool:
    """Whether an edit would change nothing *and* repeats its own annotator's current value.

    The App can deliver one click twice; such repeats are dropped. Confirming another annotator's
    verdict is not a no-op: it records this annotator's opinion.
    """
    op, who = edit["op"], edit["annotator"]
    if op == "criterion":
        cur = labels["criteria"].get(edit["name"])
        return bool(cur) and cur["annotator"] == who and cur["verdict"] == edit["verdict"]
    if op == "score":
        cur = labels["scores"].get(edit["name"])
        return bool(cur) and cur["annotator"] == who and cur["value"] == float(edit["value"])
    if op == "segment":
        return any(s["id"] == edit["segment"] and s["start"] == edit["start"] and s["end"] == edit["end"]
                   and s["label"] == edit["label"] for s in labels["segments"]) or any(
            s["id"] != edit["segment"] and s["kind"] == edit["kind"] and s["label"] == edit["label"]
            and s["start"] == edit["start"] and s["end"] == edit["end"] for s in labels["segments"])
    if op == "penalty":
        return any(p["id"] == edit["penalty"] for p in labels["penalties"])
    return False


def _prov_of(edit: Mapping[str, Any]) -> dict[str, Any]:
    return {"origin": edit.get("origin", "human"), "annotator": edit["annotator"], "at": edit["at"]}


def state_runs(segments: Sequence[Mapping]) -> list[dict]:
    """The ``state`` segments, sorted by start (they never overlap)."""
    runs = [s for s in segments if s["kind"] == "state"]
    return sorted(runs, key=lambda s: s["start"])


def _overwrite_states(segments: list[dict], edit: Mapping[str, Any]) -> list[dict]:
    """Cut [start, end] out of the state runs and put the edit's label there (None clears)."""
    start, end = edit["start"], edit["end"]
    out = [s for s in segments if s["kind"] != "state"]
    for s in state_runs(segments):
        if s["end"] < start or s["start"] > end:
            out.append(s)
            continue
        if s["start"] < start:
            out.append({**s, "id": new_id(), "end": start - 1})
        if s["end"] > end:
            out.append({**s, "id": new_id(), "start": end + 1})
    if edit.get("label") is not None:
        out.append({"id": new_id(), "kind": "state", "label": edit["label"], "start": start, "end": end,
                    **_prov_of(edit)})
    # merge touching runs of the same label and author, so marking frame by frame stays compact
    merged: list[dict] = []
    for s in sorted(out, key=lambda s: (s["kind"] != "state", s["start"] if s["kind"] == "state" else 0)):
        prev = merged[-1] if merged else None
        if (s["kind"] == "state" and prev is not None and prev["kind"] == "state" and prev["label"] == s["label"]
                and prev["end"] + 1 == s["start"] and prev.get("annotator") == s.get("annotator")):
            prev["end"] = s["end"]
        else:
            merged.append(dict(s))
    return merged


def apply_edit(labels: dict[str, Any], edit: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one edit in place and return ``labels``.

    Edits that refer to a segment or penalty that no longer exists change nothing (a re-push may
    have replaced it).
    """
    op = edit["op"]
    if op == "criterion":
        old = labels["criteria"].get(edit["name"], {})
        labels["criteria"][edit["name"]] = {"verdict": edit["verdict"], "view": edit.get("view", old.get("view")),
                                            "value": None, **_prov_of(edit)}
    elif op == "score":
        labels["scores"][edit["name"]] = {"value": float(edit["value"]), "scale_min": edit["scale_min"],
                                          "scale_max": edit["scale_max"], **_prov_of(edit)}
    elif op == "segment":
        seg = {"id": edit["segment"], "kind": edit["kind"], "label": edit["label"], "start": edit["start"],
               "end": edit["end"], **_prov_of(edit)}
        segs = [s for s in labels["segments"] if s["id"] != edit["segment"]]
        labels["segments"] = sorted([*segs, seg], key=lambda s: (s["kind"], s["start"], s["end"]))
    elif op == "segment_delete":
        labels["segments"] = [s for s in labels["segments"] if s["id"] != edit["segment"]]
    elif op == "state":
        labels["segments"] = _overwrite_states(labels["segments"], edit)
    elif op == "penalty":
        pen = {"id": edit["penalty"], **{k: edit.get(k) for k in ("keystep", "error_type", "points", "feedback",
                                                                  "start", "end")}}
        labels["penalties"] = [p for p in labels["penalties"] if p["id"] != pen["id"]] + [{**pen, **_prov_of(edit)}]
    elif op == "penalty_delete":
        labels["penalties"] = [p for p in labels["penalties"] if p["id"] != edit["penalty"]]
    return labels


def fold(base: Mapping[str, Any], edits: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The current labels: ``base`` with ``edits`` applied in order (``base`` is not modified)."""
    labels = copy.deepcopy(dict(base)) if base else empty_labels()
    for key, value in empty_labels().items():
        labels.setdefault(key, value)
    for edit in edits:
        apply_edit(labels, edit)
    return labels


# -- store rows ------------------------------------------------------------------------------------


def _row_prov(edit: Mapping[str, Any]) -> dict[str, Any]:
    return {"origin": edit.get("origin", "human"), "annotator": edit["annotator"], "created_at": parse_time(edit["at"])}


def touched(edit: Mapping[str, Any]) -> tuple[str, str | None]:
    """(table, key) an edit changes: the criterion, score name, segment kind, or None for penalties."""
    op = edit["op"]
    if op == "criterion":
        return "criteria", edit["name"]
    if op == "score":
        return "scores", edit["name"]
    if op == "state":
        return "segments", "state"
    if op in _SEGMENT_OPS:
        return "segments", edit.get("kind")
    return "penalties", None


def rows_for_edit(video_id: str, edit: Mapping[str, Any], before: Mapping[str, Any],
                  after: Mapping[str, Any]) -> tuple[str, str | None, list[dict]]:
    """The store rows that record one edit: ``(table, key, rows)``.

    Criterion and score edits give one row. Segment edits give every segment of the edited kind
    after the edit, and penalty edits every penalty of the clip: a snapshot, possibly empty (the
    pull's edit log records empty snapshots; see :mod:`annotators.history`).
    """
    prov = _row_prov(edit)
    op = edit["op"]
    if op == "criterion":
        c = after["criteria"][edit["name"]]
        return "criteria", edit["name"], [{"video_id": video_id, "criterion": edit["name"], "view": c.get("view"),
                                           "value": None, "passed": passed_of(c["verdict"]), **prov}]
    if op == "score":
        s = after["scores"][edit["name"]]
        return "scores", edit["name"], [{"video_id": video_id, "name": edit["name"], "value": s["value"],
                                         "scale_min": s["scale_min"], "scale_max": s["scale_max"], **prov}]
    if op in _SEGMENT_OPS:
        if op == "segment_delete":
            kind = next((s["kind"] for s in before["segments"] if s["id"] == edit["segment"]), "repetition")
        else:
            kind = "state" if op == "state" else edit["kind"]
        rows = [{"video_id": video_id, "kind": kind, "label": s["label"], "start_frame": s["start"],
                 "end_frame": s["end"], **prov} for s in after["segments"] if s["kind"] == kind]
        return "segments", kind, rows
    rows = [{"video_id": video_id, "keystep": p.get("keystep"), "error_type": p["error_type"],
             "points": p.get("points"), "feedback": p.get("feedback"), "start_frame": p.get("start"),
             "end_frame": p.get("end"), **prov}
            for p in after["penalties"]]
    return "penalties", None, rows


def describe_edit(edit: Mapping[str, Any]) -> str:
    """One line for the history table (frames as the App's player and the store count them, from 0)."""
    op = edit["op"]
    if op == "criterion":
        return f"{edit['name']}: {edit['verdict']}"
    if op == "score":
        return f"{edit['name']} score = {float(edit['value']):g}"
    if op == "segment":
        return f"{edit['kind']} {edit['label']} frames {edit['start']}-{edit['end']}"
    if op == "segment_delete":
        return f"deleted segment {edit['segment'][:8]}"
    if op == "state":
        return f"state {edit.get('label') or 'cleared'} frames {edit['start']}-{edit['end']}"
    if op == "penalty":
        where = f" frames {edit['start']}-{edit['end']}" if edit.get("start") is not None else ""
        pts = f" -{edit['points']:g}" if edit.get("points") is not None else ""
        return f"penalty {edit.get('keystep') or '-'}/{edit['error_type']}{pts}{where}"
    return f"deleted penalty {edit['penalty'][:8]}"
