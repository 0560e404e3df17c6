"""Benchmark: ``gymdata fiftyone push`` of 100 clips x 300 frames of BlazePose keypoints.

A store of N H.264 clips (hard links to one small video) with per-frame landmarks (a squatting
skeleton plus noise), three criteria, a score, three repetitions and A/R state runs per clip is
pushed to a fresh FiftyOne dataset; then pushed again (nothing changed: an update in place). The
reference, in the same run and on the same database, is FiftyOne's naive route: ``fo.Sample`` objects
with every frame attached (``sample.frames[i] = fo.Frame(pose=fo.Keypoints(...), state=...)``) and
the same labels, added with ``dataset.add_samples``. The naive route is slow (tens of milliseconds a
frame), so by default it runs on ``--naive-clips`` clips and is compared per frame (its cost is linear
in frames); ``--naive-clips 100`` runs it on everything.

The FiftyOne import and the database connection happen before any clock starts. The database is a
private ``mongod`` on 127.0.0.1 (FiftyOne's bundled binary) unless ``--database-uri`` names one.

Printed: seconds, clips/s and frames/s of the push, the re-push, the naive route, and the ratio of
the push's frames/s to the naive route's.

Usage::

    python benchmarks/bench_push.py [--clips 100] [--frames 300] [--naive-clips 10 | --no-naive]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import write_video  # noqa: E402
from tests.fo_support import free_port, kill_tree, mongod_binary, squat_landmarks, wait_port  # noqa: E402

CRITERIA = ("Depth L", "Hips back L", "Knees over toes F")


def build_store(root: Path, clips: int, frames: int):
    """The store dataset ``bench`` (see the module docstring)."""
    import pyarrow as pa

    from gymdata import store

    media = root / "media"
    template = write_video(media / "template.mp4", frames=frames, size=(64, 48), fps=30.0)
    rng = np.random.default_rng(0)
    videos, criteria, scores, segments = [], [], [], []
    label = {"origin": "imported", "annotator": "bench", "created_at": store.now()}
    lm = []
    for c in range(clips):
        vid = f"clip{c:04d}"
        os.link(template, media / f"{vid}.mp4")
        videos.append({"video_id": vid, "corpus": "bench", "path": f"{vid}.mp4", "media_kind": "video",
                       "exercise": "squat", "subject": f"p{c % 10}", "recording": f"take{c // 2}",
                       "view": ("frontal", "lateral")[c % 2], "fps": 30.0, "num_frames": frames, "width": 64,
                       "height": 48, "duration": frames / 30.0, "extras": "{}"})
        lm.append(squat_landmarks(frames, period=frames / 3) + rng.normal(0, 0.004, (frames, 33, 4)))
        criteria += [{"video_id": vid, "criterion": name, "passed": bool((c + i) % 2), "value": 1.0, **label}
                     for i, name in enumerate(CRITERIA)]
        scores.append({"video_id": vid, "name": "quality", "value": float(c % 101), "scale_min": 0.0,
                       "scale_max": 100.0, **label})
        third = frames // 3
        for r in range(3):
            segments.append({"video_id": vid, "kind": "repetition", "label": "rep", "start_frame": r * third,
                             "end_frame": (r + 1) * third - 1, **label})
            segments += [{"video_id": vid, "kind": "state", "label": "R", "start_frame": r * third,
                          "end_frame": r * third + third // 2 - 1, **label},
                         {"video_id": vid, "kind": "state", "label": "A", "start_frame": r * third + third // 2,
                          "end_frame": (r + 1) * third - 1, **label}]
    landmarks = np.concatenate(lm).astype(np.float32)
    landmarks[..., 3] = 0.9
    poses = pa.table({
        "video_id": np.repeat([v["video_id"] for v in videos], frames),
        "frame": np.tile(np.arange(frames, dtype=np.int32), clips),
        "layout": ["blazepose33"] * (clips * frames),
        "landmarks": pa.FixedSizeListArray.from_arrays(landmarks.reshape(-1), 33 * 4).cast(pa.list_(pa.float32())),
        "detected": np.ones(clips * frames, bool),
        "source": ["bench"] * (clips * frames),
    })
    ds = store.create("bench", {"videos": videos, "poses": poses, "criteria": criteria, "scores": scores,
                                "segments": segments},
                      source={"corpus": "bench", "root": str(media), "importer": "bench", "version": "1"})
    return ds, landmarks.reshape(clips, frames, 33, 4)


def naive_push(fo, ds, landmarks: np.ndarray, clips: int) -> tuple[float, int]:
    """FiftyOne's naive route on the first ``clips`` clips: returns (seconds, frames added)."""
    videos = ds.df("videos").sort_values("video_id").head(clips)
    segs = ds.df("segments")
    crit = ds.df("criteria")
    start = time.perf_counter()
    dataset = fo.Dataset(f"bench-naive-{uuid.uuid4().hex[:6]}")
    samples, n = [], 0
    for c, row in enumerate(videos.itertuples(index=False)):
        sample = fo.Sample(filepath=str(ds.resolve(row.corpus, row.path)), video_id=row.video_id)
        mine = crit[crit["video_id"] == row.video_id]
        sample["criteria"] = fo.Classifications(classifications=[
            fo.Classification(label=r.criterion, passed=bool(r.passed)) for r in mine.itertuples()])
        reps = segs[(segs["video_id"] == row.video_id) & (segs["kind"] == "repetition")]
        sample["repetitions"] = fo.TemporalDetections(detections=[
            fo.TemporalDetection(label="rep", support=[int(r.start_frame) + 1, int(r.end_frame) + 1])
            for r in reps.itertuples()])
        states = segs[(segs["video_id"] == row.video_id) & (segs["kind"] == "state")]
        label_of = {}
        for r in states.itertuples():
            label_of.update({f: r.label for f in range(int(r.start_frame), int(r.end_frame) + 1)})
        for f in range(landmarks.shape[1]):
            pts = landmarks[c, f]
            sample.frames[f + 1] = fo.Frame(
                pose=fo.Keypoints(keypoints=[fo.Keypoint(label="person", points=pts[:, :2].tolist(),
                                                         confidence=pts[:, 3].tolist())]),
                state=fo.Classification(label=label_of[f]) if f in label_of else None)
            n += 1
        samples.append(sample)
    dataset.add_samples(samples, progress=False)
    seconds = time.perf_counter() - start
    dataset.delete()
    return seconds, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--naive-clips", type=int, default=10, help="clips for the naive route (per-frame compare)")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--no-takes", action="store_true", help="push without the two-view take slice")
    parser.add_argument("-j", "--workers", type=int, default=2)
    parser.add_argument("--database-uri", default=None, help="use this MongoDB instead of a private mongod")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-push-"))
    os.environ.update({"GYMDATA_HOME": str(root / "store"), "FIFTYONE_DO_NOT_TRACK": "true",
                       "FIFTYONE_DATABASE_VALIDATION": "false",
                       "FIFTYONE_DATABASE_NAME": f"bench-push-{uuid.uuid4().hex[:8]}"})
    mongod = None
    try:
        if args.database_uri:
            uri = args.database_uri
        else:
            port = free_port()
            (root / "db").mkdir()
            mongod = subprocess.Popen([str(mongod_binary()), "--dbpath", str(root / "db"), "--bind_ip", "127.0.0.1",
                                       "--port", str(port), "--quiet", "--logpath", str(root / "mongod.log")],
                                      start_new_session=True)
            wait_port(port)
            uri = f"mongodb://127.0.0.1:{port}"
        os.environ["FIFTYONE_DATABASE_URI"] = uri
        t = time.perf_counter()
        ds, landmarks = build_store(root, args.clips, args.frames)
        print(f"store built in {time.perf_counter() - t:.1f}s: {args.clips} clips x {args.frames} frames", flush=True)

        import fiftyone as fo

        from annotators.push import push

        fo.list_datasets()  # connect before the clock starts
        total = args.clips * args.frames
        t = time.perf_counter()
        first = push("bench", workers=args.workers, progress=False, make_takes=not args.no_takes)
        first_s = time.perf_counter() - t
        pushed = fo.load_dataset("bench")
        in_fo = pushed.select_group_slices(["frontal", "lateral"]).count("frames")  # the clips (not the takes)
        assert first.frames_written == total and in_fo == total, (first, in_fo)
        t = time.perf_counter()
        again = push("bench", workers=args.workers, progress=False, make_takes=not args.no_takes)
        again_s = time.perf_counter() - t
        result = {"clips": args.clips, "frames": total, "push_s": round(first_s, 2),
                  "push_clips_per_s": round(args.clips / first_s, 1), "push_frames_per_s": round(total / first_s),
                  "repush_s": round(again_s, 2), "repush_frames_written": again.frames_written,
                  "takes": first.takes, "takes_encoded": first.takes_encoded}
        if not args.no_naive:
            naive_s, naive_frames = naive_push(fo, ds, landmarks, min(args.naive_clips, args.clips))
            result.update({"naive_clips": min(args.naive_clips, args.clips), "naive_frames": naive_frames,
                           "naive_s": round(naive_s, 2), "naive_frames_per_s": round(naive_frames / naive_s),
                           "speedup_per_frame": round((total / first_s) / (naive_frames / naive_s), 1)})
        print(json.dumps(result, indent=2))
        print(f"push: {first_s:.1f}s for {args.clips} clips x {args.frames} frames = "
              f"{args.clips / first_s:.1f} clips/s, {total / first_s:,.0f} frames/s; "
              f"re-push (no change) {again_s:.1f}s")
        if not args.no_naive:
            print(f"naive add_samples with frames: {result['naive_frames_per_s']:,} frames/s "
                  f"({result['naive_clips']} clips) -> push is {result['speedup_per_frame']}x faster per frame")
    finally:
        if mongod is not None:
            kill_tree(mongod)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
