"""A Dask distributed cluster as the executor of ``petdx run`` (issue 16).

``petdx run STUDY --scheduler tcp://HOST:8786`` (library: :func:`dask_executor` handed to
:func:`petdx.pipeline.run.run_study` as ``executor``) runs the series copies of ingest and
the per-patient quantification on the cluster's workers instead of local processes, behind
the executor seam of :mod:`petdx.pipeline.executors`: :meth:`distributed.Client.get_executor`
is a :class:`concurrent.futures.Executor`, so the stages submit the same picklable tasks
(series UIDs, paths and settings, never image arrays) and take the results back in
submission order in the one process that writes the database. The results, the database
and every output file are therefore the same as a local run's.

What a cluster needs
    Every worker runs the same petdx version (``pip install 'petdx[dask]'``) and reads the
    study folder at the same path as the process running ``petdx run`` (a shared filesystem:
    NFS, Lustre, a Kubernetes volume), because tasks carry paths. The database is written
    only by that process, so workers need no database access.
Failure
    A worker lost mid-run (killed, out of memory) loses its running tasks; the scheduler
    runs them again on another worker (Dask's ``distributed.scheduler.allowed-failures``,
    default 3, then ``KilledWorker``). Tasks are pure functions of their arguments and
    write their files atomically, so a rerun task gives the same outputs and no duplicate
    rows. A task that fails for bad input is reported with its patient like a local run's.

References
----------
Rocklin M. Dask: parallel computation with blocked algorithms and task scheduling.
Proceedings of the 14th Python in Science Conference, 2015:130-136.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass

from petdx.errors import Hint, InputValidationError

__all__ = ["DaskConnection", "dask_executor"]

#: How long to wait for the scheduler before giving up (s).
CONNECT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class DaskConnection:
    """An open connection: the executor to hand to ``run_study`` and what to print."""

    executor: Executor
    scheduler: str
    dashboard: str | None
    n_workers: int


@contextmanager
def dask_executor(
    scheduler: str, *, timeout_s: float = CONNECT_TIMEOUT_S, wait_for_workers: int = 1
) -> Iterator[DaskConnection]:
    """Connect to the Dask scheduler at ``scheduler`` (``tcp://host:port``, or a
    :class:`distributed.LocalCluster`'s address), wait until ``wait_for_workers`` workers
    have joined (within ``timeout_s``), and yield its executor; the connection is closed on
    exit (the cluster keeps running).

    Raises
    ------
    InputValidationError
        Dask is not installed, or no scheduler answers at the address.
    """
    try:
        from distributed import Client
    except ImportError:
        raise InputValidationError(
            "running on a Dask cluster needs Dask distributed, which is not installed: "
            "pip install 'petdx[dask]'.",
            hint=Hint("scheduler", alternatives=("workers",)),
        ) from None
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputValidationError(
            f"scheduler {scheduler}: no Dask scheduler answered within {timeout_s:g} s "
            f"({type(exc).__name__}: {exc}). Start one (`dask scheduler`) and its workers "
            "(`dask worker ADDRESS`), or run on local processes.",
            hint=Hint("scheduler", alternatives=("workers",)),
        ) from None
    try:
        try:
            client.wait_for_workers(wait_for_workers, timeout=timeout_s)
        except TimeoutError:
            raise InputValidationError(
                f"scheduler {scheduler}: fewer than {wait_for_workers} worker(s) joined within "
                f"{timeout_s:g} s. Start workers (`dask worker {scheduler}`).",
                hint=Hint("scheduler", alternatives=("workers",)),
            ) from None
        workers = len(client.scheduler_info().get("workers", {}))
        link = getattr(client, "dashboard_link", None)
        # pure=False: every submission runs (the tasks are deterministic, but a rerun of
        # the stage after a fix must not be served a cached failure).
        executor = client.get_executor(pure=False)
        yield DaskConnection(executor, scheduler, str(link) if link else None, workers)
    finally:
        client.close()
