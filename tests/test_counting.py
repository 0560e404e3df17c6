"""Repetition counting: metrics, the label-free periodic counter, the GMM counter, runs, the CLI.

Clips are synthetic stick figures (BlazePose 33 layout) blended between a rest pose and an active
pose with rests of random length between repetitions, so the true repetitions and A/R frames are
known by construction; the sample corpus test at the end uses ``gymdata.sample``.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
from conftest import run_cli

from baselines.counting import CountResult, PeriodicCounter, count_metrics, reps_from_states, state_runs
from baselines.counting_data import count_dataset, load_counter, true_counts, write_segments
from baselines.runs import run_path
from baselines.gmm import GMMCounter, GMMParams, LabelledClip
from gymdata import store
from gymdata.errors import InputError

# -- synthetic clips ------------------------------------------------------------------------

_BODY = {  # side view, facing +x; (x, y) image-normalised, left/right 0.01 apart
    "stand": {0: (0.50, 0.20), 11: (0.50, 0.30), 13: (0.50, 0.42), 15: (0.50, 0.52), 23: (0.50, 0.55),
              25: (0.51, 0.70), 27: (0.50, 0.85), 29: (0.48, 0.86), 31: (0.54, 0.87)},
    "squat": {0: (0.52, 0.37), 11: (0.47, 0.47), 13: (0.56, 0.49), 15: (0.64, 0.48), 23: (0.40, 0.70),
              25: (0.56, 0.70), 27: (0.50, 0.85), 29: (0.48, 0.86), 31: (0.54, 0.87)},
    "lunge": {0: (0.50, 0.31), 11: (0.50, 0.41), 13: (0.51, 0.53), 15: (0.51, 0.62), 23: (0.50, 0.66),
              25: (0.62, 0.72), 27: (0.63, 0.85), 29: (0.61, 0.86), 31: (0.67, 0.87)},
    "lunge_back": {25: (0.42, 0.80), 27: (0.34, 0.85), 29: (0.32, 0.84), 31: (0.37, 0.88)},
    "plank": {0: (0.25, 0.45), 11: (0.30, 0.50), 13: (0.30, 0.62), 15: (0.31, 0.72), 23: (0.55, 0.52),
              25: (0.68, 0.54), 27: (0.80, 0.56), 29: (0.82, 0.55), 31: (0.79, 0.60)},
}
# the landmarks that follow a keyed one: face on the nose, hands on the wrists
_FOLLOW = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 0, 17: 15, 19: 15, 21: 15}


def pose(name: str, front: str = "left") -> np.ndarray:
    """(33, 4) landmarks of a key pose; for a lunge, ``front`` is the forward leg."""
    lm = np.zeros((33, 4))
    keys = _BODY[name]
    for left, xy in keys.items():
        lm[left, :2] = xy
        if left:
            lm[left + 1, :2] = (xy[0] - 0.01, xy[1])
    if name == "lunge":
        back = "right" if front == "left" else "left"
        for left, xy in _BODY["lunge_back"].items():
            lm[left + (back == "right"), :2] = xy
        for left in _BODY["lunge_back"]:
            lm[left + (front == "right"), :2] = keys[left]
    for i, src in _FOLLOW.items():
        lm[i, :2] = lm[src, :2] + 0.005 * (i % 3)
        lm[i + 1 if i in (17, 19, 21) else i, :2] = lm[src + (i in (17, 19, 21)), :2]
    lm[1::2, 2], lm[2::2, 2] = -0.05, 0.05  # left side nearer the camera
    lm[:, 3] = 0.9
    return lm


def clip(n_reps: int, *, fps: float = 30.0, active: str = "squat", seed: int = 0, noise: float = 0.003,
         rep_s: tuple[float, float] = (1.4, 2.2), rest_s: tuple[float, float] = (0.4, 1.2)
         ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A clip of ``n_reps`` repetitions between rests; returns landmarks (T, 33, 4) and the true
    repetition spans. Lunges alternate the front leg."""
    rng = np.random.default_rng(seed)
    rest = pose("stand")
    q, target, reps = [], [], []
    t = 0
    for k in range(n_reps + 1):
        n_rest = int(rng.uniform(*rest_s) * fps)
        q += [0.0] * n_rest
        target += [None] * n_rest
        t += n_rest
        if k == n_reps:
            break
        n_rep = int(rng.uniform(*rep_s) * fps)
        q += list((1 - np.cos(np.linspace(0, 2 * np.pi, n_rep))) / 2)
        target += [pose(active, "left" if k % 2 == 0 else "right")] * n_rep
        reps.append((t, t + n_rep - 1))
        t += n_rep
    lm = np.stack([rest if p is None else (1 - w) * rest + w * p for w, p in zip(q, target)])
    lm[..., :3] += noise * rng.standard_normal(lm[..., :3].shape)
    return lm.astype(np.float32), reps


def active_mask(n: int, reps: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(n, bool)
    for s, e in reps:
        mask[s : e + 1] = True
    return mask


def check_result(res: CountResult, n_frames: int) -> None:
    """Structural checks every result must pass."""
    assert res.count == len(res.reps)
    assert all(0 <= s < e <= n_frames - 1 for s, e in res.reps)
    assert all(a[1] < b[0] for a, b in zip(res.reps, res.reps[1:])), "repetitions overlap"
    assert res.states[0][0] == 0 and res.states[-1][1] == n_frames - 1
    assert all(a[1] + 1 == b[0] and a[2] != b[2] for a, b in zip(res.states, res.states[1:]))
    assert len(reps_from_states(res.states)) == res.count  # one R -> A -> R per repetition
    for s, e in res.reps:
        assert sum(1 for a, b, lab in res.states if lab == "A" and s <= a and b <= e) == 1


# -- metrics and states ---------------------------------------------------------------------

def test_count_metrics_follow_repcount():
    m = count_metrics([3, 5, 0, 4, 2.6], [3, 4, 2, 0, 3])
    # errors 0, 1, 2, 4, 0; MAE over the clips with a true count > 0: (0 + 1/4 + 2/2 + 0) / 4
    assert m == {"clips": 5, "mae": pytest.approx(0.3125), "obo": pytest.approx(0.6)}
    assert np.isnan(count_metrics([1], [0])["mae"])
    with pytest.raises(ValueError):
        count_metrics([1, 2], [1])


def test_state_runs_and_r_a_r_repetitions():
    runs = state_runs(np.array([1, 1, 0, 1, 1, 0, 0, 1, 0, 1], bool))
    assert runs == [(0, 1, "A"), (2, 2, "R"), (3, 4, "A"), (5, 6, "R"), (7, 7, "A"), (8, 8, "R"), (9, 9, "A")]
    # the leading and trailing A runs have no R before / after them: not repetitions
    assert reps_from_states(runs) == [(3, 4), (7, 7)]
    assert state_runs(np.zeros(0, bool)) == []


# -- the periodic counter -------------------------------------------------------------------

@pytest.mark.parametrize("n_reps,fps,seed", [(1, 30.0, 0), (3, 25.0, 1), (7, 30.0, 2), (12, 60.0, 3)])
def test_periodic_counts_squats_and_finds_them(n_reps, fps, seed):
    lm, truth = clip(n_reps, fps=fps, seed=seed)
    res = PeriodicCounter().count(lm, fps)
    check_result(res, len(lm))
    assert res.count == n_reps and res.reason is None
    for (s, e), (ts, te) in zip(res.reps, truth):
        mid = (ts + te) // 2  # the deepest frame of the true repetition
        assert s <= mid <= e
        overlap = min(e, te) - max(s, ts) + 1
        assert overlap >= 0.6 * (te - ts + 1)


def test_periodic_counts_each_side_of_alternating_lunges():
    lm, _ = clip(6, active="lunge", seed=4)
    res = PeriodicCounter().count(lm, 30.0)
    check_result(res, len(lm))
    assert res.count == 6


def test_periodic_continuous_reps_without_rests():
    lm, _ = clip(8, seed=5, rest_s=(0.0, 0.05))
    res = PeriodicCounter().count(lm, 30.0)
    check_result(res, len(lm))
    assert res.count == 8


def test_static_hold_and_no_person_count_zero():
    rng = np.random.default_rng(0)
    plank = np.repeat(pose("plank")[None], 240, axis=0)
    plank[..., :3] += 0.004 * rng.standard_normal(plank[..., :3].shape)  # detector jitter
    res = PeriodicCounter().count(plank.astype(np.float32), 30.0)
    assert (res.count, res.reason, res.states) == (0, "static", [(0, 239, "R")])
    res = PeriodicCounter().count(np.zeros((100, 33, 4), np.float32), 30.0)
    assert (res.count, res.reason, res.states) == (0, "no_person", [(0, 99, "R")])


def test_resolution_framing_and_missing_frames_do_not_change_the_count():
    lm, _ = clip(5, seed=6)
    base = PeriodicCounter().count(lm, 30.0, width=720, height=1280)
    # the same person smaller and elsewhere in a frame of another size and aspect
    moved = lm.copy()
    moved[..., 0] = 0.2 + 0.5 * lm[..., 0] * (1280 / 720) * (480 / 640)
    moved[..., 1] = 0.1 + 0.5 * lm[..., 1]
    res = PeriodicCounter().count(moved, 30.0, width=640, height=480)
    assert res.count == base.count == 5
    assert all(abs(a - b) <= 3 for r1, r2 in zip(base.reps, res.reps) for a, b in zip(r1, r2))
    # 15 % of the frames without a person (zeros): interpolated over
    holes = lm.copy()
    holes[np.random.default_rng(1).random(len(lm)) < 0.15] = 0
    assert PeriodicCounter().count(holes, 30.0, width=720, height=1280).count == 5


# -- the GMM counter ------------------------------------------------------------------------

def test_gmm_one_shot_counts_other_clips_and_round_trips(tmp_path):
    lm, reps = clip(4, seed=10)
    counter = GMMCounter.fit([LabelledClip("squat", lm, active_mask(len(lm), reps), fps=30.0)], run_id="gmm-test")
    for n, seed in ((2, 11), (6, 12), (9, 13)):
        other, _ = clip(n, seed=seed, rep_s=(1.0, 1.6))  # other tempo
        res = counter.count(other, 30.0, exercise="squat")
        check_result(res, len(other))
        assert (res.count, res.counter) == (n, "gmm-test")
    # exercises it was not trained on go to the periodic counter
    lunges, _ = clip(4, active="lunge", seed=14)
    assert counter.count(lunges, 30.0, exercise="lunge").counter == "periodic"

    from baselines.runs import save_run

    config = {"model": "gmm", "run_id": "gmm-test", "exercises": counter.exercises,
              "params": asdict(GMMParams())}
    folder = save_run("gmm-test", config, {}, counter.arrays())
    loaded = load_counter("gmm-test")
    assert folder == run_path(folder) == run_path("gmm-test")
    other, _ = clip(3, seed=15)
    np.testing.assert_allclose(loaded.active_probability("squat", other, 30.0),
                               counter.active_probability("squat", other, 30.0), rtol=1e-6, atol=1e-9)


def test_gmm_ensemble_averages_its_members_and_round_trips(tmp_path):
    lm, reps = clip(4, seed=10)
    labelled = [LabelledClip("squat", lm, active_mask(len(lm), reps), fps=30.0)]
    params = GMMParams(components=2, ensemble=3, seed=4)
    counter = GMMCounter.fit(labelled, params, run_id="gmm-ens")
    assert all(len(m) == 3 for m in counter.models["squat"].mixtures.values())
    other, _ = clip(5, seed=11, rep_s=(1.0, 1.6))
    # the ensemble's score is the mean of its members' scores (each member: seed + m)
    members = [GMMCounter.fit(labelled, GMMParams(components=2, seed=4 + m)).score("squat", other) for m in range(3)]
    np.testing.assert_allclose(counter.score("squat", other), np.mean(members, axis=0), atol=1e-9)
    assert counter.count(other, 30.0, exercise="squat").count == 5

    from baselines.runs import save_run

    config = {"model": "gmm", "run_id": "gmm-ens", "exercises": counter.exercises, "params": asdict(params)}
    save_run("gmm-ens", config, {}, counter.arrays())
    np.testing.assert_allclose(load_counter("gmm-ens").score("squat", other), counter.score("squat", other),
                               rtol=1e-6, atol=1e-9)
    # a run saved before the ensemble (no "ensemble" in its params) reads as one mixture per state
    assert GMMParams.from_json({"components": 2}).ensemble == 1


def test_gmm_needs_both_states():
    lm, _ = clip(2, seed=16)
    with pytest.raises(InputError, match="Active and Resting"):
        GMMCounter.fit([LabelledClip("squat", lm, np.ones(len(lm), bool))])


def test_unknown_run_is_an_input_error():
    with pytest.raises(InputError, match="no run"):
        load_counter("nope")


# -- store and CLI --------------------------------------------------------------------------

def build_dataset(name: str, clips: dict[str, tuple[str, np.ndarray, list[tuple[int, int]] | None]]) -> store.Dataset:
    """A dataset with ``videos``, ``poses`` (source corpus) and imported repetition segments."""
    from gymdata.pose import poses_table

    videos, results, segments = [], [], []
    for vid, (exercise, lm, reps) in clips.items():
        videos.append({"video_id": vid, "corpus": "videos", "path": f"{vid}.mp4", "media_kind": "video",
                       "exercise": exercise, "fps": 30.0, "num_frames": len(lm), "width": 640, "height": 480})
        det = lm[..., :3].any(axis=(1, 2))
        results.append({"frames": np.arange(len(lm), dtype=np.int32), "landmarks": lm.astype(np.float32),
                        "world": np.zeros((len(lm), 33, 3), np.float32), "detected": det})
        segments += [{"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": s, "end_frame": e,
                      "origin": "imported", "annotator": "repcount:test.csv", "created_at": store.now()}
                     for s, e in reps or []]
    with store.building(name) as ds, ds.transaction() as txn:
        txn.write("videos", videos)
        txn.write("poses", poses_table(list(clips), results, "corpus"))
        txn.write("segments", segments)
    return store.open_dataset(name)


def test_train_count_write_cli_round_trip():
    clips = {f"sq{k}": ("squat", *clip(n, seed=20 + k)) for k, n in enumerate((3, 5, 4, 6))}
    clips["lu0"] = ("lunge", *clip(4, active="lunge", seed=30))
    clips["pl0"] = ("plank", np.repeat(pose("plank")[None], 90, axis=0).astype(np.float32), None)
    ds = build_dataset("reps", clips)
    assert true_counts(ds) == {"sq0": 3, "sq1": 5, "sq2": 4, "sq3": 6, "lu0": 4}

    code, out, err = run_cli("train", "gmm", "--data", "reps", "--exercise", "squat", "--run-id", "gmm-reps")
    assert code == 0, err
    folder = run_path("gmm-reps")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "metrics.json", "model.npz"}
    config = json.loads((folder / "config.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())["exercises"]["squat"]
    assert config["model"] == "gmm" and config["exercises"] == ["squat"]
    assert len(metrics["train_clips"]) == 1 and metrics["eval_clips"] == 3
    assert metrics["gmm"]["obo"] == 1.0 and metrics["periodic"]["obo"] == 1.0

    for _ in range(2):  # the second write replaces the first
        code, out, err = run_cli("count", "reps", "--run", "gmm-reps", "--write")
        assert code == 0, err
    assert "MAE" in out and "gmm-reps" in out and "periodic" in out
    seg = store.open_dataset("reps").df("segments")
    model = seg[seg["origin"] == "model"]
    assert set(model[model["annotator"] == "gmm-reps"]["video_id"]) == {"sq0", "sq1", "sq2", "sq3"}
    assert set(model[model["annotator"] == "periodic"]["video_id"]) == {"lu0", "pl0"}
    reps = model[model["kind"] == "repetition"].groupby("video_id").size().to_dict()
    assert reps == {"sq0": 3, "sq1": 5, "sq2": 4, "sq3": 6, "lu0": 4}
    states = model[model["kind"] == "state"]
    assert set(states["label"]) == {"A", "R"}
    for vid, group in states.groupby("video_id"):  # the A/R runs tile each clip
        group = group.sort_values("start_frame")
        assert group["start_frame"].iloc[0] == 0 and group["end_frame"].iloc[-1] == len(clips[vid][1]) - 1
        assert (group["start_frame"].to_numpy()[1:] == group["end_frame"].to_numpy()[:-1] + 1).all()
    imported = seg[seg["origin"] == "imported"]
    assert len(imported) == 3 + 5 + 4 + 6 + 4  # untouched

    # the periodic counter's segments of a clip replace only its own earlier ones
    [(_, res)] = count_dataset(store.open_dataset("reps"), video_ids=["sq0"])
    for _ in range(2):
        write_segments(store.open_dataset("reps"), {"sq0": res})
    seg = store.open_dataset("reps").df("segments", filter={"video_id": "sq0", "kind": "repetition"})
    assert seg.groupby("annotator").size().to_dict() == {"periodic": 3, "gmm-reps": 3, "repcount:test.csv": 3}

    code, out, err = run_cli("count", "reps", "--clip", "pl0")
    assert code == 0 and "static" in out


def test_count_cli_errors():
    code, _, err = run_cli("count", "nothere")
    assert code != 0 and err.startswith("error:") and "nothere" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("count", "missing/clip.mp4")
    assert code != 0 and "no such video file or dataset" in err
    with store.building("empty") as ds, ds.transaction() as txn:
        txn.write("videos", [{"video_id": "a", "corpus": "videos", "path": "a.mp4", "media_kind": "video",
                              "exercise": "squat"}])
    code, _, err = run_cli("count", "empty")
    assert code != 0 and "gymdata pose empty" in err
    build_dataset("one", {"a": ("squat", *clip(2, seed=40))})
    code, _, err = run_cli("count", "one", "--run", "nope")
    assert code != 0 and "no run 'nope'" in err
    code, _, err = run_cli("count", "one", "--clip", "zz")
    assert code != 0 and "unknown clip" in err
    code, _, err = run_cli("train", "gmm", "--data", "one", "--exercise", "lunge")
    assert code != 0 and "lunge" in err


# -- the sample corpus ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory):
    from gymdata.sample import generate_sample

    out = tmp_path_factory.mktemp("sample") / "corpus"
    generate_sample(out, seed=0, subjects=2, takes=2, reps=(3, 5), size=64, fps=15, exercises=("squat", "lunge"))
    return out


@pytest.mark.slow
def test_sample_corpus_one_shot_from_imported_repetitions(sample_corpus):
    """The sample's videos and RepCount CSV imported as the importers do, poses from its
    ``poses/*.npy``: one-shot GMM (A/R from the imported repetitions) and the periodic counter."""
    from gymdata.pose import poses_table

    videos = sample_corpus / "videos"
    assert run_cli("import", "videos", str(videos), "--name", "sample", "--meta", str(videos / "subjects.csv"))[0] == 0
    assert run_cli("import", "repcount", str(videos / "repcount.csv"), "--name", "sample")[0] == 0
    ds = store.open_dataset("sample")
    truth = json.loads((sample_corpus / "truth.json").read_text())
    pose_file = {v: sample_corpus / t["poses"][view] for t in truth["takes"] for view, v in t["videos"].items()}
    ids, results = [], []
    for row in ds.read("videos", columns=["video_id", "path"]).to_pylist():
        lm = np.load(pose_file[f"videos/{row['path']}"])
        ids.append(row["video_id"])
        results.append({"frames": np.arange(len(lm), dtype=np.int32), "landmarks": lm,
                        "world": np.zeros((len(lm), 33, 3), np.float32), "detected": np.ones(len(lm), bool)})
    ds.append("poses", poses_table(ids, results, "corpus"))

    code, _, err = run_cli("train", "gmm", "--data", "sample", "--run-id", "gmm-sample")
    assert code == 0, err
    metrics = json.loads((run_path("gmm-sample") / "metrics.json").read_text())["exercises"]
    for ex in ("squat", "lunge"):  # trained on 1 of 8 clips (one view), evaluated on the other 7
        assert metrics[ex]["eval_clips"] == 7
        assert metrics[ex]["gmm"]["obo"] >= 0.85 and metrics[ex]["gmm"]["mae"] <= 0.2
        assert metrics[ex]["periodic"]["obo"] >= 0.85 and metrics[ex]["periodic"]["mae"] <= 0.2
    counter = load_counter("gmm-sample")
    results = count_dataset(store.open_dataset("sample"), counter)
    gt = true_counts(store.open_dataset("sample"))
    m = count_metrics([r.count for _, r in results], [gt[c["video_id"]] for c, _ in results])
    assert m["clips"] == 16 and m["obo"] >= 0.9


def test_gmm_trains_on_labelled_states_when_a_clip_has_them():
    from baselines.counting_data import labelled_masks
    from baselines.gmm import train

    lm, reps = clip(4, seed=50)
    ds = build_dataset("states", {"a": ("squat", lm, reps), "b": ("squat", *clip(3, seed=51))})
    s, e = reps[1]
    stamp = store.now()  # one edit: its rows share the time (a snapshot, see gymdata.labels)
    ds.append("segments", [{"video_id": "a", "kind": "state", "label": lab, "start_frame": lo, "end_frame": hi,
                            "origin": "human", "annotator": "ann", "created_at": stamp}
                           for lab, lo, hi in (("R", 0, s - 1), ("A", s + 5, e - 5))])
    masks = labelled_masks(ds, {"a": len(lm), "b": 10})
    active, labelled = masks["a"]
    assert labelled.sum() == s + (e - 5) - (s + 5) + 1 and active.sum() == (e - 5) - (s + 5) + 1
    assert active[s + 5 : e - 4].all() and not active[:s].any()  # the states, not the repetitions
    run, metrics = train("states", clips_per_exercise=0, run_id="gmm-states")
    assert metrics["exercises"]["squat"]["train_clips"] == ["a", "b"]
    assert load_counter(run).count(clip(5, seed=52)[0], 30.0, exercise="squat").count == 5
