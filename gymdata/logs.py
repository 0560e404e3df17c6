"""Quiet third-party native logs unless ``--verbose``.

MediaPipe and the TensorFlow Lite runtime inside it log from C++ straight to file descriptor 2
(``INFO: Created TensorFlow Lite XNNPACK delegate``, ``W0000 ... inference_feedback_manager.cc``,
``landmark_projection_calculator.cc``), once per graph start, in every worker process. The usual
switches do not reach them: ``GLOG_minloglevel`` and ``TF_CPP_MIN_LOG_LEVEL`` change nothing for
mediapipe 0.10.21 (absl logs to stderr before ``absl::InitializeLog``, which the Python package
never calls). So the only dependable way is to point fd 2 elsewhere while a graph is built or
runs, which :func:`quiet_native_stderr` does; Python's own errors are raised as exceptions and
reported after it, so nothing of ours is lost.

``gymdata --verbose`` sets ``GYMDATA_VERBOSE=1``, inherited by worker processes (spawned or Ray),
and then nothing is redirected.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

VERBOSE_ENV = "GYMDATA_VERBOSE"
_lock = threading.Lock()
_depth = 0
_saved: int | None = None


def verbose() -> bool:
    """Whether third-party logs should be shown (``gymdata --verbose`` or ``GYMDATA_VERBOSE=1``)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def set_verbose(on: bool) -> None:
    """Record the verbosity for this process and the worker processes it starts."""
    if on:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send what native code writes to fd 2 to ``/dev/null`` for the duration of the block.

    Re-entrant (nested blocks keep the outermost redirection) and a no-op when verbose or when fd 2
    cannot be duplicated (e.g. closed). Python-level ``sys.stderr`` is flushed first so nothing
    written before the block is lost or reordered.
    """
    global _depth, _saved
    if verbose():
        yield
        return
    with _lock:
        if _depth == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass
            try:
                saved = os.dup(2)
            except OSError:
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, 2)
                finally:
                    os.close(devnull)
            _saved = saved
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                try:
                    sys.stderr.flush()
                except (AttributeError, ValueError):
                    pass
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
