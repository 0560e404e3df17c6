"""Shared fixtures: an isolated store per test, tiny generated videos, the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Every test gets its own empty store (GYMDATA_HOME) and no FiftyOne telemetry."""
    home = tmp_path / "store"
    monkeypatch.setenv("GYMDATA_HOME", str(home))
    monkeypatch.setenv("FIFTYONE_DO_NOT_TRACK", "true")
    return home


@pytest.fixture
def realdata() -> Path:
    """The real third-party clips, or skip when ../shared/realdata is absent."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not available")
    return REALDATA


def write_video(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48), fps: float = 25.0) -> Path:
    """Encode a tiny H.264 clip of a moving square (deterministic)."""
    from gymdata.media import encode_h264

    w, h = size

    def gen():
        for i in range(frames):
            img = np.full((h, w, 3), 40, np.uint8)
            x = (i * 3) % (w - 10)
            img[10:20, x : x + 10] = (200, 120, 30)
            yield img

    path.parent.mkdir(parents=True, exist_ok=True)
    encode_h264(gen(), path, fps)
    return path


@pytest.fixture
def make_video():
    return write_video


def run_cli(*args: str, env: dict | None = None):
    """Run ``gymdata ARGS`` in-process through the console entry point; returns (code, out, err)."""
    import contextlib
    import io

    from gymdata.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return code, out.getvalue(), err.getvalue()
