"""Throughput of the pose features (gymdata.features) against the slow reference loops of the tests.

    python benchmarks/bench_features.py                      # CPU, one thread
    python benchmarks/bench_features.py --device cuda        # GPU (on-device tensors, synchronised)

Prints frames per second for normalize_landmarks (clips of T = 16), joint_angles and alex_features
(5,984 per frame), and, on CPU, the speed-up over the references in tests/test_features.py. With
--json PATH the figures are also written as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from gymdata.features import alex_features, joint_angles, normalize_landmarks


def timed(fn, device: str, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (after one warm-up), synchronising CUDA."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per timed call (default 65,536 on CPU, 1,048,576 on GPU)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device")
    dtype = getattr(torch, args.dtype)
    n = args.frames or (1_048_576 if device == "cuda" else 65_536)
    T = 16
    gen = torch.Generator().manual_seed(0)
    lm = torch.rand(n // T, T, 33, 4, generator=gen).to(device=device, dtype=dtype)
    xyz = lm.reshape(-1, 33, 4)[..., :3].contiguous()
    results = {"device": torch.cuda.get_device_name() if device == "cuda" else f"cpu x{args.threads} threads",
               "torch": torch.__version__, "frames": n, "dtype": args.dtype}

    def alex_call():
        # the output is 24 KB a frame: a training loop consumes it in batches, so time it in batches too
        for s in range(0, n, 262_144):
            alex_features(xyz[s : s + 262_144])

    for name, fn in [("normalize_landmarks", lambda: normalize_landmarks(lm)),
                     ("joint_angles", lambda: joint_angles(xyz)),
                     ("alex_features", alex_call)]:
        seconds = timed(fn, device, args.repeats)
        results[name] = {"frames_per_s": n / seconds}
        print(f"{name:20s} {n / seconds:14,.0f} frames/s   ({seconds * 1e3:.1f} ms for {n:,} frames)")

    if device == "cpu":
        from test_features import ref_alex, ref_angles, ref_normalize

        rng = np.random.default_rng(0)
        clips = rng.random((4, T, 33, 4)).astype(np.float32)
        pts = clips.reshape(-1, 33, 4)[..., :3]
        for name, fn, frames in [("normalize_landmarks", lambda: [ref_normalize(c) for c in clips], 4 * T),
                                 ("joint_angles", lambda: [ref_angles(p) for p in pts], len(pts)),
                                 ("alex_features", lambda: [ref_alex(p) for p in pts[:8]], 8)]:
            seconds = timed(fn, "cpu", 1)
            ref_fps = frames / seconds
            results[name]["reference_frames_per_s"] = ref_fps
            results[name]["speedup"] = results[name]["frames_per_s"] / ref_fps
            print(f"{name:20s} reference {ref_fps:10,.1f} frames/s -> x{results[name]['speedup']:,.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
