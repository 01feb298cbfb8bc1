"""The executor seam (petdx.pipeline.executors): the serial and the local process executors
give the same results, deliver a worker's exception with its message, and keep the
fork variant to where fork is available."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Executor, ProcessPoolExecutor, as_completed, wait
from pathlib import Path

import pytest

from petdx.errors import Hint, InputValidationError
from petdx.pipeline import executors
from petdx.pipeline.executors import (
    LocalProcessExecutor,
    SerialExecutor,
    StartMethod,
    executor_for,
    fork_available,
    inherits_this_process,
    map_as_completed,
    map_in_order,
    runs_in_this_process,
)
from tests.pipeline import executor_tasks
from tests.pipeline.executor_tasks import (
    collatz_steps,
    fail_on,
    imported_modules,
    parent_state,
    sleep_then_mark,
)

needs_fork = pytest.mark.skipif(not fork_available(), reason="petdx forks on Linux only")

#: Collatz step counts from 1 to 10 (OEIS A006577: 0, 1, 7, 2, 5, 8, 16, 3, 19, 6).
A006577 = [0, 1, 7, 2, 5, 8, 16, 3, 19, 6]


def _executors() -> list[object]:
    return [
        pytest.param(lambda: executor_for(1), id="serial"),
        pytest.param(lambda: LocalProcessExecutor(2), id="spawn"),
        pytest.param(
            lambda: LocalProcessExecutor(2, start_method="fork"), id="fork", marks=needs_fork
        ),
    ]


@pytest.mark.parametrize("make", _executors())
def test_every_executor_gives_the_published_results_in_order(make: Callable[[], Executor]) -> None:
    with make() as executor:
        by_map = [steps for steps, _ in executor.map(collatz_steps, range(1, 11))]
        by_helper = [steps for steps, _ in map_in_order(executor, collatz_steps, range(1, 11))]
        as_done = dict(map_as_completed(executor, collatz_steps, range(1, 11)))
        futures = [executor.submit(collatz_steps, n) for n in range(1, 11)]
        finished = {f.result()[0] for f in as_completed(futures)}
        done, not_done = wait(futures)
    assert by_map == by_helper == A006577
    assert [as_done[i][0] for i in range(10)] == A006577  # each result under its item
    assert finished == set(A006577)
    assert len(done) == 10
    assert not not_done


@pytest.mark.parametrize("make", _executors())
def test_a_workers_exception_reaches_the_caller_with_its_message(
    make: Callable[[], Executor],
) -> None:
    message = r"patient 3: the PET series has no PatientWeight \(0010,1030\)\."
    with make() as executor:
        future = executor.submit(fail_on, 3, 3)
        with pytest.raises(ValueError, match=message):
            future.result()
        assert isinstance(future.exception(), ValueError)
        futures = [executor.submit(fail_on, n, 3) for n in range(1, 6)]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        assert any(f.exception() is not None for f in done)
        with pytest.raises(ValueError, match=message):
            list(map_in_order(executor, fail_on, range(1, 6), [3] * 5))
        with pytest.raises(ValueError, match=message):
            list(map_as_completed(executor, fail_on, range(1, 6), [3] * 5))


def test_one_worker_runs_in_this_process_and_more_do_not() -> None:
    serial = executor_for(1)
    assert isinstance(serial, SerialExecutor)
    assert runs_in_this_process(serial)
    assert serial.submit(collatz_steps, 6).result() == (8, os.getpid())
    with executor_for(2) as pool:
        assert isinstance(pool, LocalProcessExecutor)
        assert not runs_in_this_process(pool)
        assert pool.start_method is StartMethod.SPAWN  # spawn unless fork is asked for
        pids = {pid for _, pid in pool.map(collatz_steps, range(1, 5))}
    assert os.getpid() not in pids


def test_a_spawned_worker_does_not_import_the_pipeline_for_a_task_outside_it() -> None:
    # what keeps a cohort simulator's workers from loading the study database and ingest
    with LocalProcessExecutor(1) as pool:
        loaded = pool.submit(imported_modules, 0).result()
    assert "petdx._worker_start" in loaded
    assert not [m for m in loaded if m.startswith(("petdx.pipeline", "petdx.study"))]


def test_the_serial_executor_runs_each_task_when_its_result_is_taken() -> None:
    log: list[str] = []

    def task(n: int) -> int:
        log.append(f"ran {n}")
        return n

    for n in map_in_order(SerialExecutor(), task, range(3)):
        log.append(f"took {n}")
    assert log == ["ran 0", "took 0", "ran 1", "took 1", "ran 2", "took 2"]
    log.clear()
    for index, n in map_as_completed(SerialExecutor(), task, range(10, 12)):
        log.append(f"took {index}: {n}")
    assert log == ["ran 10", "took 0: 10", "ran 11", "took 1: 11"]
    log.clear()
    for n in SerialExecutor().map(task, range(2)):
        log.append(f"took {n}")
    assert log == ["ran 0", "took 0", "ran 1", "took 1"]


def test_after_an_exception_the_serial_executor_runs_no_further_task() -> None:
    ran: list[int] = []

    def task(n: int) -> int:
        ran.append(n)
        return fail_on(n, 2)

    with pytest.raises(ValueError, match="patient 2: "):
        list(map_in_order(SerialExecutor(), task, range(1, 6)))
    assert ran == [1, 2]


@pytest.mark.parametrize("make", [SerialExecutor, lambda: ProcessPoolExecutor(1)])
def test_no_task_is_taken_after_shutdown_like_the_standard_pools(
    make: Callable[[], Executor],
) -> None:
    executor = make()
    executor.shutdown()
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        executor.submit(collatz_steps, 3)


def test_closing_the_results_cancels_the_tasks_not_started(tmp_path: Path) -> None:
    with LocalProcessExecutor(1) as pool:
        results = map_in_order(pool, sleep_then_mark, [tmp_path] * 8, range(8))
        assert next(results) == 0
        results.close()
    # One task running and at most two in the pool's call queue (max_workers + 1, CPython
    # concurrent.futures.process.EXTRA_QUEUED_CALLS) had started; the rest were cancelled.
    assert 1 <= len(list(tmp_path.glob("*.ran"))) <= 4


@needs_fork
def test_forked_workers_inherit_this_process_and_spawned_ones_do_not() -> None:
    executor_tasks.PARENT_STATE[:] = ["the DICOM index"]
    try:
        with LocalProcessExecutor(2, start_method="fork") as forked:
            assert inherits_this_process(forked)
            assert forked.submit(parent_state, 0).result() == ["the DICOM index"]
        with LocalProcessExecutor(2) as spawned:
            assert not inherits_this_process(spawned)
            assert spawned.submit(parent_state, 0).result() == []
    finally:
        executor_tasks.PARENT_STATE.clear()
    assert not inherits_this_process(SerialExecutor())


@needs_fork
def test_the_fork_variant_freezes_the_garbage_collector_until_shutdown() -> None:
    if gc.get_freeze_count():
        pytest.skip("the collector was frozen before this test")
    with LocalProcessExecutor(2, start_method="fork") as pool:
        assert gc.get_freeze_count() > 0
        assert pool.submit(collatz_steps, 7).result()[0] == 16
    assert gc.get_freeze_count() == 0
    with LocalProcessExecutor(2):
        assert gc.get_freeze_count() == 0  # spawn: nothing to share, nothing frozen


def test_fork_is_refused_where_it_is_not_available_and_executor_for_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executors, "fork_available", lambda: False)
    with pytest.raises(InputValidationError, match="Start method 'fork' is not available"):
        LocalProcessExecutor(2, start_method="fork")
    with executor_for(2, fork=True) as pool:
        assert isinstance(pool, LocalProcessExecutor)
        assert pool.start_method is StartMethod.SPAWN
        assert [s for s, _ in pool.map(collatz_steps, range(1, 4))] == A006577[:3]


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("darwin", False),
        ("win32", False),
        pytest.param("linux", True, marks=needs_fork),
    ],
)
def test_petdx_forks_only_on_linux(
    monkeypatch: pytest.MonkeyPatch, platform: str, expected: bool
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    assert fork_available() is expected


def test_bad_sizes_and_start_methods_are_refused() -> None:
    with pytest.raises(InputValidationError, match="0 workers: expected 1 or more"):
        executor_for(0)
    with pytest.raises(InputValidationError, match="0 worker processes: expected 1 or more"):
        LocalProcessExecutor(0)
    with pytest.raises(
        InputValidationError, match="Start method 'forkserver': expected one"
    ) as refused:
        LocalProcessExecutor(2, start_method="forkserver")
    assert refused.value.hint == Hint("start_method", ("spawn", "fork"))
