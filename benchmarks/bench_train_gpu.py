"""GPU benchmark and GPU evidence of the baselines (issue 7). Self-contained: builds its own data.

``bench``: how well the export feeds the vision baseline, and the pose network's epoch time.

1. An ``arrays`` export: the built-in sample corpus (``--source sample``: generated, its
   ALEX-GYM-1 layout imported, split by subject, exported at ``--size``) or, without PyAV and
   openpyxl, synthetic units written in the export's layout (``--source synthetic``); or
   ``--data EXPORT``.
2. The ``resnet3d`` network (one ``r3d_18`` per view, from scratch, every layer trained) and its
   training step (:func:`baselines.training.train_step`: Kinetics normalisation on the GPU, bf16
   autocast, Adam, gradient clipping), timed twice in one run: fed with a uint8 batch already on
   the GPU (the ceiling), and fed from the export by :class:`baselines.training.BatchLoader`
   (memory-mapped gathers, pinned memory, asynchronous copies). The ratio of the two training
   rates is the share of the GPU's speed the data path keeps (target: at least 0.8).
3. The ``vcoach`` pose network's training epoch on the export's training part (features
   computed on the GPU), and its validation pass.

``evidence``: the sample at ``--subjects`` x ``--takes`` (default 12 x 3), split by subject
(70/15/15, seed 0: held-out subjects in val and test), exported at 16 x ``--size`` (224), then
``vcoach``, ``resnet3d`` (from scratch) and ``merged`` (from the two) trained and evaluated on the
test subjects; prints the per-exercise Hamming-loss table (pose / vision / merged, as ALEX-GYM-1's
Table II) and writes everything to ``--out``.

The sample is generated one exercise per process (the generator seeds every take by exercise,
subject and take, so the takes are the same as in one run; each exercise's spreadsheet numbers its
videos from 1, as the real corpus's per-exercise spreadsheets do) and the parts are put together
into one ALEX-GYM-1 folder.

Run on a GPU machine (PyAV and openpyxl needed for ``--source sample`` and ``evidence``; on a
machine without them and without internet, carry their wheels and install them first)::

    python -m pip install --no-index --no-deps WHEELS/av-*.whl WHEELS/openpyxl-*.whl WHEELS/et_xmlfile-*.whl
    python benchmarks/bench_train_gpu.py bench --json bench.json         # a few minutes
    python benchmarks/bench_train_gpu.py evidence --out evidence/        # about 5 to 8 minutes on an H100
    python benchmarks/bench_train_gpu.py evidence --bench --out evidence/   # both, on one export

Nothing is downloaded and MediaPipe is not needed (the sample's poses are the corpus's own).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

EXERCISES = ("squat", "deadlift", "lunge")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def _generate_part(out: str, exercise: str, seed: int, subjects: int, takes: int, size: int) -> str:
    from gymdata.sample import generate_sample

    generate_sample(out, seed=seed, subjects=subjects, takes=takes, size=size, exercises=[exercise],
                    overwrite=True)
    return out


def build_sample(root: Path, *, subjects: int, takes: int, seed: int = 0, size: int = 224) -> Path:
    """The sample's ALEX-GYM-1 layout, one exercise per process, put together in ``root/alex-gym-1``."""
    merged = root / "alex-gym-1"
    if (merged / "subjects.csv").is_file():
        return merged
    t0 = time.perf_counter()
    with ProcessPoolExecutor(len(EXERCISES)) as pool:
        parts = list(pool.map(_generate_part, [str(root / f"part-{ex}") for ex in EXERCISES], EXERCISES,
                              [seed] * 3, [subjects] * 3, [takes] * 3, [size] * 3))
    tmp = root / ".alex-gym-1.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    subjects_csv = None
    for part in map(Path, parts):
        for item in (part / "alex-gym-1").iterdir():
            if item.name == "subjects.csv":
                # every part numbers its takes in the same subject order: the same table
                if subjects_csv is not None and item.read_text() != subjects_csv:
                    raise RuntimeError("the parts' subjects.csv differ")
                subjects_csv = item.read_text()
                continue
            item.rename(tmp / item.name)
        shutil.rmtree(part)
    (tmp / "subjects.csv").write_text(subjects_csv or "")
    tmp.rename(merged)
    log(f"sample {subjects} subjects x {takes} takes generated in {time.perf_counter() - t0:.0f} s")
    return merged


def preflight() -> None:
    """Fail at once, not after minutes, when the sample generator cannot run here."""
    missing = []
    for module in ("av", "openpyxl", "cv2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: install them (pip install --no-index --no-deps WHEELS/*.whl) "
                         "or use bench --source synthetic")


def build_export(workdir: Path, *, subjects: int, takes: int, size: int, frames: int, workers: int) -> Path:
    """Sample -> ``alex-gym-1`` import -> subject-disjoint split -> ``arrays`` export."""
    out = workdir / f"arrays-{size}"
    if (out / "meta.json").is_file():
        return out
    preflight()
    os.environ["GYMDATA_HOME"] = str(workdir / "store")
    from exporters.torch_arrays import exporter
    from gymdata import store
    from gymdata.splits import make_split
    from importers.alexgym import import_alexgym

    alex = build_sample(workdir / "sample", subjects=subjects, takes=takes, size=max(size, 224))
    t0 = time.perf_counter()
    import_alexgym(alex, "sample-alex")
    ds = store.open_dataset("sample-alex")
    make_split(ds)  # subject-disjoint 70/15/15, seed 0
    log(f"imported and split by subject in {time.perf_counter() - t0:.0f} s")
    result = exporter(ds, out, workers=workers, progress=False, frames=frames, size=size, states=False)
    log(f"{result} in {time.perf_counter() - t0:.0f} s")
    return out


def synthetic_export(workdir: Path, *, units: int, size: int, frames: int) -> Path:
    """Units in the export's layout with random pixels (no PyAV or openpyxl needed)."""
    from tests.baselines_support import write_export

    out = workdir / f"synthetic-{size}"
    if not (out / "meta.json").is_file():
        t0 = time.perf_counter()
        write_export(out, units=units, frames=frames, size=size)
        log(f"synthetic export of {units} units written in {time.perf_counter() - t0:.0f} s")
    return out


# --------------------------------------------------------------------------------------------
# bench
# --------------------------------------------------------------------------------------------

def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed_steps(step, batches, warmup: int, steps: int) -> tuple[float, int]:
    """Run ``warmup`` then ``steps`` steps over the ``batches`` iterator; (seconds, units) timed."""
    for _ in range(warmup):
        step(next(batches))
    _sync()
    t0, seen = time.perf_counter(), 0
    for _ in range(steps):
        batch = next(batches)
        step(batch)
        seen += len(batch["index"])
    _sync()
    return time.perf_counter() - t0, seen


def _epochs(data, batch_size: int, device, workers: int, seed: int = 0):
    """Batches from the export, epoch after epoch (each epoch in its own seeded order)."""
    from baselines.training import make_loader

    epoch = 0
    while True:
        yield from make_loader(data, batch_size, shuffle=True, device=device, workers=workers, seed=seed, epoch=epoch)
        epoch += 1


def bench(args: argparse.Namespace) -> dict:
    from baselines import resnet3d, vcoach
    from baselines.nets import LabelSpace
    from baselines.training import TrainConfig, make_loader, predict, seed_everything, train_step
    from gymdata.arrays import ExportUnits

    device = torch.device(args.device)  # cpu: a dry run of the script, nothing to report
    torch.backends.cudnn.benchmark = True
    workdir = Path(args.workdir)
    if args.data:
        export = Path(args.data)
    elif args.source == "synthetic":
        export = synthetic_export(workdir, units=args.units, size=args.size, frames=args.frames)
    else:
        export = build_export(workdir, subjects=args.subjects, takes=args.takes, size=args.size, frames=args.frames,
                              workers=args.export_workers)
    views = ["frontal", "lateral"]
    train = ExportUnits(export, split="train", views=views, video=True, pose=True)
    space = LabelSpace.from_meta(train.meta)
    cfg = TrainConfig(batch_size=args.batch_size)
    result: dict = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                    "torch": torch.__version__, "export": str(export),
                    "train_units": len(train), "batch_size": args.batch_size, "frames": train.meta["frames"],
                    "size": train.meta["size"], "views": len(views), "reader_threads": args.workers}

    def fresh_model(cls, *a):
        seed_everything(0)
        model = cls(space, len(views), *a).to(device)
        for m in model.modules():
            if isinstance(m, torch.nn.Conv3d):
                m.to(memory_format=torch.channels_last_3d)
        return model.train(), torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-4)

    # 1. the ceiling: a batch already on the GPU
    model, opt = fresh_model(resnet3d.VisionNet)
    first = train.__getitems__(range(min(args.batch_size, len(train))))
    resident = {k: v.to(device) for k, v in first.items()}
    resident["video"] = torch.randint(0, 256, resident["video"].shape, dtype=torch.uint8, device=device)

    def forever(batch):
        while True:
            yield batch

    step = lambda b: train_step(model, b, opt, device, cfg)  # noqa: E731
    secs, n = _timed_steps(step, forever(resident), args.warmup, args.steps)
    synthetic = n / secs
    result["synthetic_units_per_s"] = round(synthetic, 2)
    if device.type == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    log(f"resnet3d, batch on the GPU: {synthetic:.1f} units/s ({2 * synthetic:.1f} clips/s), {1000 * secs / args.steps:.0f} ms/step")

    # 2. fed from the export
    model, opt = fresh_model(resnet3d.VisionNet)
    step = lambda b: train_step(model, b, opt, device, cfg)  # noqa: E731
    secs, n = _timed_steps(step, _epochs(train, args.batch_size, device, args.workers), args.warmup, args.steps)
    fed = n / secs
    result["export_units_per_s"] = round(fed, 2)
    result["ratio"] = round(fed / synthetic, 3)
    log(f"resnet3d, fed from the export: {fed:.1f} units/s ({2 * fed:.1f} clips/s): ratio {fed / synthetic:.3f}")

    # the reader alone, for the record: how fast batches come off the export with no GPU work
    loader_iter = _epochs(train, args.batch_size, device, args.workers)
    next(loader_iter)
    t0, seen = time.perf_counter(), 0
    for _ in range(args.steps):
        seen += len(next(loader_iter)["index"])
    result["reader_units_per_s"] = round(seen / (time.perf_counter() - t0), 2)
    del model, opt, resident
    if device.type == "cuda":
        torch.cuda.empty_cache()

    # 3. the pose network's epoch
    pose_train = ExportUnits(export, split="train", views=views, video=False, pose=True)
    pose_val = ExportUnits(export, split="val", views=views, video=False, pose=True)
    model, opt = fresh_model(vcoach.PoseNet)
    times = []
    for epoch in range(1 + args.pose_epochs):  # the first epoch warms cuDNN up
        _sync()
        t0 = time.perf_counter()
        for batch in make_loader(pose_train, args.batch_size, shuffle=True, device=device, workers=args.workers,
                                 epoch=epoch):
            train_step(model, batch, opt, device, cfg)
        _sync()
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    predict(model, pose_val, device, batch_size=2 * args.batch_size, workers=args.workers)
    val_s = time.perf_counter() - t0
    epoch_s = float(np.median(times[1:]))
    result.update(pose_train_units=len(pose_train), pose_epoch_seconds=round(epoch_s, 3),
                  pose_units_per_s=round(len(pose_train) / epoch_s, 1), pose_val_seconds=round(val_s, 3),
                  pose_first_epoch_seconds=round(times[0], 3))
    log(f"vcoach: {epoch_s:.2f} s per training epoch of {len(pose_train)} units "
        f"({len(pose_train) / epoch_s:.0f} units/s), validation pass {val_s:.2f} s")
    return result


# --------------------------------------------------------------------------------------------
# evidence
# --------------------------------------------------------------------------------------------

def evidence(args: argparse.Namespace) -> dict:
    workdir = Path(args.workdir)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    export = build_export(workdir, subjects=args.subjects, takes=args.takes, size=args.size, frames=args.frames,
                          workers=args.export_workers)
    os.environ["GYMDATA_HOME"] = str(workdir / "store")
    from baselines import merged, resnet3d, vcoach
    from baselines.runs import runs_root

    common = ["--data", str(export), "--device", args.device, "--seed", str(args.seed)]
    plan = [
        ("pose", vcoach.command, ["--epochs", str(args.pose_epochs)]),
        ("vision", resnet3d.command, ["--epochs", str(args.vision_epochs), *args.vision_args.split()]),
        ("merged", merged.command, ["--epochs", str(args.merged_epochs), "--vision", "gpu-vision", "--pose", "gpu-pose"]),
    ]
    reports, timings = {}, {}
    for name, command, extra in plan:
        run_id = f"gpu-{name}"
        shutil.rmtree(runs_root() / run_id, ignore_errors=True)
        t0 = time.perf_counter()
        command.main(["--run-id", run_id, *common, *extra], standalone_mode=False)
        timings[name] = round(time.perf_counter() - t0, 1)
        run = runs_root() / run_id
        reports[name] = json.loads((run / "eval-test.json").read_text())
        shutil.copy(run / "curves.png", out / f"curves-{name}.png")
        log(f"{name}: trained and tested in {timings[name]:.0f} s")
    table = {ex: {name: reports[name]["per_exercise"].get(ex, {}).get("hamming_loss") for name in reports}
             for ex in ("squat", "deadlift", "lunge")}
    table["all"] = {name: reports[name]["overall"]["hamming_loss"] for name in reports}
    lines = ["exercise   pose     vision   merged   (Hamming loss, test subjects)"]
    lines += [f"{ex:<9} " + "  ".join(f"{v:.4f} " if v is not None else "   -   " for v in row.values())
              for ex, row in table.items()]
    print("\n".join(lines))
    meta = json.loads((export / "meta.json").read_text())
    result = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "export": {"units": meta["units"], "frames": meta["frames"], "size": meta["size"]},
              "hamming_loss": table, "seconds": timings, "total_seconds": round(time.perf_counter() - t_start, 1),
              "reports": {k: {"overall": v["overall"], "per_exercise": v["per_exercise"], "samples": v["samples"]}
                          for k, v in reports.items()}}
    if args.bench:  # the benchmark on this export, in the same run (one machine start, one data build)
        result["bench"] = bench(argparse.Namespace(
            device="cuda" if torch.cuda.is_available() else "cpu", workdir=args.workdir, data=str(export), batch_size=16, workers=6,
            warmup=max(1, args.bench_steps // 5), steps=args.bench_steps, pose_epochs=3))
    (out / "evidence.json").write_text(json.dumps(result, indent=2, default=float))
    (out / "evidence.txt").write_text("\n".join(lines) + "\n\n" + "\n\n".join(
        (runs_root() / f"gpu-{k}" / "eval-test.txt").read_text() for k in reports))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("bench", "evidence"):
        p = sub.add_parser(name)
        p.add_argument("--workdir", default="/tmp/gymdata-gpu", help="Where data and runs are built (reused).")
        p.add_argument("--size", type=int, default=224)
        p.add_argument("--frames", type=int, default=16)
        p.add_argument("-j", "--jobs", "--export-workers", dest="export_workers", type=int,
                       default=min(16, os.cpu_count() or 1), help="Worker processes decoding the export.")
        p.add_argument("--seed", type=int, default=0)
    b = sub.choices["bench"]
    b.add_argument("--data", help="An existing arrays export.")
    b.add_argument("--source", choices=("sample", "synthetic"), default="sample")
    b.add_argument("--subjects", type=int, default=6)
    b.add_argument("--takes", type=int, default=2)
    b.add_argument("--units", type=int, default=480, help="--source synthetic: units to write.")
    b.add_argument("--batch-size", type=int, default=16)
    b.add_argument("--loader-threads", dest="workers", type=int, default=6, help="Batch reader threads.")
    b.add_argument("--warmup", type=int, default=8)
    b.add_argument("--steps", type=int, default=40)
    b.add_argument("--pose-epochs", type=int, default=3)
    b.add_argument("--device", default="cuda", help="cuda (cpu: a dry run of the script).")
    b.add_argument("--json", help="Write the results here too.")
    e = sub.choices["evidence"]
    e.add_argument("--subjects", type=int, default=12)
    e.add_argument("--takes", type=int, default=3)
    e.add_argument("--pose-epochs", type=int, default=60)
    e.add_argument("--vision-epochs", type=int, default=25)
    e.add_argument("--merged-epochs", type=int, default=15)
    e.add_argument("--vision-args", default="", help="Extra resnet3d options, e.g. '--clip-size 112'.")
    e.add_argument("--device", default="auto")
    e.add_argument("--out", default="evidence")
    e.add_argument("--bench", action="store_true", help="Then run the benchmark on the same export.")
    e.add_argument("--bench-steps", type=int, default=40, help="Timed steps of each benchmark phase.")
    args = parser.parse_args()
    result = bench(args) if args.mode == "bench" else evidence(args)
    text = json.dumps(result, indent=2, default=float)
    print(text)
    if getattr(args, "json", None):
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
