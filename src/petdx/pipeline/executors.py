"""Where batch work runs: one executor seam for every pool of petdx.

Every batch step of petdx (the series copy of :func:`petdx.pipeline.ingest.ingest`, the
lesion quantification of :func:`petdx.pipeline.run.run_study`, the images of
:func:`petdx.simulate.simulate_cohort`) hands its tasks to a
:class:`concurrent.futures.Executor` and nothing else: ``submit`` returning a
:class:`~concurrent.futures.Future`, ``map``, ``shutdown`` and the context manager, so
:func:`concurrent.futures.as_completed` and :func:`concurrent.futures.wait` work on what it
returns. A caller may pass its own executor in (a Dask cluster's, issue 16); without one, the
step builds the local one from its ``workers`` with :func:`executor_for`:

``workers == 1``: :class:`SerialExecutor`
    Runs each task in this process, at ``submit`` (``map`` lazily, one task per item taken),
    so tests and small jobs start no process. Arguments are not pickled, so a task that works
    here may still fail to pickle for a pool.
``workers > 1``: :class:`LocalProcessExecutor` (spawn)
    A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers are *spawned*: fresh
    interpreters that import petdx and receive their task pickled. Safe in any process,
    including a threaded server.
``workers > 1, fork=True``: :class:`LocalProcessExecutor` (fork, opt-in)
    Workers *forked* from this process: they start at once and inherit its memory (the
    series copy uses the DICOM index it has already built instead of parsing every file
    again), and the garbage collector is frozen (:func:`gc.freeze`) until the pool shuts
    down, so neither side's collector walks, hence copies, the shared pages. Only the local
    commands ask for it: the bulk copy (``petdx ingest``, ``petdx run``, ``petdx demo``)
    and the cohort simulator (``petdx simulate``, ``petdx demo``), whose spawned workers
    would each import petdx first (2 patients: 17 s spawned against 3 s forked).
    **Never use it inside a server process**: forking a process that runs other threads (a
    web server's, a database pool's) can copy a lock held by one of them into a child that
    then deadlocks, and freezing the collector of a long-lived process leaks memory. Linux
    only (:func:`fork_available`); elsewhere :func:`executor_for` falls back to spawn and
    :class:`LocalProcessExecutor` refuses it.

Local workers die with the process that started them (Linux, ``PR_SET_PDEATHSIG``), so a
killed run leaves none working behind it. The signal follows the *thread* that started a
worker (the one calling ``submit``), so submit from a thread that outlives the pool (a
``with`` block inside one call does).

Results are the same on every executor: each task is deterministic in its (picklable)
arguments, and the callers consume results in submission order (:func:`map_in_order`) or
store each under its own key as it completes (:func:`map_as_completed`), so the outputs,
error messages and progress counts do not depend on where the tasks ran.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from petdx._worker_start import start_worker
from petdx.errors import Hint, InputValidationError

__all__ = [
    "LocalProcessExecutor",
    "SerialExecutor",
    "StartMethod",
    "executor_for",
    "fork_available",
    "inherits_this_process",
    "map_as_completed",
    "map_in_order",
    "runs_in_this_process",
]

P = ParamSpec("P")
T = TypeVar("T")


class StartMethod(StrEnum):
    """How a :class:`LocalProcessExecutor` starts its workers (:mod:`multiprocessing`)."""

    SPAWN = "spawn"
    FORK = "fork"


def fork_available() -> bool:
    """Whether the fork variant may be used here: Linux, where ``fork`` is a start method.

    macOS has ``fork`` but its system libraries are not fork-safe (Python's default there
    is spawn since 3.8); Windows has none.
    """
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class SerialExecutor(Executor):
    """Runs every task in this process, at once: the executor of ``workers=1``.

    ``submit`` calls the function before it returns and gives back a finished
    :class:`~concurrent.futures.Future` (holding the result or the exception, as a pool's
    would); ``map`` calls it lazily, as each result is taken, so a caller's progress
    interleaves with the work as in a plain loop. Nothing is pickled.
    """

    def __init__(self) -> None:
        self._shut_down = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if self._shut_down:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # delivered by future.result(), as a worker's would be
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[T]:
        if self._shut_down:
            raise RuntimeError("cannot schedule new futures after shutdown")
        return (self.submit(fn, *args).result() for args in zip(*iterables, strict=False))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shut_down = True


class LocalProcessExecutor(ProcessPoolExecutor):
    """A process pool on this machine; spawned workers unless fork is asked for.

    Parameters
    ----------
    max_workers
        Worker processes, 1 or more.
    start_method
        ``spawn`` (default) or ``fork``: the opt-in variant of the local command-line bulk
        copy, never to be used inside a server process (module docstring). Fork also
        freezes the garbage collector (:func:`gc.freeze`, unless it is frozen already) until
        :meth:`shutdown`; forked workers start at the first ``submit``, all at once.
    end_with_parent
        Workers die when this process does (Linux ``PR_SET_PDEATHSIG``; the signal follows
        the thread that calls ``submit``).

    Raises
    ------
    InputValidationError
        ``max_workers`` below 1, an unknown start method, or fork where it is not available
        (:func:`fork_available`).
    """

    def __init__(
        self,
        max_workers: int,
        *,
        start_method: str | StartMethod = StartMethod.SPAWN,
        end_with_parent: bool = True,
    ) -> None:
        if max_workers < 1:
            raise InputValidationError(
                f"{max_workers} worker processes: expected 1 or more (1 runs the tasks in "
                "this process, with SerialExecutor).",
                hint=Hint("max_workers"),
            )
        try:
            method = StartMethod(start_method)
        except ValueError:
            raise InputValidationError(
                f"Start method {start_method!r}: expected one of "
                f"{', '.join(m.value for m in StartMethod)}.",
                hint=Hint("start_method", tuple(m.value for m in StartMethod)),
            ) from None
        if method is StartMethod.FORK and not fork_available():
            raise InputValidationError(
                f"Start method 'fork' is not available on this platform ({sys.platform}); "
                "petdx forks only on Linux. Use start_method='spawn' (or executor_for(..., "
                "fork=True), which falls back to spawn).",
                hint=Hint("start_method", (StartMethod.SPAWN.value,)),
            )
        forked = method is StartMethod.FORK
        super().__init__(
            max_workers,
            mp_context=multiprocessing.get_context(method.value),
            initializer=start_worker,
            initargs=(os.getpid(), end_with_parent, forked),
        )
        self.start_method = method
        self._frozen_by_us = forked and gc.get_freeze_count() == 0
        if self._frozen_by_us:
            gc.freeze()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            if self._frozen_by_us:
                self._frozen_by_us = False
                gc.unfreeze()


def executor_for(workers: int, *, fork: bool = False) -> Executor:
    """The local executor of ``workers``: :class:`SerialExecutor` for 1, else a
    :class:`LocalProcessExecutor` (spawn; fork when ``fork`` and :func:`fork_available`,
    spawn otherwise).

    Parameters
    ----------
    workers
        1 runs the tasks in this process; more start that many worker processes.
    fork
        Opt-in of the local command-line bulk copy (module docstring); never in a server
        process. Where fork is not available the workers are spawned: the results are the
        same, only start-up is slower; the returned executor's ``start_method`` says which.

    Raises
    ------
    InputValidationError
        ``workers`` below 1.
    """
    if workers < 1:
        raise InputValidationError(
            f"{workers} workers: expected 1 or more worker processes.", hint=Hint("workers")
        )
    if workers == 1:
        return SerialExecutor()
    method = StartMethod.FORK if fork and fork_available() else StartMethod.SPAWN
    return LocalProcessExecutor(workers, start_method=method)


def runs_in_this_process(executor: Executor) -> bool:
    """Whether tasks run in this process (:class:`SerialExecutor`): they may then be given
    objects too large to pickle."""
    return isinstance(executor, SerialExecutor)


def inherits_this_process(executor: Executor) -> bool:
    """Whether the workers are forked from this process (see the module docstring): what
    this process holds when they start, they hold too."""
    return isinstance(executor, LocalProcessExecutor) and executor.start_method is StartMethod.FORK


def map_in_order(
    executor: Executor, fn: Callable[..., T], *iterables: Iterable[Any]
) -> Generator[T, None, None]:
    """``fn`` over the items on ``executor``, results in item order, as
    :meth:`Executor.map <concurrent.futures.Executor.map>` gives them, with what that method
    leaves to the implementation made sure: every task is submitted before this returns
    (on :class:`SerialExecutor`, instead, each runs when its result is taken, so a caller's
    progress interleaves with the work as in a plain loop), and the tasks not yet started
    are cancelled when the generator is closed or a task's exception is raised from it (the
    tasks already running finish; the executor's ``shutdown`` waits for them).
    """
    if runs_in_this_process(executor):
        return (executor.submit(fn, *args).result() for args in zip(*iterables, strict=True))
    futures = [executor.submit(fn, *args) for args in zip(*iterables, strict=True)]
    return _results(futures)


def map_as_completed(
    executor: Executor, fn: Callable[..., T], *iterables: Iterable[Any]
) -> Generator[tuple[int, T], None, None]:
    """``(index, result)`` of ``fn`` over the items on ``executor`` as each task finishes
    (:func:`concurrent.futures.as_completed`); on :class:`SerialExecutor`, in item order,
    each task run when the previous result has been taken. Every task is submitted before
    this returns; the tasks not yet started are cancelled as in :func:`map_in_order`.
    """
    if runs_in_this_process(executor):
        return (
            (index, executor.submit(fn, *args).result())
            for index, args in enumerate(zip(*iterables, strict=True))
        )
    futures = {
        executor.submit(fn, *args): index for index, args in enumerate(zip(*iterables, strict=True))
    }
    return _completed(futures)


def _completed(futures: dict[Future[T], int]) -> Generator[tuple[int, T], None, None]:
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        for future in futures:
            future.cancel()


def _results(futures: list[Future[T]]) -> Generator[T, None, None]:
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
