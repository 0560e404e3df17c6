"""One runner for long jobs: a worker pool (or Ray), a progress bar, per-item outcomes.

Pose extraction, media probing, frame encoding and export all go through :func:`run_tasks`. Each
item's failure is caught and returned as an :class:`Outcome` with an error, so one bad clip never
stops a job; callers commit results as they arrive, which is what makes the jobs resumable.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from gymdata.errors import GymdataError

ENGINES = ("local", "ray")


@dataclass
class Outcome:
    """The result of one item: ``value`` on success, ``error`` (one line) on failure."""

    item: Any
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(fn: Callable, item: Any) -> Outcome:
    try:
        return Outcome(item, fn(item))
    except Exception as exc:  # one bad item must not stop the job; the caller reports it
        return Outcome(item, error=str(exc) or type(exc).__name__)


def _call_chunk(fn: Callable, chunk: list) -> list[Outcome]:
    return [_call(fn, item) for item in chunk]


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_tasks(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    workers: int = 1,
    engine: str = "local",
    desc: str = "",
    unit: str = "item",
    progress: bool = True,
    chunksize: int | None = None,
    count: Callable[[Any], int] | None = None,
    count_unit: str = "frames",
) -> Iterator[Outcome]:
    """Apply ``fn`` to every item and yield an :class:`Outcome` per item as it completes.

    Args:
        fn: A picklable function of one item (module-level for process pools).
        items: The work.
        workers: Worker processes; 1 runs in this process (no pickling, easiest to debug).
        engine: ``local`` (process pool) or ``ray`` (tasks on a Ray cluster; ``ray.init`` uses
            ``RAY_ADDRESS`` when set, else a local Ray).
        desc: Progress bar label.
        unit: What an item is, for the progress bar.
        progress: Show a progress bar on stderr.
        chunksize: Items per task sent to a worker (default: chosen from the item count).
        count: Optional function of a successful value giving a secondary amount (e.g. frames),
            whose rate is shown next to the item rate.
        count_unit: Name of that amount.
    """
    items = list(items)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of {ENGINES}")
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress or not items,
               file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    start, amount = time.perf_counter(), 0

    def report(outcome: Outcome) -> Outcome:
        nonlocal amount
        bar.update(1)
        if count is not None and outcome.ok:
            amount += count(outcome.value)
            bar.set_postfix_str(f"{amount / max(time.perf_counter() - start, 1e-9):.0f} {count_unit}/s", refresh=False)
        return outcome

    try:
        if engine == "ray":
            yield from (report(o) for o in _run_ray(fn, items, chunksize or 1))
        elif workers <= 1 or len(items) <= 1:
            yield from (report(_call(fn, item)) for item in items)
        else:
            size = chunksize or max(1, min(64, len(items) // (workers * 8)))
            yield from (report(o) for o in _run_pool(fn, _chunks(items, size), workers))
    finally:
        bar.close()


def _run_pool(fn: Callable, chunks: list[list], workers: int) -> Iterator[Outcome]:
    # spawn: forking a parent that already runs threads (torch, MediaPipe, Arrow) can deadlock.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    pending = set()
    todo = iter(chunks)
    procs: dict[int, Any] = {}  # every worker process seen, to tell why one died (a broken pool forgets them)

    def submit(chunk) -> None:
        pending.add(pool.submit(_call_chunk, fn, chunk))
        procs.update(getattr(pool, "_processes", None) or {})

    try:
        for chunk in todo:  # keep a bounded number of chunks in flight
            submit(chunk)
            if len(pending) >= workers * 2:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    outcomes = fut.result()
                except BrokenProcessPool:
                    raise _worker_died(list(procs.values())) from None
                yield from outcomes
                nxt = next(todo, None)
                if nxt is not None:
                    submit(nxt)
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_died(procs: list) -> GymdataError:
    """Say why a worker process died (BrokenProcessPool alone hides it): its signal and the usual causes."""
    import signal

    deadline = time.monotonic() + 10
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
    # the pool's own thread may be reaping a worker at the same moment (its code then reads None once)
    while any(p.exitcode is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    codes = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
    # the pool terminates the other workers (SIGTERM) once one died: the first cause is the other code
    codes.sort(key=lambda c: c == -signal.SIGTERM)
    causes = {signal.SIGBUS: "a write to a memory-mapped file failed; is the disk full?",
              signal.SIGKILL: "it was killed, perhaps for lack of memory; try fewer workers (-j)",
              signal.SIGSEGV: "it crashed in a native library"}
    if codes and codes[0] < 0:
        sig = signal.Signals(-codes[0])
        why = f"{sig.name}: {causes.get(sig, 'killed by a signal')}"
    elif codes:
        why = f"exit status {codes[0]}"
    else:
        why = "unknown cause"
    return GymdataError(f"a worker process died ({why})",
                        hint="run again with -j 1 to see the error in this process; finished work is kept")


def _run_ray(fn: Callable, items: list, chunksize: int) -> Iterator[Outcome]:
    import ray  # optional dependency: only needed past one machine

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    remote = ray.remote(_call_chunk)
    refs = [remote.remote(fn, chunk) for chunk in _chunks(items, chunksize)]
    try:
        while refs:
            done, refs = ray.wait(refs, num_returns=1)
            yield from ray.get(done[0])
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
