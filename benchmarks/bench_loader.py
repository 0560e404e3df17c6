"""Benchmark: can the torch clip loader keep a GPU busy?

Measures, for an ``arrays`` export (built here, from the sample generator or synthetic clips, unless
``--export`` names one):

1. **loader throughput**: items/s and clips/s that a ``DataLoader`` over
   :class:`gymdata.arrays.ClipDataset` delivers with N workers (two views of 16 x 224 x
   224 uint8 frames per item by default, batch 16, shuffled, pinned memory on CUDA), after one
   warm-up epoch (the arrays are then in the page cache, as they are during training);
2. with ``--device cuda``: the time of one training step of the ALEX-GYM-1 vision baseline's
   shape (one torchvision ``r3d_18`` per view, clips normalised on the GPU with
   :func:`to_model_input`, forward + backward + Adam step, bf16 autocast; ``--frozen`` trains only
   layer3, layer4 and fc, as the baseline does), and the ratio
   ``GPU step time / loader time per batch``. A ratio above 1 means the loader delivers batches
   faster than the GPU consumes them: the loader is not the bottleneck.

Run (prints a table and writes JSON with ``--json``)::

    python benchmarks/bench_loader.py --loader-workers 0,1,2                  # CPU only, this machine
    python benchmarks/bench_loader.py --loader-workers 0,2,4,8 --device cuda  # on a GPU machine
    python benchmarks/bench_loader.py --source synthetic --device cuda # without PyAV/openpyxl

Nothing is downloaded: ``r3d_18`` is built without pretrained weights (the step time does not
depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from torch.utils.data import DataLoader


def build_export(workdir: Path, subjects: int, size: int, frames: int, workers: int) -> Path:
    """Generate the sample corpus, import its ALEX-GYM-1 layout, split it, export arrays."""
    os.environ["GYMDATA_HOME"] = str(workdir / "store")
    from gymdata.sample import generate_sample
    from importers.alexgym import import_alexgym

    t0 = time.perf_counter()
    generate_sample(workdir / "sample", seed=0, subjects=subjects, takes=2, size=size)
    t1 = time.perf_counter()
    import_alexgym(workdir / "sample" / "alex-gym-1", "bench")
    return split_and_export(workdir, workers, frames, size, f"sample {t1 - t0:.0f}s, import", t0)


def split_and_export(workdir: Path, workers: int, frames: int, size: int, built: str, t0: float) -> Path:
    """Split the ``bench`` dataset and export it as arrays into ``workdir/arrays``; prints the times
    (``built``: what came before, since ``t0``)."""
    from exporters.torch_arrays import exporter
    from gymdata import store
    from gymdata.splits import make_split

    make_split(store.open_dataset("bench"))
    t1 = time.perf_counter()
    result = exporter(store.open_dataset("bench"), workdir / "arrays", workers=workers, progress=False,
                      frames=frames, size=size)
    t2 = time.perf_counter()
    print(f"built the export in {t2 - t0:.0f}s ({built}+split {t1 - t0:.0f}s, decode+write {t2 - t1:.1f}s: "
          f"{result.clips / (t2 - t1):.0f} clips/s with {workers} workers): {result}", file=sys.stderr)
    return workdir / "arrays"



def build_synthetic(workdir: Path, units: int, size: int, frames: int, workers: int) -> Path:
    """An ALEX-GYM-1-shaped dataset written directly (no sample generator, so no PyAV or openpyxl
    needed): ``units`` repetitions x 2 views of 16 JPEG frames with moving shapes, criteria and a
    score; then the real arrays export (JPEG decoding included)."""
    import json

    import cv2

    os.environ["GYMDATA_HOME"] = str(workdir / "store")
    from gymdata import store

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    root = workdir / "corpus"
    (root / "frames").mkdir(parents=True)
    videos, criteria, scores, stamp = [], [], [], store.now()
    yy, xx = np.mgrid[0:size, 0:size]
    for u in range(units):
        subject, recording = f"s{u % 12:02d}", f"rec{u // 4:04d}"
        for view in ("frontal", "lateral"):
            vid = f"{recording}/r{u % 4}/{view}"
            stem = f"u{u:05d}_{view}"
            for i in range(frames):
                img = ((xx + yy + 7 * i + 31 * u) % 256).astype(np.uint8)[..., None].repeat(3, axis=2)
                cx, cy = (i * 9 + u * 5) % (size - 40), (u * 13) % (size - 40)
                img[cy:cy + 40, cx:cx + 40] = rng.integers(0, 255, 3)
                cv2.imwrite(str(root / "frames" / f"{stem}_{i + 1:02d}.jpg"), img)
            videos.append({"video_id": vid, "corpus": "synthetic", "path": f"frames/{stem}_*.jpg",
                           "media_kind": "frames", "exercise": ("squat", "deadlift", "lunge")[u % 3],
                           "subject": subject, "recording": recording, "view": view, "rep_index": u % 4,
                           "fps": 30.0, "num_frames": frames, "width": size, "height": size,
                           "duration": frames / 30.0, "extras": json.dumps({})})
            criteria += [{"video_id": vid, "criterion": f"c{c} {'F' if view == 'frontal' else 'L'}", "view": view,
                          "value": 1.0, "passed": bool(rng.random() < 0.6), "origin": "imported",
                          "created_at": stamp} for c in range(3)]
            scores.append({"video_id": vid, "name": "total", "value": float(rng.integers(0, 7)), "scale_min": 0.0,
                           "scale_max": 6.0, "origin": "imported", "created_at": stamp})
    with store.building("bench") as ds, ds.transaction() as txn:
        txn.write("videos", videos)
        txn.write("criteria", criteria)
        txn.write("scores", scores)
        txn.set_source("synthetic", root=str(root))
    return split_and_export(workdir, workers, frames, size, "corpus", t0)


def measure_loader(export: Path, workers: int, batch: int, epochs: int, views: tuple[str, ...],
                   pin: bool) -> dict:
    """Items/s delivered by a DataLoader (after one warm-up epoch)."""
    from gymdata.arrays import ClipDataset

    dataset = ClipDataset(export, views=views)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=pin,
                        persistent_workers=workers > 0, drop_last=True)
    for _ in loader:  # warm-up: worker start, page cache
        pass
    items, start = 0, time.perf_counter()
    for _ in range(epochs):
        for b in loader:
            items += b["video"].shape[0]
    seconds = time.perf_counter() - start
    nbytes = int(np.prod(dataset[0]["video"].shape))
    return {"workers": workers, "items_per_s": items / seconds, "clips_per_s": items * len(views) / seconds,
            "batch_s": seconds / max(items // batch, 1), "MB_per_s": items * nbytes / seconds / 1e6,
            "items": items, "batch": batch}


def measure_gpu_step(batch: int, frames: int, size: int, views: int, steps: int, device: str,
                     frozen: bool = False) -> float:
    """Seconds per training step of one r3d_18 per view on uint8 batches already on the GPU.

    With ``frozen``, only layer3, layer4 and fc learn, as in the ALEX-GYM-1 vision baseline.
    """
    from torchvision.models.video import r3d_18

    from gymdata.arrays import to_model_input

    nets = torch.nn.ModuleList([r3d_18(num_classes=8) for _ in range(views)]).to(device)
    if frozen:
        for name, param in nets.named_parameters():
            param.requires_grad = any(f".{layer}." in f".{name}" for layer in ("layer3", "layer4", "fc"))
    opt = torch.optim.Adam([p for p in nets.parameters() if p.requires_grad], lr=1e-4)
    video = torch.randint(0, 255, (batch, views, frames, size, size, 3), dtype=torch.uint8, device=device)
    target = torch.rand(batch, 8, device=device)

    def step():
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            logits = sum(net(to_model_input(video[:, v])) for v, net in enumerate(nets))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, help="an existing arrays export (default: build one from the sample)")
    parser.add_argument("--workdir", type=Path, help="build the export here and keep it (default: a temporary folder)")
    parser.add_argument("--loader-workers", default="0,1,2",
                        help="DataLoader worker process counts to try, comma-separated")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per worker count")
    parser.add_argument("--views", default="frontal,lateral")
    parser.add_argument("--source", choices=("sample", "synthetic"), default="sample",
                        help="build the export from the sample generator (needs PyAV and openpyxl) or from "
                             "synthetic JPEG clips written here (needs only numpy, OpenCV and the core)")
    parser.add_argument("--subjects", type=int, default=6, help="sample subjects when building the export")
    parser.add_argument("--units", type=int, default=160, help="repetitions (x 2 views) of the synthetic source")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("-j", "--jobs", "--build-workers", dest="build_workers", type=int, default=2,
                        help="worker processes decoding the export")
    parser.add_argument("--device", default="cpu", help="cuda: also time the r3d_18 training step")
    parser.add_argument("--steps", type=int, default=10, help="timed GPU steps")
    parser.add_argument("--frozen", action="store_true",
                        help="train only layer3, layer4 and fc of r3d_18, as the ALEX-GYM-1 baseline does")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    views = tuple(args.views.split(","))
    cuda = args.device.startswith("cuda")
    with tempfile.TemporaryDirectory(prefix="bench-loader-") as tmp:
        workdir = args.workdir or Path(tmp)
        if args.export:
            export = args.export
        elif args.source == "synthetic":
            export = build_synthetic(workdir, args.units, args.size, args.frames, args.build_workers)
        else:
            export = build_export(workdir, args.subjects, args.size, args.frames, args.build_workers)
        meta = json.loads((export / "meta.json").read_text())
        results = {"export": {k: meta[k] for k in ("clips", "units", "frames", "size")},
                   "device": torch.cuda.get_device_name() if cuda else "cpu", "cpus": os.cpu_count(), "loader": []}
        for w in (int(x) for x in args.loader_workers.split(",")):
            results["loader"].append(measure_loader(export, w, args.batch, args.epochs, views, pin=cuda))
    if cuda:
        step = measure_gpu_step(args.batch, meta["frames"], meta["size"], len(views), args.steps, args.device,
                                args.frozen)
        results["gpu_step_s"] = step
        for row in results["loader"]:
            row["gpu_step_over_loader"] = step / row["batch_s"]
    print(f"export: {results['export']}; device {results['device']}; {results['cpus']} CPUs")
    print(f"{'workers':>7} {'items/s':>8} {'clips/s':>8} {'MB/s':>7} {'s/batch':>8}"
          + (f" {'GPU step/loader':>16}" if cuda else ""))
    for row in results["loader"]:
        line = (f"{row['workers']:>7} {row['items_per_s']:>8.1f} {row['clips_per_s']:>8.1f} {row['MB_per_s']:>7.0f} "
                f"{row['batch_s']:>8.3f}")
        if cuda:
            line += f" {row['gpu_step_over_loader']:>16.2f}"
        print(line)
    if cuda:
        what = "layer3/layer4/fc trained" if args.frozen else "all layers trained"
        print(f"GPU training step (r3d_18 x {len(views)} views, batch {args.batch}, {what}): "
              f"{results['gpu_step_s']:.3f}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
