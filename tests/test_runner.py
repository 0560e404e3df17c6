"""The shared runner: results in any order, per-item errors, same answers in parallel."""

from __future__ import annotations

from gymdata.runner import run_tasks


def square_or_fail(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def test_serial_and_parallel_agree_and_errors_are_per_item():
    for workers in (1, 2):
        outcomes = list(run_tasks(square_or_fail, range(8), workers=workers, progress=False, chunksize=2))
        assert sorted(o.item for o in outcomes) == list(range(8))
        good = {o.item: o.value for o in outcomes if o.ok}
        bad = {o.item: o.error for o in outcomes if not o.ok}
        assert good == {x: x * x for x in range(8) if x != 3}
        assert bad == {3: "three is bad"}


def test_count_callback_and_empty_input():
    assert list(run_tasks(square_or_fail, [], progress=False)) == []
    seen = list(run_tasks(square_or_fail, [1, 2], progress=True, count=lambda v: v))
    assert [o.value for o in seen] == [1, 4]
