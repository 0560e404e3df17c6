"""gymdata pose --engine ray on a local Ray (2 CPUs): the same rows as the local engine."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli, write_video

from gymdata import pose, store

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_engine_gives_the_same_poses_as_the_local_one(tmp_path):
    root = tmp_path / "corpus"
    clips = [("a", "a.mp4", 10), ("b", "b.mp4", 6), ("c", "c.mp4", 4)]
    for _, path, n in clips:
        write_video(root / path, frames=n)
    (root / "bad.mp4").write_bytes(b"not a video")
    rows = [{"video_id": vid, "corpus": "videos", "path": path, "media_kind": "video", "exercise": "squat",
             "fps": 25.0, "num_frames": n, "width": 64, "height": 48, "duration": n / 25.0, "extras": json.dumps({})}
            for vid, path, n in [*clips, ("bad", "bad.mp4", 5)]]
    with store.building("r") as ds, ds.transaction() as txn:
        txn.write("videos", rows)
        txn.set_source("videos", root=str(root), importer="test", version="1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        code, out, err = run_cli("pose", "r", "--engine", "ray", "--cache-dir", str(tmp_path / "ray-cache"), "--quiet")
    finally:
        ray.shutdown()
    assert code == 0, err
    assert "3 extracted" in out and "1 failed" in out and "bad" in out
    ds = store.open_dataset("r")
    by_ray = ds.read("poses").sort_by([("video_id", "ascending"), ("frame", "ascending")])
    assert by_ray.column("video_id").to_pylist() == ["a"] * 10 + ["b"] * 6 + ["c"] * 4
    local = pose.extract_poses("r", cache_dir=tmp_path / "local-cache", force=True, progress=False)
    assert local.extracted == 3
    assert ds.reload().read("poses").sort_by([("video_id", "ascending"), ("frame", "ascending")]).equals(by_ray)
