"""Three repetition counters side by side on the same pose sequences, with an honest protocol.

On the Countix-Fitness copy in ``../shared/realdata`` (58 test sequences of squats, lunges and
push-ups with true counts; salient-pose frames of the training videos of 8 exercises), in one run:

1. import the corpus into a temporary store (``gymdata import pose-counting``);
2. train the learned counter (``poserac``) and the GMM counter (``gmm``) on the training videos'
   salient-pose frames only (the ``train`` split; the test poses are never trained on);
3. count every test sequence with the label-free ``periodic`` counter, ``poserac`` and ``gmm``.

Figures per counter and exercise:

* ``shipped``: the counter as ``gymdata count`` runs it (its default parameters). For ``periodic``
  these defaults were chosen on these same 58 sequences: **in-sample**. For ``poserac`` and
  ``gmm`` the network and the Gaussians never see them and the state counting is the consensus
  below (nothing chosen): **out-of-sample** (the GMM's one component per state was chosen among
  1-4 by the same leave-one-exercise-out protocol, 1 in every fold; see the README).
* ``consensus``: **out-of-sample, selection-free**: each sequence counted with every setting of
  :data:`GRID` and the median count kept (:func:`baselines.counting.count_consensus`); no
  setting is chosen, on these sequences or any others.
* ``LOEO``: **out-of-sample**. For each exercise, the state-counting parameters are chosen (grid
  :data:`GRID`, best OBO then lowest MAE) on the other two exercises' sequences only, then applied
  to this exercise's; the rows pool these held-out predictions. This is what says how the counters
  will do on exercises they were not tuned on (the hidden test: Countix sequences of the five
  other exercises).
* ``selected``: the setting chosen on all three (what the defaults are), for reference.
* ``loeo_state_only``: LOEO again with ``motion_weight=0``: the trained counters' state score
  alone, without the label-free motion signal they are fused with by default
  (:func:`baselines.counting.fuse_scores`); the gap between the two is what the fusion brings.

The motion signal is the periodic counter's, whose global parameters (smoothing, high-pass) were
chosen on these 58 sequences; the fusion itself (standardise both, sign from their correlation,
equal weights) has no parameter that was chosen on them.

The sequences carry no frame rate; 30 fps is assumed (only the shortest period, 0.5 s, depends on
it). Published pose-based results on RepCount-A (a different, harder set): PoseRAC MAE 0.236 /
OBO 0.560; joint-angle PoseRAC 0.211 / 0.599; TransRAC 0.443 / 0.291.

Usage::

    python benchmarks/bench_counters.py                       # about 3-5 minutes on 2 cores
    python benchmarks/bench_counters.py --out bench-out       # also writes counters.json
    python benchmarks/bench_counters.py --epochs 20           # faster, a weaker learned counter
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: State-counting settings searched by the selection: the consensus counter's fixed grid.
from baselines.counting import CONSENSUS_GRID as GRID

FPS = 30.0


def settings(**fixed):
    """Every setting of :data:`GRID` (``fixed``: other :class:`StateParams` fields, e.g.
    ``motion_weight=0`` for the state score alone)."""
    from baselines.counting import StateParams, grid_settings

    return grid_settings(StateParams(**fixed))


def loeo(scores: list[dict], grid: list) -> dict:
    """Leave-one-exercise-out: each exercise counted with the setting chosen on the others."""
    pooled, folds = [], {}
    for ex in sorted({s["exercise"] for s in scores}):
        state, fit_m = select([s for s in scores if s["exercise"] != ex], grid)
        held = [s for s in scores if s["exercise"] == ex]
        pooled += [{**s, "count": n} for s, n in zip(held, evaluate(held, state))]
        folds[ex] = {"state": asdict(state), "fit_on_others": fit_m}
    return {"folds": folds, **by_exercise(pooled)}


def evaluate(scores: list[dict], state) -> list[int]:
    """Counts of every sequence for one state-counting setting."""
    from baselines.counting import count_states

    return [count_states(s["score"], FPS, "bench", state, s["valid"], motion=s["motion"]).count for s in scores]


def metrics(pred: list[int], truth: list[int]) -> dict:
    from baselines.counting import count_metrics

    return count_metrics(pred, truth)


def select(scores: list[dict], grid: list) -> tuple[object, dict]:
    """The setting with the best OBO (then the lowest MAE) on ``scores``."""
    truth = [s["truth"] for s in scores]
    best, best_key, best_m = None, None, None
    for state in grid:
        m = metrics(evaluate(scores, state), truth)
        key = (round(m["obo"], 6), -round(m["mae"], 6))
        if best_key is None or key > best_key:
            best, best_key, best_m = state, key, m
    return best, best_m


def by_exercise(rows: list[dict]) -> dict:
    out = {}
    for ex in sorted({r["exercise"] for r in rows}) + ["all"]:
        sel = [r for r in rows if ex in ("all", r["exercise"])]
        out[ex] = metrics([r["count"] for r in sel], [r["truth"] for r in sel])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    ap.add_argument("--out", type=Path, default=None, help="Folder for counters.json")
    ap.add_argument("--epochs", type=int, default=None, help="Learned counter epochs (default: its default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    corpus = args.realdata / "Countix-Fitness"
    if not corpus.is_dir():
        sys.exit(f"no Countix-Fitness copy at {corpus}")
    os.environ["GYMDATA_HOME"] = tempfile.mkdtemp(prefix="bench-counters-")

    from baselines import gmm, poserac
    from baselines.counter_features import valid_frames
    from baselines.counting import PeriodicCounter, motion_signal
    from baselines.counting_data import clip_info, expected_counts
    from gymdata import store
    from gymdata.features import load_pose_sequences
    from importers.pose_counting import import_pose_counting

    start = time.perf_counter()
    report: dict = {"protocol": __doc__.split("\n\n")[2].strip(), "grid": GRID}
    import_pose_counting(corpus, "countix")
    ds = store.open_dataset("countix")
    params = poserac.PoseRACParams(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    t = time.perf_counter()
    poserac.train("countix", split="train", params=params, run_id="poserac-bench", validation=0)
    report["poserac_train_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    gmm.train("countix", split="train", clips_per_exercise=0, run_id="gmm-bench")
    report["gmm_train_s"] = round(time.perf_counter() - t, 1)
    from baselines.counting_data import load_counter

    counters = {"poserac": load_counter("poserac-bench"), "gmm": load_counter("gmm-bench")}
    test = [c for c in clip_info(ds) if c["split"] == "test"]
    truth = expected_counts(ds, [c["video_id"] for c in test])
    poses = load_pose_sequences(ds, [c["video_id"] for c in test])
    test = sorted((c for c in test if c["video_id"] in poses and c["video_id"] in truth), key=lambda c: c["video_id"])

    periodic = PeriodicCounter()
    rows = {"periodic": [], "poserac": [], "gmm": []}
    scores: dict[str, list[dict]] = {"poserac": [], "gmm": []}
    for c in test:
        lm, gt, ex = poses[c["video_id"]], truth[c["video_id"]], c["exercise"]
        base = {"clip": c["video_id"], "exercise": ex, "truth": gt}
        rows["periodic"].append({**base, "count": periodic.count(lm, FPS).count})
        for name, counter in counters.items():
            rows[name].append({**base, "count": counter.count(lm, FPS, exercise=ex).count})
            scores[name].append({**base, "score": counter.score(ex, lm, FPS), "valid": valid_frames(lm),
                                 "motion": motion_signal(lm, FPS)})

    out: dict = {"shipped": {name: by_exercise(r) for name, r in rows.items()}, "loeo": {}, "selected": {},
                 "loeo_state_only": {}, "consensus": {}}
    for name, sc in scores.items():
        out["loeo_state_only"][name] = loeo(sc, settings(motion_weight=0.0))["all"]
    from baselines.counting import StateParams

    grid = settings()
    for name, sc in scores.items():
        chosen, _ = select(sc, grid)
        out["selected"][name] = {"state": asdict(chosen), **by_exercise(
            [{**s, "count": n} for s, n in zip(sc, evaluate(sc, chosen))])}
        out["loeo"][name] = loeo(sc, grid)
        out["consensus"][name] = by_exercise(
            [{**s, "count": n} for s, n in zip(sc, evaluate(sc, StateParams(consensus=True)))])
    report.update(out)
    report["clips"] = {name: [{k: v for k, v in r.items()} for r in rs] for name, rs in rows.items()}
    report["seconds"] = round(time.perf_counter() - start, 1)

    from gymdata.cli import format_table

    table = []
    for ex in sorted({c["exercise"] for c in test}) + ["all"]:
        row = [ex, out["shipped"]["periodic"][ex]["clips"]]
        for name in ("periodic", "poserac", "gmm"):
            m = out["shipped"][name][ex]
            row += [m["mae"], m["obo"]]
        for name in ("poserac", "gmm"):
            m = out["loeo"][name][ex]
            row += [m["mae"], m["obo"]]
        table.append(row)
    print("Countix-Fitness test sequences: shipped counters (periodic: in-sample parameters; poserac, gmm: "
          "consensus, nothing chosen) and the grid's best setting chosen leave-one-exercise-out (LOEO)")
    print(format_table(["exercise", "clips", "periodic MAE", "periodic OBO", "poserac MAE", "poserac OBO", "gmm MAE",
                        "gmm OBO", "poserac LOEO MAE", "poserac LOEO OBO", "gmm LOEO MAE", "gmm LOEO OBO"], table))
    for name in ("poserac", "gmm"):
        folds = ", ".join(f"{ex}: {_short(f['state'])}" for ex, f in out["loeo"][name]["folds"].items())
        print(f"{name}: selected on all {_short(out['selected'][name]['state'])}; per held-out exercise {folds}")
    for name in ("poserac", "gmm"):
        m = out["consensus"][name]["all"]
        print(f"{name} consensus (median count over the whole grid, no setting chosen: out-of-sample): "
              f"MAE {m['mae']:.3f}, OBO {m['obo']:.3f}; "
              + ", ".join(f"{ex} {v['mae']:.3f}/{v['obo']:.3f}" for ex, v in out["consensus"][name].items()
                          if ex != "all"))
    for name in ("poserac", "gmm"):
        m = out["loeo_state_only"][name]
        print(f"{name} LOEO with the state score alone (motion_weight 0): MAE {m['mae']:.3f}, OBO {m['obo']:.3f}")
    print(f"training: poserac {report['poserac_train_s']} s, gmm {report['gmm_train_s']} s; "
          f"total {report['seconds']} s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "counters.json").write_text(json.dumps(report, indent=1, default=_json))
        print(f"wrote {args.out / 'counters.json'}")


def _short(state: dict) -> str:
    return "/".join(str(state[k]) for k in GRID)


def _json(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(type(obj).__name__)


if __name__ == "__main__":
    main()
