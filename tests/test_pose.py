"""gymdata pose on tiny generated clips: every frame written, cache by content, resume after an
interruption, replace only MediaPipe rows, sampled frames, parallel workers, bad clips skipped."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pyarrow.compute as pc
import pytest
from conftest import run_cli, write_video

from gymdata import pose, pose_worker, store
from gymdata.cache import ResultCache, content_hash, file_signature, result_key
from gymdata.errors import DatasetNotFoundError, InputError
from gymdata.features import load_pose_sequences
from gymdata.validate import check

SOURCE = pose.PoseParams().source


def write_frames(folder: Path, names: list[str], size=(64, 48)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        img = np.full((size[1], size[0], 3), 30 + 10 * i, np.uint8)
        cv2.imwrite(str(folder / name), img)


def make_dataset(name: str, root: Path, clips: list[tuple[str, str, str, int]]) -> store.Dataset:
    """A dataset whose clips (video_id, path under root, media_kind, num_frames) live under root."""
    rows = [{"video_id": vid, "corpus": "videos", "path": path, "media_kind": kind, "exercise": "squat",
             "fps": 25.0, "num_frames": n, "width": 64, "height": 48, "duration": n / 25.0,
             "extras": json.dumps({"codec": "h264"})} for vid, path, kind, n in clips]
    with store.building(name) as ds, ds.transaction() as txn:
        txn.write("videos", rows)
        txn.set_source("videos", root=str(root), importer="test", version="1")
    return store.open_dataset(name)


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    write_video(root / "a.mp4", frames=12)
    write_video(root / "b.mp4", frames=8, size=(48, 64))
    write_frames(root / "Squat_frames", [f"7_idx_0_{i}.jpg" for i in range(1, 6)] + ["9_idx_0_1.jpg"])
    write_frames(root / "flex" / "View-1", [f"img_{i:05d}.JPG" for i in range(1, 4)])
    return root


CLIPS = [("a", "a.mp4", "video", 12), ("b", "b.mp4", "video", 8),
         ("alex", "Squat_frames/7_idx_0_*.jpg", "frames", 5), ("flex", "flex/View-1", "frames", 3)]


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


def poses_of(ds: store.Dataset) -> dict[str, list[int]]:
    tbl = ds.read("poses", columns=["video_id", "frame", "source"], filter=pc.field("source") == SOURCE)
    out: dict[str, list[int]] = {}
    for vid, frame in zip(tbl.column("video_id").to_pylist(), tbl.column("frame").to_pylist()):
        out.setdefault(vid, []).append(frame)
    return {vid: sorted(frames) for vid, frames in out.items()}


def test_every_frame_of_videos_and_frame_folders(corpus, cache_dir):
    ds = make_dataset("d", corpus, CLIPS)
    report = pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    assert (report.extracted, report.cached, report.failed) == (4, 0, [])
    ds.reload()
    assert poses_of(ds) == {vid: list(range(n)) for vid, _, _, n in CLIPS}
    assert check(ds) == []
    tbl = ds.read("poses")
    assert set(tbl.column("layout").to_pylist()) == {"blazepose33"}
    assert set(pc.list_value_length(tbl.column("landmarks")).to_pylist()) == {132}
    assert tbl.column("detected").to_pylist() == [False] * len(tbl)  # no person in a moving square
    assert tbl.column("world").null_count == len(tbl)  # world is null where nobody was found
    extras = {r["video_id"]: json.loads(r["extras"]) for r in ds.read("videos").to_pylist()}
    assert extras["a"]["codec"] == "h264"  # the importer's extras are kept
    assert extras["a"]["pose"]["flags"] == ["no_person"] and extras["a"]["pose"]["source"] == SOURCE
    assert "no_person" in "\n".join(report.lines())


def test_bad_clips_are_reported_and_skipped(corpus, cache_dir):
    (corpus / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    ds = make_dataset("d", corpus, [*CLIPS[:2], ("broken", "broken.mp4", "video", 10), ("gone", "gone.mp4", "video", 5),
                                    ("nofolder", "nothing/*.jpg", "frames", 3)])
    code, out, err = run_cli("pose", "d", "--cache-dir", str(cache_dir), "--quiet")
    assert code == 0, err
    failed = dict(pose.extract_poses("d", cache_dir=cache_dir, progress=False).failed)
    assert set(failed) == {"broken", "gone", "nofolder"}
    assert "video file not found" in failed["gone"] and "frame folder not found" in failed["nofolder"]
    assert "failed 3 clip(s)" in out and "broken" in out
    assert set(poses_of(ds.reload())) == {"a", "b"}


def test_rerun_and_the_same_clip_under_another_name_cost_nothing(corpus, cache_dir, tmp_path, monkeypatch):
    make_dataset("d", corpus, CLIPS)
    pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(corpus / "a.mp4", other / "renamed.mp4")  # a copy: new path, new inode, same bytes
    make_dataset("e", other, [("x", "renamed.mp4", "video", 12)])

    def no_mediapipe(*args, **kwargs):
        raise AssertionError("MediaPipe ran on a cached clip")

    monkeypatch.setattr(pose_worker, "estimate", no_mediapipe)
    again = pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    assert (again.extracted, again.cached, again.up_to_date, again.failed) == (0, 4, 4, [])
    copy = pose.extract_poses("e", cache_dir=cache_dir, progress=False)
    assert (copy.extracted, copy.cached, copy.up_to_date) == (0, 1, 0)
    assert poses_of(store.open_dataset("e")) == {"x": list(range(12))}


def test_interrupted_run_resumes_without_recomputing(corpus, cache_dir, monkeypatch):
    ds = make_dataset("d", corpus, CLIPS)
    real, calls = pose_worker.estimate, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pose_worker, "estimate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    done = poses_of(ds.reload())
    assert len(done) == 2  # the finished clips were committed, complete
    assert all(frames == list(range(n)) for vid, _, _, n in CLIPS if (frames := done.get(vid)) is not None)
    assert check(ds) == []
    monkeypatch.setattr(pose_worker, "estimate", real)
    resumed = pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    assert (resumed.extracted, resumed.up_to_date) == (2, 2)
    assert poses_of(ds.reload()) == {vid: list(range(n)) for vid, _, _, n in CLIPS}


def test_interrupted_commit_leaves_the_table_as_it_was(corpus, cache_dir, monkeypatch):
    ds = make_dataset("d", corpus, CLIPS)

    def broken_commit(self):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(store.Transaction, "commit", broken_commit)
        pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    assert ds.reload().count("poses") == 0 and check(ds) == []  # the parts written are not referenced
    resumed = pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    assert (resumed.extracted, resumed.cached) == (0, 4)
    assert poses_of(ds.reload()) == {vid: list(range(n)) for vid, _, _, n in CLIPS}


def test_replaces_mediapipe_rows_and_keeps_other_sources(corpus, cache_dir):
    ds = make_dataset("d", corpus, CLIPS[:2])

    def rows(source, frames):
        return [{"video_id": "a", "frame": f, "layout": "blazepose33", "landmarks": [0.5] * 132,
                 "detected": True, "source": source} for f in frames]

    ds.append("poses", rows("corpus", range(12)) + rows("mediapipe-0.10.21/full?mode=static&frames=3&det=0.5", [0, 6, 11]))
    pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    sources = pc.value_counts(ds.reload().read("poses", filter={"video_id": "a"}).column("source")).to_pylist()
    assert {s["values"]: s["counts"] for s in sources} == {"corpus": 12, SOURCE: 12}
    forced = pose.extract_poses("d", cache_dir=cache_dir, force=True, progress=False)
    assert forced.extracted == 2 and ds.reload().count("poses") == 12 + 12 + 8
    assert check(ds) == []


def test_sampled_frames(corpus, cache_dir):
    ds = make_dataset("d", corpus, [CLIPS[0], ("short", "flex/View-1", "frames", 3)])
    code, out, err = run_cli("pose", "d", "--frames", "4", "--cache-dir", str(cache_dir), "--quiet")
    assert code == 0, err
    source = pose.PoseParams(4).source
    assert "mode=static&frames=4" in source and source in out
    tbl = ds.reload().read("poses")
    assert set(tbl.column("source").to_pylist()) == {source}
    got = {}
    for vid, frame in zip(tbl.column("video_id").to_pylist(), tbl.column("frame").to_pylist()):
        got.setdefault(vid, []).append(frame)
    assert sorted(got["a"]) == [0, 4, 7, 11]  # linspace(0, 11, 4) rounded
    assert sorted(got["short"]) == [0, 1, 2]  # 3 frames, T = 4: each frame once
    assert load_pose_sequences(ds, ["short"], frames=4)["short"].shape == (4, 33, 4)


def test_parallel_workers_give_the_same_rows(corpus, cache_dir, tmp_path):
    ds = make_dataset("d", corpus, CLIPS)
    code, out, err = run_cli("pose", "d", "-j", "2", "--cache-dir", str(cache_dir), "--quiet")
    assert code == 0, err
    assert "4 extracted" in out and "frames/s" in out
    parallel = ds.reload().read("poses").sort_by([("video_id", "ascending"), ("frame", "ascending")])
    serial = pose.extract_poses("d", cache_dir=tmp_path / "other-cache", force=True, progress=False)
    assert serial.extracted == 4
    again = ds.reload().read("poses").sort_by([("video_id", "ascending"), ("frame", "ascending")])
    assert again.equals(parallel)


def test_cli_errors_are_one_line(cache_dir):
    code, _, err = run_cli("pose", "nope", "--cache-dir", str(cache_dir))
    assert code != 0 and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1
    with pytest.raises(DatasetNotFoundError):
        pose.extract_poses("nope")


# -- pieces ----------------------------------------------------------------------------------------


def test_prefetch_passes_items_and_errors_and_stops():
    def items():
        yield 1
        yield 2
        raise ValueError("bad frame")

    got = []
    with pytest.raises(ValueError, match="bad frame"):
        got.extend(pose_worker.prefetch(items()))
    assert got == [1, 2]
    before = threading.active_count()
    gen = pose_worker.prefetch(iter(range(10**6)), depth=2)
    assert next(gen) == 0
    gen.close()
    assert threading.active_count() <= before


def test_clip_quality_flags():
    n = 60
    frames = np.arange(n, dtype=np.int32)
    base = np.zeros((33, 4), np.float32)
    base[:, 3] = 0.9
    base[[11, 12], 1], base[[23, 24], 1], base[[25, 26, 27, 28], 1] = 0.3, 0.5, 0.7
    base[:, 0] = 0.5
    still = np.repeat(base[None], n, axis=0)
    q = pose.clip_quality({"frames": frames, "landmarks": still, "detected": np.ones(n, bool)})
    assert q["flags"] == ["static"] and q["detection_rate"] == 1.0
    moving = still.copy()
    moving[:, 25:29, 1] += 0.2 * np.sin(np.arange(n) / 5)[:, None]  # knees and ankles move
    moving[:, 13:17, 0] += 0.3 * np.sin(np.arange(n) / 5)[:, None]
    moving[:, 11:13, 1] += 0.1 * np.sin(np.arange(n) / 5)[:, None]
    moving[:, 23:25, 0] += 0.1 * np.sin(np.arange(n) / 5)[:, None]
    moving[:, [15, 16, 25, 26, 27, 28], 1] += 0.2 * np.cos(np.arange(n) / 5)[:, None]
    q = pose.clip_quality({"frames": frames, "landmarks": moving, "detected": np.ones(n, bool)})
    assert q["flags"] == [] and q["motion"] > pose.STATIC_MOTION
    switching = moving.copy()
    switching[20:40, :, 0] += 0.4  # the track jumps to someone else and back
    q = pose.clip_quality({"frames": frames, "landmarks": switching, "detected": np.ones(n, bool),
                           "people_checked": np.array([15, 30, 45]), "people_other": np.array([True, True, False])})
    assert q["jumps"] == 2 and set(q["flags"]) == {"unstable_track", "multiple_people"}
    nobody = pose.clip_quality({"frames": frames, "landmarks": np.zeros_like(still), "detected": np.zeros(n, bool)})
    assert nobody["flags"] == ["no_person"]
    det = np.ones(n, bool)
    det[::3] = det[1::3] = False
    q = pose.clip_quality({"frames": frames, "landmarks": moving, "detected": det})
    assert "low_detection" in q["flags"] and q["lost"] == 19


def test_poses_table_from_arrays_conforms():
    arrays = {"frames": np.array([0, 1, 2], np.int32), "landmarks": np.random.rand(3, 33, 4).astype(np.float32),
              "world": np.random.rand(3, 33, 3).astype(np.float32), "detected": np.array([True, False, True])}
    tbl = store.conform("poses", pose.poses_table(["v"], [arrays], SOURCE))
    assert tbl.column("world").to_pylist()[1] is None
    np.testing.assert_array_equal(np.array(tbl.column("world").to_pylist()[2]), arrays["world"][2].reshape(-1))
    np.testing.assert_array_equal(np.array(tbl.column("landmarks").to_pylist()), arrays["landmarks"].reshape(3, -1))
    assert len(pose.poses_table([], [], SOURCE)) == 0


def test_poses_table_from_corpus_arrays():
    """Corpora ship (frames, joints, 3) arrays: frames 0.., NaN visibility, zeros or NaN = not detected."""
    xyz = np.random.rand(4, 33, 3).astype(np.float32)
    xyz[1] = 0.0
    xyz[2] = np.nan
    tbl = store.conform("poses", pose.poses_table(["a", "b"], [xyz, xyz[:1]], "corpus"))
    assert tbl.column("video_id").to_pylist() == ["a"] * 4 + ["b"]
    assert tbl.column("frame").to_pylist() == [0, 1, 2, 3, 0]
    assert tbl.column("detected").to_pylist() == [True, False, False, True, True]
    assert tbl.column("world").null_count == 5 and set(tbl.column("source").to_pylist()) == {"corpus"}
    lm = np.array(tbl.column("landmarks").to_pylist()[0], np.float32).reshape(33, 4)
    np.testing.assert_array_equal(lm[:, :3], xyz[0])
    assert np.isnan(lm[:, 3]).all()
    flex = pose.poses_table(["f"], [np.ones((2, 21, 3), np.float32)], "mocap", layout="flex21")
    assert set(flex.column("layout").to_pylist()) == {"flex21"}
    assert len(flex.column("landmarks").to_pylist()[0]) == 84
    with pytest.raises(ValueError, match="expected"):
        pose.poses_table(["f"], [np.ones((2, 21, 3), np.float32)], "mocap")  # 21 joints are not blazepose33


def test_file_poses_are_the_cached_clip_result(corpus, cache_dir):
    """Poses of one video file: the same rows as gymdata pose gives its clip, from the shared cache."""
    ds = make_dataset("d", corpus, CLIPS[:1])
    pose.extract_poses("d", cache_dir=cache_dir, progress=False)
    got = pose.file_poses(corpus / "a.mp4", cache_dir=cache_dir)
    assert got.info.num_frames == 12 and got.params.source == SOURCE
    rows = ds.reload().read("poses")
    np.testing.assert_array_equal(got.frames, rows.column("frame").to_numpy())
    np.testing.assert_array_equal(got.landmarks.reshape(12, -1), np.array(rows.column("landmarks").to_pylist()))
    lm, det = got.dense()
    assert lm.shape == (12, 33, 4) and det.shape == (12,) and not det.any()
    sampled = pose.file_poses(corpus / "a.mp4", frames=4, cache_dir=cache_dir)
    assert sampled.frames.tolist() == [0, 4, 7, 11] and sampled.params.frames == 4
    assert pose.file_poses(corpus / "a.mp4", frames=50, cache_dir=cache_dir).params.frames is None  # short: whole
    with pytest.raises(InputError):
        pose.file_poses(corpus / "missing.mp4", cache_dir=cache_dir)


def test_cache_keys_by_content_and_memo(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    assert content_hash([a]) == content_hash([b]) != content_hash([a, b])
    assert file_signature([a]) != file_signature([b])  # another inode
    key = result_key(content_hash([a]), {"frames": None})
    assert key != result_key(content_hash([a]), {"frames": 16})
    cache = ResultCache(tmp_path / "c")
    assert cache.load(key) is None
    cache.save(key, {"x": np.arange(3)})
    assert cache.load(key)["x"].tolist() == [0, 1, 2]
    cache.remember(file_signature([a]), content_hash([a]))
    with open(tmp_path / "c" / ResultCache.MEMO, "a") as fh:
        fh.write("torn line without a tab")
    fresh = ResultCache(tmp_path / "c")
    assert fresh.known_hash(file_signature([a])) == content_hash([a])
    a.write_bytes(b"y" * 10)
    assert fresh.known_hash(file_signature([a])) is None  # modified: hashed again


def test_transaction_delete_rewrites_only_matching_parts():
    with store.building("t") as ds:
        pass
    ds = store.open_dataset("t")

    def rows(vid, source, n):
        return [{"video_id": vid, "frame": f, "layout": "blazepose33", "landmarks": [0.0] * 132, "detected": False,
                 "source": source} for f in range(n)]

    ds.append("poses", rows("a", "corpus", 3) + rows("a", "mediapipe-x", 3))
    ds.append("poses", rows("b", "mediapipe-x", 2))
    untouched = ds.meta["tables"]["poses"]["parts"][1]
    with ds.transaction() as txn:
        removed = txn.delete("poses", pc.field("video_id").isin(["a"]) & pc.starts_with(pc.field("source"), "mediapipe"))
    assert removed == 3 and ds.count("poses") == 5 and untouched in ds.meta["tables"]["poses"]["parts"]
    with ds.transaction() as txn:
        assert txn.delete("poses", {"video_id": "zz"}) == 0
    assert ds.count("poses") == len(ds.read("poses")) == 5
