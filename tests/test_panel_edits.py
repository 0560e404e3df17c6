"""The "Gym labels" panel records only deliberate edits: driven headlessly, exactly as the App calls it.

:class:`PanelSim` plays the App's side of the panel protocol (``__method__``, ``panel_state``, the
state patches the panel sends back) and, like the App at its worst, fires a change event for every
value the panel sets while loading a clip, and delivers a late event of the previous clip after
navigating. Opening, navigating, switching views and reloading must then record nothing.
"""

from __future__ import annotations

import pytest

from annotators import foapi
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)

PANEL = "@gymdata/annotate/gym_labels"


def _merge(into: dict, patch: dict) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


class PanelSim:
    """One App session's panel: its state lives here, between calls, as it does in the browser."""

    def __init__(self, dataset, annotator: str):
        self.dataset, self.state, self.current = dataset, {"annotator": annotator}, None
        self.echoes = 0

    def call(self, method: str, **params) -> dict:
        """Run a panel method; apply the state it sends back; return that patch."""
        from fiftyone.operators import execute_operator

        result = execute_operator(PANEL, ctx={"dataset": self.dataset, "current_sample": self.current, "params": {
            "panel_id": "gym-labels-1", "panel_state": self.state, "__method__": method, **params}})
        result.raise_exceptions()
        patch: dict = {}
        for req in result.executor.to_json()["requests"]:
            if req["operator_uri"].endswith("patch_panel_state"):
                _merge(patch, req["params"]["state"])
            elif req["operator_uri"].endswith("clear_panel_state"):
                self.state.clear()
        _merge(self.state, patch)
        return patch

    def echo(self, patch: dict, prefix: str = "") -> None:
        """Fire a change event for every value of a patch, as the App does for values set by the panel."""
        for key, value in patch.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                self.echo(value, path + ".")
            elif value is not None and key != "message":
                self.echoes += 1
                self.call("on_criterion" if key.startswith("crit_") else "on_pick", path=path, value=value)

    def open(self, sample_id: str, *, first: bool = False) -> None:
        previous = self.state.copy()
        self.current = sample_id
        self.echo(self.call("on_load" if first else "on_change_current_sample"))
        # a late change event of the previous clip's form, delivered after navigation
        for key, value in previous.items():
            if key.startswith("crit_") and value:
                self.echoes += 1
                self.call("on_criterion", path=key, value=value)

    def form_key(self, name: str, sample_id: str) -> str:
        return f"{name}__{sample_id}"


@pytest.fixture
def ten_clips(fo_db, tmp_path):
    """Five takes x two views pushed, with another annotator's verdicts on every clip."""
    from annotators.app import install_plugin

    install_plugin(tmp_path / "plugins")
    make_store(tmp_path, takes=5)
    push("clips", progress=False)
    dataset = fo_db.load_dataset("clips")
    ids = {s.video_id: s.id for s in dataset.select_group_slices(["frontal", "lateral"])}  # not the take slice
    from annotators import labels as L

    for vid, sid in ids.items():
        names = foapi.exercise_criteria(dataset, "squat", vid.split("_")[1])
        foapi.apply_edits(dataset, sid, [L.make_edit("criterion", "bob", name=n, verdict="fail") for n in names])
    pull("clips")
    return dataset, ids


def _human_rows() -> int:
    ds = store.open_dataset("clips")
    return sum(len(ds.df(t, filter={"origin": "human"})) for t in ("criteria", "scores", "segments", "penalties")
               if ds.has(t))


def test_opening_navigating_switching_reloading_records_nothing(ten_clips):
    dataset, ids = ten_clips
    before = _human_rows()
    logs = {sid: len(dataset._sample_collection.find_one({"_id": foapi._oid(sid)})["gymdata_log"])
            for sid in ids.values()}
    sim = PanelSim(dataset, "ada")
    order = sorted(ids)  # s0_frontal, s0_lateral, s1_frontal, ...
    sim.open(ids[order[0]], first=True)
    for vid in order[1:]:
        sim.open(ids[vid])
    for vid in reversed(order):  # and back
        sim.open(ids[vid])
    # switch to the lateral view of a take inside the panel, then back
    frontal = ids["s2_frontal"]
    sim.open(frontal)
    group = str(dataset._sample_collection.find_one({"_id": foapi._oid(frontal)})["group"]["_id"])
    for view in ("lateral", "frontal", "lateral"):
        sim.state[f"view__{group}"] = view
        sim.echo(sim.call("on_view", path=f"view__{group}", value=view))
    sim.echo(sim.call("on_load"))  # a reload of the page
    sim2 = PanelSim(dataset, "ada")  # a new browser tab: state from scratch
    sim2.open(ids["s2_lateral"], first=True)
    assert sim.echoes > 40  # the echoes really were delivered
    after = {sid: len(dataset._sample_collection.find_one({"_id": foapi._oid(sid)})["gymdata_log"])
             for sid in ids.values()}
    assert after == logs
    report = pull("clips")
    assert report.edits == 0 and _human_rows() == before


def test_panel_shows_only_the_current_clip_and_clicks_record(ten_clips):
    dataset, ids = ten_clips
    sim = PanelSim(dataset, "ada")
    a, b = ids["s0_lateral"], ids["s1_lateral"]
    sim.open(a, first=True)
    key_a = sim.form_key("crit_0", a)
    assert sim.state[key_a] == "fail"  # bob's verdict, shown as the current label
    sim.state[key_a] = "pass"
    sim.call("on_criterion", path=key_a, value="pass")  # a click
    sim.state[sim.form_key("score_row", a)] = {"score": 77}
    sim.call("on_score")
    sim.open(b)
    # the new clip's form holds its own labels only: nothing of clip a's form is read for clip b
    assert sim.state[sim.form_key("crit_0", b)] == "fail"
    assert sim.state[sim.form_key("score_row", b)] == {"score": 61.0}
    sim.call("on_criterion", path=sim.form_key("crit_0", b), value="unsure")
    log_a = dataset._sample_collection.find_one({"_id": foapi._oid(a)})["gymdata_log"]
    log_b = dataset._sample_collection.find_one({"_id": foapi._oid(b)})["gymdata_log"]
    assert [(e["op"], e["annotator"], e.get("verdict", e.get("value"))) for e in log_a[-2:]] == [
        ("criterion", "ada", "pass"), ("score", "ada", 77)]
    assert [(e["op"], e["annotator"], e.get("verdict")) for e in log_b[-1:]] == [("criterion", "ada", "unsure")]
    # the label shown names its author
    patch = sim.call("on_load")
    assert patch[sim.form_key("crit_0", b)] == "unsure"


def test_an_edit_made_on_the_lateral_view_lands_on_lateral(ten_clips):
    dataset, ids = ten_clips
    sim = PanelSim(dataset, "ada")
    frontal, lateral = ids["s3_frontal"], ids["s3_lateral"]
    sim.open(frontal, first=True)
    group = str(dataset._sample_collection.find_one({"_id": foapi._oid(frontal)})["group"]["_id"])
    sim.state[f"view__{group}"] = "lateral"
    sim.echo(sim.call("on_view", path=f"view__{group}", value="lateral"))
    key = sim.form_key("crit_1", lateral)
    assert key in sim.state  # the form drawn is the lateral clip's (two lateral criteria)
    sim.call("on_criterion", path=key, value="pass")
    sim.state[sim.form_key("rep_add", lateral)] = {"rep_start": 3, "rep_end": 9}
    sim.call("on_add_rep")
    logs = {sid: dataset._sample_collection.find_one({"_id": foapi._oid(sid)})["gymdata_log"]
            for sid in (frontal, lateral)}
    assert [e["op"] for e in logs[lateral] if e["annotator"] == "ada"] == ["criterion", "segment"]
    assert not [e for e in logs[frontal] if e["annotator"] == "ada"]
    seg = next(e for e in logs[lateral] if e["op"] == "segment")
    assert (seg["start"], seg["end"]) == (3, 9)  # the player's numbers are the store's


def test_the_form_follows_the_view_the_app_shows(ten_clips):
    """The App's modal sample is the take's; the view its carousel (or V in Gym keys) shows is reported
    by the bundle's GymSliceFollower: the form shows and edits that view, on this take and the next,
    and keeps its own choice while the App shows the take slice. Following records nothing."""
    dataset, ids = ten_clips
    coll = dataset._sample_collection

    def take_of(vid):
        group = coll.find_one({"_id": foapi._oid(ids[vid])})["group"]["_id"]
        return str(coll.find_one({"group._id": group, "group.name": "take"})["_id"]), str(group)

    def shows(slice_, sample):  # what the bundle's GymSliceFollower reports: the modal's slice and sample
        return {"slice": slice_, "sample": ids.get(sample, sample)}

    def shown(sim):  # the clip whose form is drawn: its fields end with its id
        return {vid for vid, sid in ids.items() if any(k.endswith(sid) for k in sim.state)}

    take4, group4 = take_of("s4_frontal")
    sim = PanelSim(dataset, "ada")
    sim.open(take4, first=True)
    assert shown(sim) == {"s4_frontal"}
    sim.state[f"view__{group4}"] = "frontal"  # the radio's value, as the App keeps it
    sim.call("on_app_shown", path="app_shown", value=shows("lateral", "s4_lateral"))  # a carousel click
    assert sim.state[f"view__{group4}"] == "lateral" and "s4_lateral" in shown(sim)
    key = sim.form_key("crit_1", ids["s4_lateral"])  # the lateral clip's form (two lateral criteria)
    sim.call("on_criterion", path=key, value="pass")
    sim.state.clear()
    sim.state.update({"annotator": "ada", "app_shown": shows("lateral", "s4_lateral")})  # carried over
    take3, group3 = take_of("s3_frontal")
    sim.open(take3)  # the next take: the App still shows the lateral view
    assert sim.state[f"view__{group3}"] == "lateral" and shown(sim) == {"s3_lateral"}
    sim.call("on_app_shown", path="app_shown", value=shows("take", take3))  # both views: the form keeps its view
    assert sim.state[f"view__{group3}"] == "lateral"
    sim.call("on_app_shown", path="app_shown", value=shows("frontal", "s3_frontal"))
    assert sim.state[f"view__{group3}"] == "frontal" and "s3_frontal" in shown(sim)
    sim.call("on_criterion", path=sim.form_key("crit_0", ids["s3_frontal"]), value="unsure")
    # a panel loaded before the App told it the sample (right after a reload) shows what is reported
    late = PanelSim(dataset, "ada")
    late.call("on_load")
    assert shown(late) == set()
    late.call("on_app_shown", path="app_shown", value=shows(None, "not-a-sample-id"))
    assert shown(late) == set()
    late.call("on_app_shown", path="app_shown", value=shows("lateral", "s2_lateral"))
    assert shown(late) == {"s2_lateral"}
    mine = {vid: [(e["op"], e.get("name"), e.get("verdict")) for e in coll.find_one({"_id": foapi._oid(ids[vid])})
                  ["gymdata_log"] if e["annotator"] == "ada"] for vid in ids}
    assert {vid: log for vid, log in mine.items() if log} == {
        "s4_lateral": [("criterion", "Depth L", "pass")], "s3_frontal": [("criterion", "Knees over toes F", "unsure")]}


def test_next_clip_goes_unlabelled_then_disagreement_then_least_sure(ten_clips):
    from annotators import labels as L
    from annotators.queue import label_queue

    dataset, ids = ten_clips  # bob judged every clip (pulled)
    coll = dataset._sample_collection
    # ana labelled every clip but s4_*; ana and bob disagree on s1_lateral's two criteria and s2_frontal's one
    for vid, sid in ids.items():
        if vid.startswith("s4"):
            continue
        names = foapi.exercise_criteria(dataset, "squat", vid.split("_")[1])
        verdict = "pass" if vid in ("s1_lateral", "s2_frontal") else "fail"
        foapi.apply_edits(dataset, sid, [L.make_edit("criterion", "ana", name=n, verdict=verdict) for n in names])
    pull("clips")
    # the counter's suggestions: sure on most clips, unsure on s3_lateral, no period on s0_frontal
    for vid, sid in ids.items():
        p = {"s3_lateral": 0.2, "s0_frontal": None}.get(vid, 0.9)
        coll.update_one({"_id": foapi._oid(sid)}, {"$set": {"suggestion": {"counter": "periodic", "count": 2, "reps": [],
                                                                             "states": [], "periodicity": p}}})
    queue = label_queue(dataset, "ana")
    assert [(r["video_id"], r["tier"]) for r in queue[:6]] == [
        ("s4_frontal", "unlabelled"), ("s4_lateral", "unlabelled"), ("s1_lateral", "disagreement"),
        ("s2_frontal", "disagreement"), ("s0_frontal", "model unsure"), ("s3_lateral", "model unsure")]
    assert queue[2]["why"] == "annotators disagree on 2 item(s)"
    # the panel's button opens the next one (not the clip shown)
    sim = PanelSim(dataset, "ana")
    sim.open(ids["s4_frontal"], first=True)
    from fiftyone.operators import execute_operator

    result = execute_operator(PANEL, ctx={"dataset": dataset, "current_sample": sim.current, "params": {
        "panel_id": "gym-labels-1", "panel_state": sim.state, "__method__": "on_next"}})
    opened = [r["params"] for r in result.executor.to_json()["requests"] if r["operator_uri"] == "open_sample"]
    assert opened == [{"id": ids["s4_lateral"], "group_id": queue[1]["group_id"]}]


def test_the_delete_buttons_remove_the_row_they_are_on_and_refuse_a_gone_row(ten_clips):
    dataset, ids = ten_clips
    sim = PanelSim(dataset, "ada")
    a = ids["s0_lateral"]
    sim.open(a, first=True)
    first = next(s for s in foapi.read_clip(dataset, a)["labels"]["segments"] if s["kind"] == "repetition")

    def log() -> list:
        return dataset._sample_collection.find_one({"_id": foapi._oid(a)})["gymdata_log"]

    before = len(log())
    sim.call("on_delete_rep", row=0)
    assert [(e["op"], e["annotator"], e.get("segment")) for e in log()[before:]] == [
        ("segment_delete", "ada", first["id"])]
    for method, what in (("on_delete_rep", "repetition"), ("on_delete_penalty", "penalty")):
        patch = sim.call(method, row=99)
        assert f"that {what} is gone" in str(patch), patch
    assert len(log()) == before + 1  # a refused click records nothing
