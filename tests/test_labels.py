"""One truth for labels: the core's rule (gymdata.labels), exports of ground truth only, re-imports
that keep what people and models added, serialised writers and reserved dataset names.

The count-then-export and re-import tests run the real CLI on tiny generated videos; the
concurrency tests start real ``gymdata`` processes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, write_video

from gymdata import labels, store
from gymdata.errors import DatasetBusyError, SchemaError
from gymdata.labels import append_ledger, current

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def seg(vid, start, end, origin, annotator, created, kind="repetition", label="rep"):
    return {"video_id": vid, "kind": kind, "label": label, "start_frame": start, "end_frame": end,
            "origin": origin, "annotator": annotator, "created_at": created}


def small_dataset(name="d") -> store.Dataset:
    """Two clips without media: enough for the rule itself."""
    rows = [{"video_id": v, "corpus": "videos", "path": f"{v}.mp4", "media_kind": "video", "exercise": "squat",
             "fps": 30.0, "num_frames": 300, "width": 64, "height": 48} for v in ("a", "b")]
    with store.building(name) as ds, ds.transaction() as txn:
        txn.write("videos", rows)
    return store.open_dataset(name)


# -- the rule ------------------------------------------------------------------------------------


def test_human_beats_import_models_are_predictions_and_as_of_goes_back():
    ds = small_dataset()
    ds.append("segments", [seg("a", s, s + 9, "imported", "repcount:x.csv", at(0)) for s in (0, 20, 40, 60)])
    ds.append("segments", [seg("a", s, s + 4, "model", "periodic", at(5)) for s in range(0, 160, 20)])
    ds.append("segments", [seg("b", 0, 9, "imported", "repcount:x.csv", at(0))])
    reps = lambda df, v: len(df[(df["video_id"] == v) & (df["kind"] == "repetition")])  # noqa: E731
    now = current(ds, "segments")
    assert reps(now, "a") == 4 and set(now["origin"]) == {"imported"}  # 8 model rows are not truth
    assert reps(labels.predictions(ds, "segments"), "a") == 8
    # a person's snapshot (older than the import's timestamp even) wins over the corpus
    ds.append("segments", [seg("a", s, s + 9, "human", "ann", at(10)) for s in (0, 20, 40)])
    assert reps(current(ds, "segments"), "a") == 3
    # accepting a prediction writes a human row: then it counts
    ds.append("segments", [seg("a", s, s + 4, "human", "ann", at(20)) for s in range(0, 160, 20)])
    assert reps(current(ds, "segments"), "a") == 8
    assert reps(current(ds, "segments", as_of=at(15)), "a") == 3  # as it was at 15 min
    assert reps(current(ds, "segments", as_of=at(1)), "a") == 4  # before any human edit
    assert reps(current(ds, "segments", as_of=at(1).replace(tzinfo=None)), "a") == 4  # naive = UTC
    # a deletion is an edit that leaves no rows: the ledger records it, the core resolves it
    append_ledger(ds, [{"id": "e1", "video_id": "a", "op": "delete_segment", "annotator": "ann", "origin": "human",
                        "at": at(30).isoformat(), "table": "segments", "key": "repetition", "rows": 0}])
    assert reps(current(ds, "segments"), "a") == 0 and reps(current(ds, "segments"), "b") == 1
    assert reps(current(ds, "segments", as_of=at(25)), "a") == 8
    # ...until a later edit adds repetitions again
    ds.append("segments", [seg("a", 5, 15, "human", "bob", at(40))])
    assert reps(current(ds, "segments"), "a") == 1
    assert labels.rep_counts(ds).to_dict() == {"a": 1, "b": 1}


def test_criteria_and_scores_latest_human_decision_wins():
    ds = small_dataset()
    row = {"video_id": "a", "criterion": "Depth", "view": "lateral", "value": 1.0}
    ds.append("criteria", [{**row, "passed": True, "origin": "imported", "annotator": "corpus", "created_at": at(50)},
                           {**row, "passed": False, "origin": "human", "annotator": "ann", "created_at": at(1)},
                           {**row, "passed": True, "origin": "model", "annotator": "run1", "created_at": at(60)}])
    crit = current(ds, "criteria")
    assert len(crit) == 1 and not crit["passed"].iloc[0] and crit["origin"].iloc[0] == "human"
    ds.append("criteria", [{**row, "passed": True, "origin": "human", "annotator": "bob", "created_at": at(2)}])
    assert bool(current(ds, "criteria")["passed"].iloc[0]) and current(ds, "criteria")["annotator"].iloc[0] == "bob"
    assert not current(ds, "criteria", as_of=at(1.5))["passed"].iloc[0]
    assert labels.predictions(ds, "criteria")["annotator"].tolist() == ["run1"]
    per_rater = current(ds, "criteria", origins=("human", "imported"), per_rater=True)
    assert sorted(per_rater["rater"]) == ["ann", "bob", "corpus"]
    with pytest.raises(SchemaError, match="not a label table"):
        current(ds, "poses")
    with pytest.raises(SchemaError, match="origin"):
        current(ds, "criteria", origins=("robot",))


def test_no_module_outside_the_owner_resolves_label_history():
    """The owner is gymdata/labels.py; nobody else de-duplicates label rows with keep="last"."""
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for package in ("gymdata", "exporters", "baselines", "importers", "annotators"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if path.name != "labels.py" and 'keep="last"' in text:
                offenders.append(str(path.relative_to(root)))
            if '"origin"] != "model"' in text:
                offenders.append(f"{path.relative_to(root)} (filters model rows itself)")
    assert offenders == []


# -- count --write, then export: the truth in every ground-truth format ---------------------------


@pytest.fixture
def counted(tmp_path):
    """Dataset ``reps``: two squat videos with 4 and 3 imported repetitions, poses, a quality score
    CSV, then ``gymdata count reps --write`` (model repetitions and A/R states) and a model score."""
    from test_counting import clip

    from gymdata.pose import poses_table

    src = tmp_path / "src"
    truth, results = {}, []
    for k, n in enumerate((4, 3)):
        lm, reps = clip(n, seed=20 + k)
        write_video(src / "squat" / f"sq{k}.mp4", frames=len(lm), size=(32, 32), fps=30.0)
        truth[f"squat/sq{k}.mp4"] = reps
        results.append({"frames": np.arange(len(lm), dtype=np.int32), "landmarks": lm.astype(np.float32),
                        "world": np.zeros((len(lm), 33, 3), np.float32), "detected": np.ones(len(lm), bool)})
    (src / "squat_scores.csv").write_text("relative_path,score\nsquat/sq0.mp4,80\nsquat/sq1.mp4,60\n")
    code, _, err = run_cli("import", "videos", str(src), "--name", "reps", "--quiet")
    assert code == 0, err
    ann = tmp_path / "reps.csv"
    with open(ann, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "type", "name", "count", *(f"L{i + 1}" for i in range(8))])
        for i, (path, reps) in enumerate(truth.items()):
            bounds = [f for pair in reps for f in pair]
            w.writerow([i, "squat", Path(path).name, len(reps), *bounds, *[""] * (8 - len(bounds))])
    code, _, err = run_cli("import", "repcount", str(ann), "--name", "reps")
    assert code == 0, err
    ds = store.open_dataset("reps")
    ids = ds.df("videos").sort_values("path")["video_id"].tolist()
    ds.append("poses", poses_table(ids, results, "corpus"))
    code, out, err = run_cli("count", "reps", "--write")
    assert code == 0, err
    ds = store.open_dataset("reps")
    ds.append("scores", [{"video_id": v, "name": "quality", "value": 1.0, "scale_min": 0.0, "scale_max": 100.0,
                          "origin": "model", "annotator": "scorer-run", "created_at": store.now()} for v in ids])
    model = ds.df("segments", filter={"origin": "model", "kind": "repetition"})
    assert len(model) >= 7, "the counter wrote its repetitions"
    return ds, dict(zip(ids, (4, 3)))


def _export(fmt, out, *options):
    args = ["export", "reps", "--format", fmt, str(out), "--quiet", "-j", "1"]
    for o in options:
        args += ["-o", o]
    code, text, err = run_cli(*args)
    assert code == 0, err
    return text


def test_count_write_then_export_gives_the_truth_in_every_format(counted, tmp_path):
    ds, truth = counted
    # RepCount-A: the CSV counts and bounds are the imported ones (4 stays 4, not 4 + the model's)
    _export("repcount", tmp_path / "rc", "media=false")
    with open(tmp_path / "rc" / "annotation" / "all.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(int(r["count"]) for r in rows) == [3, 4]
    assert sorted(sum(1 for k, v in r.items() if k.startswith("L") and v) // 2 for r in rows) == [3, 4]
    assert not (tmp_path / "rc" / "predictions").exists()
    # Hugging Face Parquet: the nested label lists hold ground truth only
    _export("hf-parquet", tmp_path / "hf", "poses=false")
    table = pq.read_table(next((tmp_path / "hf" / "data").glob("*.parquet"))).to_pylist()
    for row in table:
        reps = [s for s in row["segments"] if s["kind"] == "repetition"]
        assert len(reps) == truth[row["video_id"]]
        assert {s["origin"] for s in row["segments"]} == {"imported"}
        assert {s["origin"] for s in row["scores"]} == {"imported"} and len(row["scores"]) == 1
    # scorer CSV: the imported score, not the model's 1.0
    _export("scores-csv", tmp_path / "sc")
    text = "".join(p.read_text() for p in (tmp_path / "sc").rglob("*.csv"))
    assert ",80" in text and ",60" in text and ",1.0" not in text
    # training arrays: the A/R states come from the imported repetitions, as before the count
    _export("arrays", tmp_path / "ar", "frames=2", "size=8", "video=false")
    before = np.load(tmp_path / "ar" / "states.npy") if (tmp_path / "ar" / "states.npy").exists() else None
    ds.append("segments", [seg(v, 0, 5, "model", "another-run", store.now(), kind="state", label="A") for v in truth])
    _export("arrays", tmp_path / "ar2", "frames=2", "size=8", "video=false")
    for path in (tmp_path / "ar").rglob("*.npy"):
        assert np.array_equal(np.load(path), np.load(tmp_path / "ar2" / path.relative_to(tmp_path / "ar"))), path
    assert before is None or before.size


def test_predictions_only_when_asked_and_only_as_predictions(counted, tmp_path):
    ds, truth = counted
    _export("repcount", tmp_path / "plain", "media=false")
    text = _export("repcount", tmp_path / "pred", "media=false", "predictions=true")
    assert "predictions" in text
    assert (tmp_path / "plain" / "annotation" / "all.csv").read_bytes() == \
        (tmp_path / "pred" / "annotation" / "all.csv").read_bytes()  # the truth is unchanged
    segs = pd.read_csv(tmp_path / "pred" / "predictions" / "segments.csv")
    assert set(segs["origin"]) == {"model"}
    counted_reps = segs[segs["kind"] == "repetition"].groupby("video_id").size()
    stored = ds.df("segments", filter={"origin": "model", "kind": "repetition"}).groupby("video_id").size()
    assert counted_reps.to_dict() == stored.to_dict()
    scores = pd.read_csv(tmp_path / "pred" / "predictions" / "scores.csv")
    assert set(scores["annotator"]) == {"scorer-run"} and (scores["value"] == 1.0).all()
    code, out, _ = run_cli("export", "--list-formats")
    assert code == 0 and "-o predictions=" in out


def test_info_counts_current_labels_and_who_made_them(counted):
    ds, truth = counted
    stamp = store.now()
    vid = next(iter(truth))
    ds.append("segments", [seg(vid, 0, 10, "human", "alice", stamp), seg(vid, 20, 30, "human", "alice", stamp)])
    code, out, err = run_cli("info", "reps", "--json")
    assert code == 0, err
    doc = json.loads(out)
    [rep] = [r for r in doc["labels"] if r["table"] == "segments" and r["kind"] == "repetition"]
    assert rep["labels"] == 2 + truth[[v for v in truth if v != vid][0]] and rep["clips"] == 2
    assert rep["human"] == 2 and rep["annotators"] == ["alice"]
    history = doc["history"]["segments"]
    assert history["imported"] == 7 and history["human"] == 2 and history["model"] > 0
    assert any(p["table"] == "segments" and p["models"] for p in doc["predictions"])
    code, out, _ = run_cli("info", "reps")
    assert code == 0 and "current ground truth" in out and "alice" in out and "label history" in out


# -- re-import ------------------------------------------------------------------------------------


def _source(tmp_path) -> Path:
    src = tmp_path / "vids"
    for k in range(3):
        write_video(src / "squat" / f"c{k}.mp4", frames=10 + k)
    (src / "squat_scores.csv").write_text("relative_path,score\n" + "".join(f"squat/c{k}.mp4,{50 + k}\n"
                                                                           for k in range(3)))
    return src


def _add_work(ds: store.Dataset) -> dict[str, str]:
    """Poses, a human score and a model segment for every clip; returns {file: video_id}."""
    from gymdata.pose import poses_table

    videos = ds.df("videos")
    ids = videos["video_id"].tolist()
    results = [{"frames": np.arange(n, dtype=np.int32), "landmarks": np.full((n, 33, 4), 0.5, np.float32),
                "world": np.zeros((n, 33, 3), np.float32), "detected": np.ones(n, bool)}
               for n in videos["num_frames"]]
    ds.append("poses", poses_table(ids, results, "mediapipe-test"))
    stamp = store.now()
    ds.append("scores", [{"video_id": v, "name": "quality", "value": 99.0, "scale_min": 0.0, "scale_max": 100.0,
                          "origin": "human", "annotator": "ann", "created_at": stamp} for v in ids])
    ds.append("segments", [seg(v, 0, 3, "model", "periodic", stamp) for v in ids])
    return dict(zip(videos["path"], ids))


def test_touch_then_reimport_is_a_no_op_that_keeps_poses_and_labels(tmp_path):
    src = _source(tmp_path)
    assert run_cli("import", "videos", str(src), "--name", "v", "--quiet")[0] == 0
    _add_work(store.open_dataset("v"))
    before = store.open_dataset("v").row_counts()
    later = time.time() + 100
    for p in src.rglob("*"):
        os.utime(p, (later, later))
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--quiet")
    assert code == 0, err
    assert "up to date" in out
    assert store.open_dataset("v").row_counts() == before


def test_changed_source_keeps_unchanged_clips_and_refuses_to_drop_human_labels(tmp_path):
    src = _source(tmp_path)
    assert run_cli("import", "videos", str(src), "--name", "v", "--quiet")[0] == 0
    ds = store.open_dataset("v")
    files = _add_work(ds)
    assert run_cli("split", "v", "--ratios", "0.34,0.33,0.33")[0] == 0
    old_split = store.open_dataset("v").df("videos").set_index("video_id")["split"].to_dict()
    write_video(src / "squat" / "c2.mp4", frames=20)  # new content for one clip
    code, _, err = run_cli("import", "videos", str(src), "--name", "v", "--quiet")
    assert code != 0 and "differs" in err and len(err.strip().splitlines()) == 1
    # the changed clip has a human label: a rebuild would drop it, so it refuses, in one line
    code, _, err = run_cli("import", "videos", str(src), "--name", "v", "--force", "--quiet")
    assert code != 0 and len(err.strip().splitlines()) == 1, err
    assert "would drop 1 human label row(s) of 1 clip(s)" in err and "--drop-labels" in err
    assert store.open_dataset("v").row_counts()["scores"] == 6  # untouched
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--force", "--drop-labels", "--quiet")
    assert code == 0, err
    assert "kept from before for 2 unchanged clip(s)" in out
    ds = store.open_dataset("v")
    changed, kept = files["squat/c2.mp4"], [files["squat/c0.mp4"], files["squat/c1.mp4"]]
    poses = ds.df("poses", columns=["video_id", "source"])
    assert set(poses["video_id"]) == set(kept) and set(poses["source"]) == {"mediapipe-test"}
    scores = ds.df("scores")
    assert sorted(scores[scores["origin"] == "human"]["video_id"]) == sorted(kept)
    assert len(scores[scores["origin"] == "imported"]) == 3  # the CSV's scores, imported afresh
    model = ds.df("segments", filter={"origin": "model"})
    assert sorted(model["video_id"]) == sorted(kept)
    assert ds.attachment("splits.parquet").is_file()
    split = ds.df("videos").set_index("video_id")["split"].to_dict()
    assert all(split[v] == old_split[v] for v in kept)
    assert ds.df("videos").set_index("video_id").loc[changed, "num_frames"] == 20


# -- writers serialised, names ----------------------------------------------------------------------


def _gymdata(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gymdata.cli", *args], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_imports_into_one_new_name(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for k in range(4):
        write_video(a / "squat" / f"x{k}.mp4", frames=12)
        write_video(b / "lunge" / f"y{k}.mp4", frames=14)
    procs = [_gymdata("import", "videos", str(src), "--name", "same", "--quiet", "-j", "1") for src in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    # exactly one import made the dataset; the other waited for it and then refused to replace it
    assert sorted(codes) == [0, 1], outs
    loser = outs[codes.index(1)][1]
    assert "exists and differs" in loser and len(loser.strip().splitlines()) <= 2, loser
    winner = [a, b][codes.index(0)]
    ds = store.open_dataset("same")
    assert ds.sources[0]["root"] == str(winner)
    assert len(ds.df("videos")) == 4
    assert [p.name for p in store.home().iterdir() if p.name.startswith(".") and p.name != store.LOCKS] == []


def test_a_second_writer_waits_then_fails_with_one_line(tmp_path):
    src = tmp_path / "v"
    write_video(src / "squat" / "x.mp4", frames=10)
    with store.lock("held", action="test"):
        proc = _gymdata("import", "videos", str(src), "--name", "held", "--quiet", env={"GYMDATA_LOCK_TIMEOUT": "1"})
        _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    lines = [line for line in err.strip().splitlines() if line]
    assert lines[0].startswith("waiting for dataset 'held'") and f"pid {os.getpid()}" in lines[0]
    assert "is being written by" in lines[-1] and len(lines) == 2
    assert not store.exists("held")
    # the same process may nest (an import commits under its own lock); after release it is free
    with store.lock("held"), store.lock("held"):
        pass
    with store.lock("held", timeout=0):
        pass


def test_lock_times_out_in_process(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys, time; from gymdata import store\n"
                             "with store.lock('x'):\n print('held', flush=True); time.sleep(30)"],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert proc.stdout.readline().strip() == "held"
        start = time.monotonic()
        with pytest.raises(DatasetBusyError, match="being written by pid"):
            with store.lock("x", timeout=0.3):
                pass
        assert time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("name", ["cache", "runs", "Reports", "sources"])
def test_reserved_names_are_refused(tmp_path, name):
    src = tmp_path / "v"
    write_video(src / "squat" / "x.mp4", frames=10)
    cache = store.home() / "cache" / "pose"
    cache.mkdir(parents=True)
    (cache / "keep.txt").write_text("x")
    code, _, err = run_cli("import", "videos", str(src), "--name", name, "--quiet")
    assert code != 0 and "reserved" in err and len(err.strip().splitlines()) == 1
    assert (cache / "keep.txt").read_text() == "x"
    with pytest.raises(SchemaError, match="reserved"):
        store.check_name(name)


def test_remove_takes_the_lock(tmp_path):
    small_dataset("gone")
    with store.lock("gone"):
        proc = _gymdata("remove", "gone", "--yes", env={"GYMDATA_LOCK_TIMEOUT": "0.5"})
        _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "being written" in err and store.exists("gone")
    assert run_cli("remove", "gone", "--yes")[0] == 0 and not store.exists("gone")


def test_a_dataset_imported_by_an_older_gymdata_stays_up_to_date_and_keeps_its_labels(tmp_path):
    from gymdata.importing import DIGESTS, _legacy_fingerprint

    src = _source(tmp_path)
    assert run_cli("import", "videos", str(src), "--name", "v", "--quiet")[0] == 0
    ds = store.open_dataset("v")
    _add_work(ds)
    # what an older gymdata left: an mtime fingerprint and no content digests
    src_record = ds.source("videos")
    inputs = sorted(p for p in src.rglob("*") if p.is_file())
    legacy = _legacy_fingerprint(src, inputs, "videos", "1", src_record["options"])
    with ds.transaction() as txn:
        fields = {k: v for k, v in src_record.items() if k not in ("corpus", "imported_at")}
        txn.set_source("videos", **{**fields, "fingerprint": legacy})
    ds.attachment(DIGESTS).unlink()
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--quiet")
    assert code == 0 and "up to date" in out, err
    ds = store.open_dataset("v")
    assert ds.attachment(DIGESTS).is_file() and ds.source("videos")["fingerprint"] != legacy
    # forced, every clip is still recognised as unchanged (by its probed shape): nothing refused
    ds.attachment(DIGESTS).unlink()
    before = ds.row_counts()
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--force", "--quiet")
    assert code == 0, err
    assert store.open_dataset("v").row_counts() == before


def test_forced_reimport_keeps_repetitions_added_from_another_file(tmp_path):
    src = _source(tmp_path)
    assert run_cli("import", "videos", str(src), "--name", "v", "--quiet")[0] == 0
    ann = tmp_path / "reps.csv"
    ann.write_text(",type,name,count,L1,L2,L3,L4\n0,squat,c0.mp4,2,0,3,4,8\n1,squat,c1.mp4,1,1,5,,\n")
    code, _, err = run_cli("import", "repcount", str(ann), "--name", "v")
    assert code == 0, err
    write_video(src / "squat" / "c2.mp4", frames=25)  # c2 changes; it has no repetitions and no human labels
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--force", "--quiet")
    assert code == 0, err
    ds = store.open_dataset("v")
    assert labels.rep_counts(ds).sort_values().tolist() == [1, 2]
    assert {s["corpus"] for s in ds.sources} == {"videos", "repcount:reps.csv"}
    # a source whose rows are all gone is not listed any more
    (src / "squat" / "c0.mp4").unlink()
    (src / "squat" / "c1.mp4").unlink()
    (src / "squat_scores.csv").write_text("relative_path,score\nsquat/c2.mp4,50\n")
    code, out, err = run_cli("import", "videos", str(src), "--name", "v", "--force", "--quiet")
    assert code == 0, err
    ds = store.open_dataset("v")
    assert not ds.has("segments") and [s["corpus"] for s in ds.sources] == ["videos"]
