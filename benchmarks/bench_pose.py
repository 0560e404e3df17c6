"""Pose extraction speed on the real clips of ../shared/realdata, and pose storage per frame.

    python benchmarks/bench_pose.py [--json out.json] [--parts worker,scaling,full] [--work DIR]

1. **Per worker vs raw MediaPipe**: for each clip of a mixed set (720p, 640x360, portrait, 202x360),
   its frames are decoded into memory, then timed: ``Pose.process`` on those frames (one Pose, reset
   per clip: the least a correct loop does) and our worker function ``gymdata.pose.extract_clip``
   (hashing, decoding, MediaPipe, the second-person check, the cache write) on the same clip, in the
   same process. Ratio = our frames/s / raw frames/s over the set.
2. **-j 1 vs -j 2**: ``extract_poses(force=True)`` (what ``gymdata pose --force`` runs) on a dataset
   of those clips, one worker then two, each in a fresh process (process start and MediaPipe's import
   included).
3. **Cache-hit rerun**: every video of the real-data folder imported (``--exercise other``), posed
   with -j 2 (the first run fills the cache), then ``gymdata pose`` run again as a command: the
   wall time of that whole command.
4. **Storage**: bytes of the ``poses`` Parquet parts per frame, scaled to 1M frames.

Run it on a quiet machine: every figure is a wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
sys.path.insert(0, str(ROOT))

#: A mixed set: 720p side views (MPEG-4 and H.264), 640x360, a portrait clip, a small one (1,192 frames).
CLIPS = [
    "computervision/data/squat/correct/squat_correct_001.avi",
    "computervision/data/squat/correct/squat_correct_007.mp4",
    "computervision/data/videos/pushup_incorrect_001.mp4",
    "aiTrainer/videos/squats2.mp4",
    "DSPRO2/videos/squat.mp4",
]


def per_worker(tmp: Path) -> dict:
    from gymdata import pose
    from gymdata.cache import file_signature
    from gymdata.media import iter_video, probe_video

    raw_pose = pose._estimator(False)  # the worker's own Pose: same graph
    _, first = next(iter_video(REALDATA / CLIPS[0]))
    raw_pose.process(first)  # warm both graphs up before timing anything
    pose._estimator(True).process(first)
    raw_s = ours_s = 0.0
    frames = 0
    for rel in CLIPS:
        path = REALDATA / rel
        decoded = [rgb for _, rgb in iter_video(path)]
        start = time.perf_counter()
        raw_pose.reset()
        for rgb in decoded:
            raw_pose.process(rgb)
        raw_s += time.perf_counter() - start
        del decoded
        job = pose.ClipJob(rel, (str(path),), "video", probe_video(path).num_frames, pose.PoseParams(),
                           str(tmp / "cache-per-worker"), file_signature([path]), None, True)
        start = time.perf_counter()
        result = pose.extract_clip(job)
        ours_s += time.perf_counter() - start
        frames += result.frames
    out = {"frames": frames, "raw_frames_per_s": frames / raw_s, "ours_frames_per_s": frames / ours_s,
           "ratio": raw_s / ours_s}
    print(f"per worker: raw Pose.process {out['raw_frames_per_s']:.1f} frames/s, extract_clip "
          f"{out['ours_frames_per_s']:.1f} frames/s on the same {frames} frames: ratio {out['ratio']:.3f}")
    return out


def link_clips(folder: Path, clips: list[str]) -> Path:
    for rel in clips:
        link = folder / "other" / rel.replace("/", "__")
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(REALDATA / rel)
    return folder


def scaling(tmp: Path) -> dict:
    from gymdata import store
    from importers.videos import import_videos

    import_videos(link_clips(tmp / "set", CLIPS), "bench", workers=1, progress=False, force=True)
    out = {}
    for workers in (1, 2):  # each a fresh process: process start and MediaPipe's import included
        code = (f"from gymdata.pose import extract_poses; extract_poses('bench', workers={workers}, force=True, "
                f"progress=False, cache_dir={str(tmp / f'cache-j{workers}')!r})")
        cmd = [sys.executable, "-c", code]
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=True)
        seconds = time.perf_counter() - start
        frames = store.open_dataset("bench").count("poses")
        out[f"j{workers}"] = {"seconds": seconds, "frames": frames, "frames_per_s": frames / seconds}
        print(f"-j {workers}: {frames} frames in {seconds:.1f} s = {frames / seconds:.1f} frames/s")
    out["speedup"] = out["j2"]["frames_per_s"] / out["j1"]["frames_per_s"]
    print(f"-j 2 speed-up over -j 1: x{out['speedup']:.2f}")
    return out


def full_folder(tmp: Path) -> dict:
    import pyarrow.parquet as pq

    from gymdata import store
    from gymdata.pose import extract_poses
    from importers.videos import import_videos

    import_videos(REALDATA, "realdata", exercise="other", workers=2, progress=False)  # up to date if kept
    cache = tmp / "cache-full"
    start = time.perf_counter()
    first = extract_poses("realdata", workers=2, cache_dir=cache, progress=False)
    first_s = time.perf_counter() - start
    print(f"full folder, -j 2: {first.clips} clips ({first.extracted} extracted, {first.cached} cached), "
          f"{first.frames} frames in {first_s:.1f} s ({first.frames / first_s:.1f} frames/s), {len(first.failed)} failed")
    cmd = [sys.executable, "-m", "gymdata.cli", "pose", "realdata", "--cache-dir", str(cache), "--quiet"]
    reruns = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=True)
        reruns.append(time.perf_counter() - start)
    print(f"cache-hit rerun (the whole command): best {min(reruns):.2f} s of {', '.join(f'{s:.2f}' for s in reruns)}")
    print("   " + done.stdout.strip().splitlines()[0])
    ds = store.open_dataset("realdata")
    parts = list((ds.path / "tables" / "poses").glob("*.parquet"))
    size = sum(p.stat().st_size for p in parts)
    rows = sum(pq.read_metadata(p).num_rows for p in parts)
    per_m = size / rows * 1e6
    arrow = ds.read("poses").nbytes / rows * 1e6
    cache_bytes = sum(p.stat().st_size for p in cache.rglob("*.npz"))
    print(f"storage: {size / rows:.0f} bytes/frame in Parquet (zstd) = {per_m / 2**30:.2f} GiB per 1M frames; "
          f"{arrow / 2**30:.2f} GiB in memory (Arrow); cache {cache_bytes / rows * 1e6 / 2**30:.2f} GiB per 1M frames")
    return {"first_run": {"seconds": first_s, "frames": first.frames, "clips": first.clips,
                          "failed": first.failed, "flagged": first.flagged},
            "rerun_seconds": reruns, "parquet_bytes_per_frame": size / rows,
            "parquet_gib_per_million_frames": per_m / 2**30, "arrow_gib_per_million_frames": arrow / 2**30,
            "cache_gib_per_million_frames": cache_bytes / rows * 1e6 / 2**30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--parts", default="worker,scaling,full",
                        help="comma-separated: worker (per worker vs raw), scaling (-j 1 vs -j 2), full (whole folder)")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the store and caches in this folder (default: a temporary one); a second "
                             "run with the same folder finds the whole-folder cache filled")
    parser.add_argument("--realdata", type=Path, default=None,
                        help="folder holding the clips (default ../shared/realdata beside the project)")
    args = parser.parse_args()
    global REALDATA
    REALDATA = (args.realdata or REALDATA).absolute()
    if not REALDATA.is_dir():
        sys.exit(f"{REALDATA} not found")
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        tmp = (args.work or Path(scratch)).absolute()
        os.environ["GYMDATA_HOME"] = str(tmp / "store")
        results = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
        if "worker" in parts:
            results["per_worker"] = per_worker(tmp)
        if "scaling" in parts:
            results["scaling"] = scaling(tmp)
        if "full" in parts:
            results["full_folder"] = full_folder(tmp)
        results["load_after"] = os.getloadavg()
        print(f"load average before/after: {results['load_before'][0]:.2f} / {results['load_after'][0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
