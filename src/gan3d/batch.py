"""Run one job per input in parallel worker processes, with a progress bar and a failure list.

One bad file must not stop a batch of thousands: each failure is recorded (the `DataError` message,
or the exception type for anything unexpected) and reported once at the end.
"""

from __future__ import annotations

import concurrent.futures as futures
import functools
import itertools
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gan3d.errors import Gan3dError

IN_FLIGHT_PER_WORKER = 4  # queued items per worker: keeps every worker busy, bounds memory


@dataclass(frozen=True)
class BatchResult:
    """Counts of one batch, and the failures as (item, message)."""

    done: int
    skipped: int
    failures: list[tuple[str, str]]


def _init_worker() -> None:
    """One thread per worker: the pool already uses every core, and oversubscribed torch/BLAS
    thread pools make a batch many times slower, not faster."""
    import torch

    torch.set_num_threads(1)


def _call(job: Callable[..., bool], item: Any, kwargs: dict[str, Any]) -> tuple[bool, str | None]:
    """Run one job; returns (ran, error message). Never raises, so one bad file fails alone."""
    try:
        return job(item, **kwargs), None
    except Gan3dError as err:
        return False, str(err)
    except Exception as err:  # a bug or a library failure on one odd file: report it, keep going
        return False, f"{item}: unexpected {type(err).__name__}: {err}"


def run_batch(
    job: Callable[..., bool],
    items: Iterable[Any],
    jobs: int = 1,
    description: str = "working",
    total: int | None = None,
    **kwargs: Any,
) -> BatchResult:
    """Apply `job(item, **kwargs)` to every item; `job` returns False when it skipped finished work.

    Args:
        job: a module-level function (picklable for worker processes).
        items: the inputs, typically paths; may be a lazy iterable (e.g. generated grids): at most a
            few items per worker are in flight, so memory stays bounded however many there are.
        jobs: worker processes; 1 runs in this process (easier to debug and profile).
        description: label of the progress bar.
        total: the item count for the bar when `items` has no length.
    """
    console = Console(stderr=True)
    done = skipped = 0
    failures: list[tuple[str, str]] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not sys.stderr.isatty() and os.environ.get("GAN3D_PROGRESS") != "1",
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=len(items) if isinstance(items, Sized) else total)

        def record(item: Any, outcome: tuple[bool, str | None]) -> None:
            nonlocal done, skipped
            ran, error = outcome
            if error is not None:
                failures.append((str(item), error))
            elif ran:
                done += 1
            else:
                skipped += 1
            progress.advance(task)

        if jobs <= 1:
            for item in items:
                record(item, _call(job, item, kwargs))
        else:
            _run_pool(job, iter(items), jobs, kwargs, record)
    return BatchResult(done, skipped, failures)


def _new_pool(workers: int) -> futures.ProcessPoolExecutor:
    # spawn, not fork: a forked child inherits the parent's OpenMP/torch thread state
    context = multiprocessing.get_context("spawn")
    return futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker)


KILLED = "worker process died on this input (killed, e.g. by the out-of-memory killer)"


def _submit_more(
    pool: futures.ProcessPoolExecutor,
    pending: dict[futures.Future, Any],
    remaining: Iterator[Any],
    jobs: int,
    job: Callable[..., bool],
    kwargs: dict[str, Any],
) -> None:
    """Top the pool up to a few items per worker (bounded memory for lazy inputs)."""
    for item in itertools.islice(remaining, IN_FLIGHT_PER_WORKER * jobs - len(pending)):
        pending[pool.submit(_call, job, item, kwargs)] = item


def _run_pool(
    job: Callable[..., bool],
    remaining: Iterator[Any],
    jobs: int,
    kwargs: dict[str, Any],
    record: Callable[[Any, tuple[bool, str | None]], None],
) -> None:
    """Run items in a pool of `jobs` workers, at most a few per worker in flight. When a worker dies
    (the pool breaks), the items that were in flight are rerun one at a time in a one-worker pool, so
    the one that kills its worker is reported failed and the others finish; then a new pool takes the
    rest."""
    while True:
        suspects: list[Any] = []
        with _new_pool(jobs) as pool:
            pending: dict[futures.Future, Any] = {}
            submit_more = functools.partial(_submit_more, pool, pending, remaining, jobs, job, kwargs)
            submit_more()
            while pending and not suspects:
                finished, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                for future in finished:
                    item = pending.pop(future)
                    try:
                        record(item, future.result())
                    except BrokenProcessPool:
                        suspects.append(item)
                if suspects:
                    suspects += list(pending.values())
                    pending.clear()
                else:
                    submit_more()
            if not suspects:
                return
        alone = _new_pool(1)  # one at a time: a death then names its item; a new pool after each death
        try:
            for item in suspects:
                try:
                    record(item, alone.submit(_call, job, item, kwargs).result())
                except BrokenProcessPool:
                    record(item, (False, f"{item}: {KILLED}"))
                    alone.shutdown(wait=False)
                    alone = _new_pool(1)
        finally:
            alone.shutdown()


def report(result: BatchResult, what: str) -> int:
    """Print the summary line (and every failure) to stderr; returns the exit code (0 or 1)."""
    out = sys.stderr
    out.write(f"gan3d: {what}: {result.done} done, {result.skipped} already done, {len(result.failures)} failed\n")
    for _item, message in result.failures:
        out.write(f"gan3d: failed: {message}\n")
    return 1 if result.failures else 0


def default_jobs() -> int:
    """Worker count when the user gives none: every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
