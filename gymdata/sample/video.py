"""A deterministic H.264 encoder: the same frames give the same bytes, in any process."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

# One thread and x264's plain C code: with its SIMD code (asm) the same frames encoded in two
# processes came out with different bytes now and then (3 variants in 6 parallel runs: it reads
# memory whose contents depend on the process's earlier allocations). asm=0 costs ~0.2 ms a frame.
_X264_OPTIONS = {"crf": "26", "preset": "veryfast", "threads": "1", "x264-params": "asm=0"}


class _VideoWriter:
    """Deterministic H.264 (libx264, one thread, yuv420p) MP4 writer."""

    def __init__(self, path: Path, fps: int, size: int):
        self.container = av.open(str(path), mode="w", options={"fflags": "+bitexact"})
        self.stream = self.container.add_stream("libx264", rate=fps, options=dict(_X264_OPTIONS))
        self.stream.width = self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        self.stream.codec_context.thread_count = 1

    def write(self, bgr: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        self.container.mux(self.stream.encode(None))
        self.container.close()

