"""An executor for tests that a batch step runs its tasks on the executor it is given."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import ParamSpec, TypeVar

from petdx.pipeline.executors import SerialExecutor

P = ParamSpec("P")
T = TypeVar("T")


class CountingExecutor(SerialExecutor):
    """Runs the tasks in this process, as workers=1 does, and counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)
