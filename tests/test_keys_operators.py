"""The operators the "Gym keys" panel calls, run headlessly on a two-view take: what the panel reads,
passing the criteria left, moving a penalty, accepting suggestions, and the shared edit builders."""

from __future__ import annotations

import pytest

from annotators import editing as E
from annotators import labels as L
from annotators import takes
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)

OP = "@gymdata/annotate/"


@pytest.fixture
def take(fo_db, tmp_path):
    """One take pushed with the plugin installed: (FiftyOne dataset, take sample id)."""
    from annotators.app import install_plugin

    install_plugin(tmp_path / "plugins")
    make_store(tmp_path, takes=1, frames=48)
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    return dataset, dataset.select_group_slices(takes.TAKE_SLICE).first().id


def run(dataset, name: str, sid: str, **params):
    from fiftyone.operators import execute_operator

    result = execute_operator(OP + name, ctx={"dataset": dataset, "current_sample": sid, "params": params})
    result.raise_exceptions()
    return result.result


def _logs(dataset) -> int:
    return sum(len(d.get("gymdata_log") or []) for d in dataset._sample_collection.find({}, {"gymdata_log": 1}))


def test_reading_a_take_records_nothing_and_shows_both_views(take):
    dataset, tid = take
    state = run(dataset, "panel_state", tid, annotator="ana")["state"]
    assert state["view"] == "take" and set(state["views"]) == {"frontal", "lateral"}
    assert [(c["name"], c["view"]) for c in state["criteria"]] == [
        ("Knees over toes F", "frontal"), ("Hips back L", "lateral"), ("Depth L", "lateral")]
    assert all(c["annotator"] == "test:1" and c["origin"] == "imported" for c in state["criteria"])
    assert [(r["start"], r["end"]) for r in state["repetitions"]] == [(2, 10), (12, 20)]
    assert state["num_frames"] == 48 and state["suggestion"] is None
    assert _logs(dataset) == 0


def test_keys_operators_edit_both_views_with_the_annotator(take):
    dataset, tid = take
    out = run(dataset, "pass_remaining", tid, annotator="ana", with_state=True)
    assert len(out["applied"]) == 3 and all(c["annotator"] == "ana" for c in out["state"]["criteria"])
    assert run(dataset, "pass_remaining", tid, annotator="ana")["applied"] == []  # nothing left to pass
    assert len(run(dataset, "pass_remaining", tid, annotator="ben", view="frontal")["applied"]) == 1

    out = run(dataset, "accept_suggestions", tid, annotator="ana", with_state=True)  # asks the counter first
    reps = out["state"]["repetitions"]
    assert len(reps) >= 3 and all(r["annotator"] == "ana" for r in reps)
    assert {s["label"] for s in out["state"]["states"]} == {"A", "R"}

    run(dataset, "add_penalty", tid, annotator="ana", error_type="knees_in", start_frame=reps[0]["start"],
        end_frame=reps[0]["end"])
    pen = run(dataset, "panel_state", tid)["state"]["penalties"][0]
    out = run(dataset, "move_penalty", tid, annotator="ben", penalty=pen["id"], start_frame=5, end_frame=9,
              with_state=True)
    moved = out["state"]["penalties"]
    assert [(p["error_type"], p["start"], p["end"], p["annotator"]) for p in moved] == [("knees_in", 5, 9, "ben")]

    pull("clips")
    pens = store.open_dataset("clips").df("penalties", filter={"origin": "human"})
    last = pens[pens["created_at"] == pens["created_at"].max()]
    assert sorted(last["video_id"]) == ["s0_frontal", "s0_lateral"]
    assert set(zip(last["start_frame"], last["end_frame"], last["annotator"])) == {(5, 9, "ben")}


def test_one_builder_per_kind_checks_penalties_against_the_knowledge_graph(take, monkeypatch):
    dataset, tid = take
    clip = E.read(dataset, tid)
    graph = [{"id": "squat", "exercise": "squat", "keysteps": [{"id": "descent"}],
              "error_types": [{"id": "knees_in", "keystep": "descent", "points": 2.0, "feedback": "knees out"}]}]
    monkeypatch.setattr(E.foapi, "gymdata_info", lambda ds: {"knowledge_graph": graph})
    edit = E.penalty(dataset, clip, "ana", error_type="knees_in")
    assert (edit["keystep"], edit["points"], edit["feedback"]) == ("descent", 2.0, "knees out")
    with pytest.raises(L.EditError, match="not in the knowledge graph"):
        E.penalty(dataset, clip, "ana", error_type="heels_up")
    with pytest.raises(L.EditError, match="is missing"):
        E.score("ana", "")
    assert E.criterion(clip, "ana", "Depth L", "fail")["view"] == "lateral"  # a take's criterion keeps its view
