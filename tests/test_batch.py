from __future__ import annotations

from gan3d.batch import run_batch
from gan3d.errors import DataError


def square_job(item: int, fail_on: int = -1) -> bool:
    """Module-level (picklable) test job: fails on one item, skips odd ones."""
    if item == fail_on:
        raise DataError(f"item{item}", "bad item")
    return item % 2 == 0


def test_lazy_items_in_workers_are_all_done_once() -> None:
    seen: list[int] = []

    def items():  # noqa: ANN202
        for i in range(30):
            seen.append(i)
            yield i

    result = run_batch(square_job, items(), jobs=2, total=30, fail_on=7)
    assert seen == list(range(30))
    assert (result.done, result.skipped) == (15, 14)
    assert result.failures == [("7", "item7: bad item")]


def test_in_process_batch_matches() -> None:
    result = run_batch(square_job, list(range(10)), jobs=1, fail_on=3)
    assert (result.done, result.skipped, len(result.failures)) == (5, 4, 1)


def killing_job(item: int) -> bool:
    """Dies like an out-of-memory kill on item 5 (SIGKILL of its own worker process)."""
    if item == 5:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return True


def test_a_killed_worker_costs_one_item_and_the_rest_finish() -> None:
    result = run_batch(killing_job, list(range(20)), jobs=2)
    assert result.done == 19
    assert len(result.failures) == 1 and result.failures[0][0] == "5"
    assert "worker process died" in result.failures[0][1]
