"""Two annotators label the same dataset at once on a shared MongoDB server; a pull loses nothing.

The server is a real ``mongod`` on 127.0.0.1 at a free port, started by the test session
(tests/fo_support.py). Each annotator is its own process making 200 edits through the operators'
code path (tests/fo_annotator.py) to the same four clips, interleaved with the other's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from annotators import foapi
from annotators import labels as L
from annotators.history import read_ledger
from annotators.pull import pull
from annotators.push import push
from gymdata import store
from tests.fo_support import fo_db, make_store, mongod  # noqa: F401 (fixtures)

EDITS = 200
REPO = Path(__file__).resolve().parents[1]


def test_two_annotators_at_once_lose_no_edit(fo_db, tmp_path):
    make_store(tmp_path, frames=60)
    push("clips", progress=False)
    procs = {name: subprocess.Popen([sys.executable, "-m", "tests.fo_annotator", "clips", name, str(i), str(EDITS),
                                     str(tmp_path / f"{name}.json")], cwd=REPO, stderr=subprocess.PIPE,
                                    text=True)
             for i, name in enumerate(("ana", "ben"))}
    deadline = time.monotonic() + 300
    while not all((tmp_path / f"{name}.ready").exists() for name in procs):  # both loaded: start together
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs.values()), "an annotator died"
        time.sleep(0.1)
    for name in procs:
        (tmp_path / f"{name}.go").touch()
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: {err[-3000:]}"
    done = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in procs}
    for name in procs:
        assert len(done[name]["applied"]) == EDITS, name  # every execution was recorded, none dropped

    dataset = fo_db.load_dataset("clips")
    logs = [s.gymdata_log for s in dataset.select_group_slices(["frontal", "lateral"])]
    log = [e for clip_log in logs for e in clip_log]
    assert len(log) == 2 * EDITS and len({e["id"] for e in log}) == 2 * EDITS
    turns = sum(a["annotator"] != b["annotator"] for clip_log in logs for a, b in zip(clip_log, clip_log[1:]))
    assert turns > 20  # the two really edited the same clips at the same time
    for s in dataset.select_group_slices(["frontal", "lateral"]):  # what the App shows is the fold of the whole log
        clip = foapi.read_clip(dataset, s.id)
        shown = {c.label: (c.verdict, c.annotator) for c in s.criteria.classifications}
        assert shown == {n: (c["verdict"], c["annotator"]) for n, c in clip["labels"]["criteria"].items()}
        assert s.rep_count == sum(1 for x in clip["labels"]["segments"] if x["kind"] == "repetition")
        runs = L.state_runs(clip["labels"]["segments"])
        state = {f: None for f in range(1, s.num_frames + 1)}
        for r in runs:
            state.update({f: r["label"] for f in range(r["start"] + 1, r["end"] + 2)})
        frames = dataset._frame_collection.find({"_sample_id": s._id}, {"frame_number": 1, "state.label": 1})
        assert {f["frame_number"]: (f.get("state") or {}).get("label") for f in frames} == state

    report = pull("clips")
    assert report.edits == 2 * EDITS and report.by_annotator == {"ana": EDITS, "ben": EDITS}
    ds = store.open_dataset("clips")
    ledger = read_ledger(ds)
    assert {e["id"] for e in ledger} == set(done["ana"]["applied"]) | set(done["ben"]["applied"])
    assert all(e["annotator"] == ("ana" if e["id"] in set(done["ana"]["applied"]) else "ben") for e in ledger)
    for table, op in (("criteria", "criterion"), ("scores", "score")):
        rows = ds.df(table, filter={"origin": "human"})
        for name in procs:
            assert (rows["annotator"] == name).sum() == done[name]["ops"][op], (table, name)
    segs = ds.df("segments", filter={"origin": "human"})
    for name in procs:  # one snapshot per repetition or state edit, each stamped with its author
        mine = segs[segs["annotator"] == name]
        assert mine["created_at"].nunique() == done[name]["ops"]["segment"] + done[name]["ops"]["state"]
    assert pull("clips").edits == 0
