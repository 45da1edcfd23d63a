"""Run a numba kernel over column blocks of a [sessions × instruments] panel, one thread each.

The engines' kernels release the GIL and treat instruments independently, so splitting the
columns over the CPUs this process may use changes nothing in the result, only the time.
(The allocator's correlation kernel splits its sessions the same way: each is computed alone.)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                      # not on Linux
        return os.cpu_count() or 1


def blocks(n: int) -> list[tuple[int, int]]:
    """Column blocks of (nearly) equal width, one per worker thread, at least 8 columns each."""
    workers = max(1, min(cpus(), n // 8))
    cuts = [round(n * k / workers) for k in range(workers + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def run_in_blocks(task, n: int) -> None:
    """`task(c0, c1)` over the column blocks of n columns, in threads."""
    parts = blocks(n)
    if len(parts) == 1:
        task(*parts[0])
    elif parts:
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            for future in [pool.submit(task, c0, c1) for c0, c1 in parts]:
                future.result()
