"""Benchmark: import a UCF-101-shaped tree of 13,320 clips, against FiftyOne's own route.

The tree is the release's layout (101 class folders, 25 groups, 4-7 clips per group, 13,320 clips,
classInd.txt and the six fold lists) made of hard links to a few small real clips copied from
``../shared/realdata/`` (MPEG-4 part 2 AVIs, like UCF-101's XVID clips). Both routes read the same
tree, one after the other, each in its own process:

* gymdata: ``gymdata import ucf101 ROOT --classes all -j WORKERS`` (probing every clip);
* reference: ``fo.Dataset.from_dir(..., dataset_type=fo.types.VideoClassificationDirectoryTree)`` then
  ``compute_metadata()`` (which runs ``ffprobe`` per clip; it must be on PATH). With
  ``--reference-clips N`` the reference runs on an N-clip subset and its time is extrapolated per clip.

Printed: wall time, clips/s, the reference's time per clip, the speed ratio, and peak memory: the
largest single process (``getrusage`` of the child and its children) and the peak of the summed RSS
of the process tree (sampled every 50 ms).

Usage::

    python benchmarks/bench_import_ucf101.py [--clips 13320] [-j 2] [--reference-clips 1000 | --no-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
SOURCE_CLIPS = sorted((REALDATA / "computervision" / "data" / "squat" / "correct").glob("*.avi"))
sys.path.insert(0, str(REPO))

from tests.fakes.ucf101 import TOTAL_CLIPS, UCF101_CLASSES, full_release_counts, write_ucf101  # noqa: E402

REFERENCE_SCRIPT = """
import sys, time, json
import fiftyone as fo
fo.list_datasets()  # starts the database before the clock does
start = time.perf_counter()
ds = fo.Dataset.from_dir(dataset_dir=sys.argv[1], dataset_type=fo.types.VideoClassificationDirectoryTree,
                         name="bench-ucf101", persistent=False)
loaded = time.perf_counter()
ds.compute_metadata()
done = time.perf_counter()
ok = len(ds.exists("metadata"))
print(json.dumps({"clips": len(ds), "with_metadata": ok, "from_dir_s": loaded - start,
                  "metadata_s": done - loaded, "total_s": done - start}))
"""


def run_measured(cmd: list[str], env: dict) -> tuple[float, float, int, int, str]:
    """Run ``cmd``; return (wall s, CPU s of it and its waited-for children, peak tree RSS bytes,
    peak single-process RSS bytes or 0 if an earlier child was bigger, stdout)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        parent = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                procs = [parent, *parent.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, total)
            except psutil.Error:
                return
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    single = after.ru_maxrss * 1024 if after.ru_maxrss > before.ru_maxrss else 0
    return wall, cpu, peak, single, out


def subset_tree(root: Path, dest: Path, n: int) -> int:
    """Hard-link every k-th clip of ``root/UCF-101`` into ``dest`` (class folders kept); returns the count."""
    clips = sorted(p for p in (root / "UCF-101").rglob("*.avi"))
    step = max(1, len(clips) // n)
    chosen = clips[::step][:n]
    for p in chosen:
        target = dest / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(p, target)
    return len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=TOTAL_CLIPS, help="clips in the tree (default: the release's)")
    parser.add_argument("-j", "--workers", type=int, default=2, help="gymdata probing workers")
    parser.add_argument("--reference-clips", type=int, default=0,
                        help="time FiftyOne on this many clips and extrapolate (default: the whole tree)")
    parser.add_argument("--no-reference", action="store_true", help="skip the FiftyOne reference")
    parser.add_argument("--keep", type=Path, help="build the tree here and keep it (default: a temp dir)")
    args = parser.parse_args()
    if not SOURCE_CLIPS:
        raise SystemExit(f"no source clips under {REALDATA}: the benchmark needs ../shared/realdata")

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-ucf101-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sources = []
        for clip in SOURCE_CLIPS:  # copies, so the links never touch the shared read-only files
            dest = work / "sources" / clip.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                shutil.copyfile(clip, dest)
            sources.append(dest)
        root = work / "ucf101"
        if not (root / "ucfTrainTestlist" / "classInd.txt").exists():
            counts = full_release_counts()
            if args.clips == TOTAL_CLIPS:
                per = counts
            else:  # scale down: a few classes' worth of the real distribution
                budget = {"left": args.clips}

                def per(cls, group):
                    n = min(counts(cls, group), budget["left"])
                    budget["left"] -= n
                    return n
            t = time.perf_counter()
            written = write_ucf101(root, classes=UCF101_CLASSES, groups=range(1, 26), clips=per, sources=sources)
            print(f"tree: {len(written):,} clips (hard links to {len(sources)} real clips, "
                  f"{sum(p.stat().st_size for p in sources) / 1e6:.1f} MB) built in {time.perf_counter() - t:.1f}s")
        n_clips = sum(1 for _ in (root / "UCF-101").rglob("*.avi"))

        env = dict(os.environ, GYMDATA_HOME=str(work / "store"), FIFTYONE_DO_NOT_TRACK="true")
        cmd = [sys.executable, "-m", "gymdata.cli", "import", "ucf101", str(root), "--name", "bench",
               "--classes", "all", "-j", str(args.workers), "--quiet", "--force"]
        ours, ours_cpu, ours_tree, ours_single, out = run_measured(cmd, env)
        print(out.strip())
        result = {"clips": n_clips, "workers": args.workers, "load_avg_1min": round(os.getloadavg()[0], 1),
                  "gymdata_s": round(ours, 2), "gymdata_cpu_s": round(ours_cpu, 2),
                  "gymdata_clips_per_s": round(n_clips / ours, 1),
                  "gymdata_peak_rss_tree_mib": round(ours_tree / 2**20, 1),
                  "gymdata_peak_rss_process_mib": round(ours_single / 2**20, 1)}
        print(f"gymdata: {ours:.1f}s for {n_clips:,} clips = {n_clips / ours:,.0f} clips/s "
              f"({1000 * ours / n_clips:.2f} ms/clip, CPU {ours_cpu:.1f}s); peak RSS {ours_tree / 2**20:,.0f} MiB "
              f"summed over the process tree, {ours_single / 2**20:,.0f} MiB largest process")

        if not args.no_reference:
            if shutil.which("ffprobe") is None:
                raise SystemExit("FiftyOne's compute_metadata needs ffprobe on PATH (apt-get install ffmpeg)")
            ref_dir = root / "UCF-101"
            if args.reference_clips and args.reference_clips < n_clips:
                ref_dir = work / "reference-subset"
                shutil.rmtree(ref_dir, ignore_errors=True)
                subset_tree(root, ref_dir, args.reference_clips)
            fo_env = dict(env, FIFTYONE_DATABASE_DIR=str(work / "fiftyone-db"), FIFTYONE_DATABASE_VALIDATION="false")
            reference = [sys.executable, "-c", REFERENCE_SCRIPT, str(ref_dir)]
            _wall, ref_cpu, ref_tree, _single, out = run_measured(reference, fo_env)
            ref = json.loads(out.strip().splitlines()[-1])
            per_clip = ref["total_s"] / ref["clips"]
            full = per_clip * n_clips
            extrapolated = ref["clips"] < n_clips
            result.update(reference_clips=ref["clips"], reference_with_metadata=ref["with_metadata"],
                          reference_s=round(ref["total_s"], 2), reference_ms_per_clip=round(1000 * per_clip, 2),
                          reference_full_tree_s=round(full, 1), reference_extrapolated=extrapolated,
                          reference_cpu_s=round(ref_cpu, 2), reference_peak_rss_tree_mib=round(ref_tree / 2**20, 1),
                          speedup=round(full / ours, 1))
            print(f"reference (FiftyOne from_dir + compute_metadata): {ref['total_s']:.1f}s for {ref['clips']:,} clips "
                  f"({ref['with_metadata']:,} with metadata) = {1000 * per_clip:.1f} ms/clip"
                  + (f"; extrapolated to {n_clips:,} clips: {full:.0f}s" if extrapolated else ""))
            print(f"speed-up: {full / ours:.1f}x")
        print(json.dumps(result))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
