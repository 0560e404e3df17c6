"""Repetition counting on real data (``../shared/realdata``): Countix poses and labelled videos.

Three parts, each printed as a table and saved (with every per-clip row) to ``--out``:

1. **Countix-Fitness test poses** (58 real MediaPipe sequences of squats, lunges and push-ups,
   ``test_poses/*.npy`` with the counts of ``annotation/test.csv``): the label-free periodic
   counter, OBO and MAE per exercise, also on the even and odd rows separately. The sequences carry
   no frame rate; 30 fps is assumed. The periodic counter's global parameters were chosen on this
   set (see :class:`baselines.counting.PeriodicParams`), so these figures are in-sample.
2. **GMM on Countix**: the GMM counter (:mod:`baselines.gmm`: a mixture per state and pose view)
   trained on the salient-pose frames of ``annotation_pose/train.csv`` (training videos, disjoint
   from the test sequences; ``salient1`` taken as Resting, ``salient2`` as Active), on all training
   videos and one-shot (one training video with at least 8 labelled frames, i.e. 4 repetitions,
   four seeds), evaluated on the same test poses. ``benchmarks/bench_counters.py`` compares the
   three counters through the store, with the in-sample / leave-one-exercise-out protocol.
3. **Labelled videos** (``labels.csv``): video -> MediaPipe pose (:mod:`gymdata.pose`, cached by
   content) -> periodic count, per clip, with OBO / MAE over the rows with a count, the plank, the
   two resolutions of the same squat clip, and the held-out rows (run end to end; their counts are
   withheld, so only the predictions are shown).

Countix sequences are min-max normalised per frame and axis; the counters take them as they are.
Published RepCount-A results (a different, harder set of 130+ test videos of 9 actions):
PoseRAC 0.236 MAE / 0.560 OBO, TransRAC 0.443 / 0.291.

Usage::

    python benchmarks/bench_counting.py --out bench-out -j 2          # everything (pose extraction is slow)
    python benchmarks/bench_counting.py --skip-videos                 # Countix only (seconds)
    python benchmarks/bench_counting.py --sample-fps 6                # poses on ~6 frames per second
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baselines.counting import PeriodicCounter, count_metrics
from baselines.counting_data import count_video
from baselines.gmm import GMMCounter, GMMParams, LabelledClip

COUNTIX_EXERCISES = ("squat", "lunge", "push_up")
COUNTIX_FPS = 30.0


def countix_test(root: Path) -> list[dict]:
    """The Countix test sequences of squats, lunges and push-ups: exercise, name, landmarks, count."""
    rows = []
    with open(root / "annotation" / "test.csv", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) > 3 and row[1] in COUNTIX_EXERCISES:
                name = Path(row[2]).stem
                lm = np.load(root / "test_poses" / f"{name}.npy").reshape(-1, 33, 3)
                rows.append({"exercise": row[1], "name": name, "landmarks": lm, "truth": int(row[3])})
    return rows


def summarise(rows: list[dict], key: str = "exercise") -> list[dict]:
    """MAE / OBO per group and overall."""
    out = []
    for group in sorted({r[key] for r in rows}) + ["all"]:
        sel = [r for r in rows if group in ("all", r[key])]
        m = count_metrics([r["count"] for r in sel], [r["truth"] for r in sel])
        out.append({key: group, **m})
    return out


def table(rows: list[dict], columns: list[str]) -> str:
    from gymdata.cli import format_table

    return format_table(columns, [[r.get(c) for c in columns] for r in rows])


def part_countix_periodic(root: Path) -> dict:
    counter = PeriodicCounter()
    rows = []
    for i, seq in enumerate(countix_test(root)):
        res = counter.count(seq["landmarks"], COUNTIX_FPS)
        rows.append({"exercise": seq["exercise"], "clip": seq["name"], "truth": seq["truth"], "count": res.count,
                     "half": "even" if i % 2 == 0 else "odd",
                     "period_s": None if res.period is None else round(res.period / COUNTIX_FPS, 2)})
    return {"clips": rows, "by_exercise": summarise(rows), "by_half": summarise(rows, "half")}


def countix_salient(root: Path) -> list[dict]:
    """Salient-pose training frames: per training video, its frames and their A (salient2) labels."""
    import pandas as pd

    df = pd.read_csv(root / "annotation_pose" / "train.csv", header=None)
    parts = df[0].str.split("/")
    df = pd.DataFrame({"exercise": df[1], "salient": parts.str[2], "video": parts.str[3],
                       "xyz": list(df.iloc[:, 2:101].to_numpy(float).reshape(len(df), 33, 3))})
    out = []
    for (ex, video), group in df[df["exercise"].isin(COUNTIX_EXERCISES)].groupby(["exercise", "video"]):
        xyz = np.stack(group["xyz"].to_list())
        lo, hi = xyz.min(axis=1, keepdims=True), xyz.max(axis=1, keepdims=True)
        xyz = (xyz - lo) / np.maximum(hi - lo, 1e-9)  # the test poses' per-frame, per-axis min-max
        active = (group["salient"] == "salient2").to_numpy()
        if active.any() and not active.all():
            out.append({"exercise": ex, "video": video, "xyz": xyz, "active": active})
    return out


def part_countix_gmm(root: Path, seeds: int = 4) -> dict:
    train = countix_salient(root)
    test = countix_test(root)
    params = GMMParams()

    def evaluate(videos: list[dict]) -> dict:
        clips = [LabelledClip(v["exercise"], v["xyz"], v["active"], sequence=False) for v in videos]
        counter = GMMCounter.fit(clips, params)
        rows = [{"exercise": s["exercise"], "truth": s["truth"],
                 "count": counter.count(s["landmarks"], COUNTIX_FPS, exercise=s["exercise"]).count} for s in test]
        return {r["exercise"]: {k: r[k] for k in ("clips", "mae", "obo")} for r in summarise(rows)}

    out = {"params": params.__dict__, "training_videos": {ex: sum(v["exercise"] == ex for v in train)
                                                          for ex in COUNTIX_EXERCISES},
           "all_videos": evaluate(train), "one_shot": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        pick = [train[i] for ex in COUNTIX_EXERCISES
                for i in [rng.choice([j for j, v in enumerate(train) if v["exercise"] == ex and len(v["active"]) >= 8])]]
        out["one_shot"].append({"seed": seed, "videos": {v["exercise"]: v["video"] for v in pick}, **evaluate(pick)})
    return out


def _count_one(item: tuple[str, int | None]) -> dict:
    path, frames = item
    start = time.perf_counter()
    out = count_video(path, frames=frames)
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


def part_videos(root: Path, workers: int, sample_fps: float | None) -> dict:
    from gymdata.media import probe_video
    from gymdata.runner import run_tasks

    with open(root / "labels.csv", newline="") as fh:
        labels = list(csv.DictReader(fh))
    items = []
    for row in labels:
        path = root / row["path"]
        frames = None
        if sample_fps:
            info = probe_video(path)
            frames = min(info.num_frames, max(2, math.ceil(info.num_frames / (info.fps or 30.0) * sample_fps)))
        items.append((str(path), frames))
    results = {}
    for outcome in run_tasks(_count_one, items, workers=workers, desc="count", unit="video", chunksize=1):
        results[outcome.item[0]] = outcome.value if outcome.ok else {"error": str(outcome.error)}
    rows = []
    for row, (path, _) in zip(labels, items):
        res = results[path]
        held = "held out" in row["notes"]
        rows.append({"path": row["path"], "exercise": row["exercise"], "view": row["view"],
                     "truth": None if held or row["reps"] == "" else int(row["reps"]), "held_out": held,
                     "count": res.get("count"), "frames": res.get("frames_processed"),
                     "period_s": res.get("period_s"), "reason": res.get("reason"), "error": res.get("error"),
                     "seconds": res.get("seconds"), "reps": res.get("reps")})
    scored = [r for r in rows if r["truth"] is not None and r["count"] is not None]
    by = {Path(r["path"]).name: r for r in rows}
    return {
        "sample_fps": sample_fps,
        "clips": rows,
        "metrics": count_metrics([r["count"] for r in scored], [r["truth"] for r in scored]),
        "plank": by["plank_correct_005.mp4"]["count"],
        "squats_resolutions": [by["squats.mp4"]["count"], by["squats2.mp4"]["count"]],
        "held_out_ran": sum(r["held_out"] and r["count"] is not None for r in rows),
        "held_out": sum(r["held_out"] for r in rows),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    ap.add_argument("--out", type=Path, default=None, help="Folder for counting.json")
    ap.add_argument("-j", "--workers", type=int, default=1, help="Processes for pose extraction")
    ap.add_argument("--sample-fps", type=float, default=None,
                    help="Extract poses on this many frames per second (static mode) instead of every frame")
    ap.add_argument("--skip-videos", action="store_true", help="Countix parts only")
    args = ap.parse_args(argv)
    if not args.realdata.is_dir():
        sys.exit(f"no real data at {args.realdata}")
    report: dict = {}
    start = time.perf_counter()
    countix = args.realdata / "Countix-Fitness"
    report["countix_periodic"] = part_countix_periodic(countix)
    print("\n[1] Countix-Fitness test poses, label-free periodic counter (30 fps assumed)")
    print(table(report["countix_periodic"]["by_exercise"], ["exercise", "clips", "mae", "obo"]))
    print(table(report["countix_periodic"]["by_half"], ["half", "clips", "mae", "obo"]))
    report["countix_gmm"] = part_countix_gmm(countix)
    print("\n[2] GMM on Countix (trained on annotation_pose/train.csv salient frames)")
    g = report["countix_gmm"]
    rows = [{"training": "all videos", "exercise": ex, **m} for ex, m in g["all_videos"].items()]
    rows += [{"training": f"one video, seed {o['seed']}", "exercise": ex, **o[ex]}
             for o in g["one_shot"] for ex in (*COUNTIX_EXERCISES, "all")]
    print(table(rows, ["training", "exercise", "clips", "mae", "obo"]))
    if not args.skip_videos:
        report["videos"] = part_videos(args.realdata, args.workers, args.sample_fps)
        v = report["videos"]
        rate = f"{v['sample_fps']:g} frames per second" if v["sample_fps"] else "every frame"
        print(f"\n[3] labelled videos end to end (poses on {rate})")
        print(table(v["clips"], ["path", "exercise", "truth", "count", "frames", "period_s", "reason", "seconds", "error"]))
        m = v["metrics"]
        print(f"labelled clips {m['clips']}: OBO {m['obo']:.3f}  MAE {m['mae']:.3f}; plank count {v['plank']}; "
              f"squats.mp4 / squats2.mp4 {v['squats_resolutions'][0]} / {v['squats_resolutions'][1]}; "
              f"held-out rows run {v['held_out_ran']}/{v['held_out']}")
    report["seconds"] = round(time.perf_counter() - start, 1)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "counting.json").write_text(json.dumps(report, indent=1, default=str))
        print(f"\nwrote {args.out / 'counting.json'}")


if __name__ == "__main__":
    main()
