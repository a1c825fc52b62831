"""What the benchmarks share: warm timings of one call, and the rows of their metric / value / goal / result table."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


def warm_timings(call: Callable[[], T], runs: int = 5) -> tuple[list[float], T]:
    """Seconds of each of ``runs`` calls after one untimed call (plans, caches), and the last call's result."""
    result = call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        timings.append(time.perf_counter() - started)
    return timings, result


@dataclass(frozen=True)
class GoalTable:
    """Column widths of a benchmark's table; ``row`` formats one line of it."""

    name: int = 48
    value: int = 16
    goal: int = 10

    def row(self, name: str, value: str, goal: str = "", verdict: str = "") -> str:
        return f"{name:<{self.name}}{value:>{self.value}}   {goal:<{self.goal}}{verdict}"
