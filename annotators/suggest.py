"""Suggestions: repetitions and A/R states pre-labelled by the repetition counter.

The counter is gymdata's label-free periodic counter, imported from ``baselines.counting``
(:class:`baselines.counting.PeriodicCounter`: ``count(landmarks (T, 33, >=2), fps, width=, height=)``
returns a result whose ``reps`` are ``(start, end)`` frames and ``states`` are ``(start, end, label)``
runs, 0-based and inclusive). It reads the poses already in the FiftyOne dataset, so the App needs
no access to the store. When ``baselines`` is not installed, :func:`load_counter` says so.

Suggestions are written to ``suggested_repetitions`` (``TemporalDetections``), the frame field
``suggested_state`` and the ``suggestion`` dict; they are not labels. Accepting them
(:func:`accept_edits`) turns them into ordinary edits by the accepting annotator, which replace the
clip's repetitions and states; correcting them afterwards is ordinary editing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from annotators import foapi
from annotators import labels as L
from gymdata.errors import GymdataError

COUNTER_MODULE = "baselines.counting"


def load_counter():
    """The repetition counter.

    Raises:
        GymdataError: If no counter is installed.
    """
    try:
        from baselines.counting import PeriodicCounter
    except ImportError as exc:
        raise GymdataError(f"no repetition counter installed ({COUNTER_MODULE} cannot be imported: {exc})",
                           hint="install gymdata with its baselines package to get suggestions") from None
    return PeriodicCounter()


def clip_landmarks(dataset, sample_oid, num_frames: int) -> np.ndarray:
    """``(num_frames, 33, 2)`` pose points of a sample from its frames (zeros where no person)."""
    out = np.zeros((num_frames, len(foapi.LANDMARK_NAMES), 2), np.float32)
    has_pose = {"_sample_id": sample_oid, f"{foapi.POSE_FIELD}.keypoints.0": {"$exists": True}}
    cursor = dataset._frame_collection.find(has_pose, {"frame_number": 1, f"{foapi.POSE_FIELD}.keypoints.points": 1})
    for doc in cursor:
        f = doc["frame_number"] - 1
        if 0 <= f < num_frames:
            pts = np.asarray(doc[foapi.POSE_FIELD]["keypoints"][0]["points"], np.float32)
            out[f] = np.nan_to_num(pts, nan=0.0)
    return out


def suggest(dataset, sample_id) -> dict[str, Any]:
    """Run the counter on one sample and store its suggestion; returns the suggestion dict.

    Raises:
        GymdataError: If no counter is installed or the sample is not a gymdata clip.
    """
    from pymongo import UpdateMany

    counter = load_counter()
    doc = foapi.read_clip(dataset, sample_id)
    meta = dataset._sample_collection.find_one({"_id": doc["_id"]}, {"metadata": 1})["metadata"] or {}
    n = int(doc.get("num_frames") or 0)
    result = counter.count(clip_landmarks(dataset, doc["_id"], n), meta.get("frame_rate"),
                           width=meta.get("frame_width"), height=meta.get("frame_height"))
    name = getattr(result, "counter", None) or type(counter).__name__
    at = L.now_iso()
    reps = [[int(a), int(b)] for a, b in result.reps]
    states = [[int(a), int(b), str(lab)] for a, b, lab in result.states]
    segs = [{"id": L.new_id(), "kind": "repetition", "label": "rep", "start": a, "end": b, "origin": "model",
             "annotator": name, "at": at} for a, b in reps]
    suggestion = {"counter": name, "at": at, "count": len(reps), "reps": reps, "states": states,
                  "reason": getattr(result, "reason", None),
                  # how sure the counter is (autocorrelation at its period): the queue's last criterion
                  "periodicity": None if getattr(result, "periodicity", None) is None else float(result.periodicity)}
    detections = foapi.temporal_detections(doc["video_id"], segs, "repetition")
    dataset._sample_collection.update_one({"_id": doc["_id"]}, {"$set": {
        "suggestion": suggestion, "suggested_repetitions": detections,
        "last_modified_at": dt.datetime.now(dt.timezone.utc)}})
    field = foapi.SUGGESTED_STATE_FIELD
    ops = [UpdateMany({"_sample_id": doc["_id"]}, {"$set": {field: None}})]
    ops += [UpdateMany({"_sample_id": doc["_id"], "frame_number": {"$gte": a + 1, "$lte": b + 1}},
                       {"$set": {field: foapi.state_doc({"label": lab, "annotator": name, "origin": "model"},
                                                        L.new_id())}})
            for a, b, lab in states]
    dataset._frame_collection.bulk_write(ops, ordered=True)
    return suggestion


def accept_edits(labels: dict[str, Any], suggestion: dict[str, Any] | None, annotator: str) -> list[dict]:
    """Edits that make a clip's repetitions and states those of the suggestion.

    Raises:
        GymdataError: If the clip has no suggestion yet.
    """
    if not suggestion:
        raise GymdataError("this clip has no suggestion yet", hint="ask for suggestions first")
    source = f"suggestion:{suggestion['counter']}"
    edits = [L.make_edit("segment_delete", annotator, segment=s["id"], source=source)
             for s in labels["segments"] if s["kind"] == "repetition"]
    edits += [L.make_edit("segment", annotator, kind="repetition", label="rep", start=a, end=b, source=source)
              for a, b in suggestion["reps"]]
    edits += [L.make_edit("state", annotator, label=lab, start=a, end=b, source=source)
              for a, b, lab in suggestion["states"]]
    return edits
