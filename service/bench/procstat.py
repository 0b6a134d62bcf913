"""What the kernel knows about a process and the machine: CPU time, peak memory, per-CPU busy time.

Everything is read from /proc, so measuring costs the server nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal (guest is inside user)


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of ``pid`` in MiB: the peak resident set since start and the current one."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)


@dataclass(frozen=True)
class CpuTimes:
    """Busy and total seconds per CPU (``cpu0``, ``cpu1``, ...) since boot."""

    busy: dict[str, float]
    total: dict[str, float]

    def minus(self, earlier: CpuTimes) -> CpuTimes:
        return CpuTimes({k: v - earlier.busy.get(k, 0.0) for k, v in self.busy.items()},
                        {k: v - earlier.total.get(k, 0.0) for k, v in self.total.items()})


def cpu_times() -> CpuTimes:
    busy: dict[str, float] = {}
    total: dict[str, float] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *raw = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        numbers = [int(x) for x in raw[:8]]
        busy[name] = sum(numbers[i] for i in _BUSY_FIELDS) / TICKS_PER_SECOND
        total[name] = sum(numbers) / TICKS_PER_SECOND
    return CpuTimes(busy, total)


def other_use(delta: CpuTimes, cpu: int, own_seconds: float) -> float:
    """Share (0..1) of ``cpu``'s time during ``delta`` that went to anything but ``own_seconds``."""
    name = f"cpu{cpu}"
    total = delta.total.get(name, 0.0)
    if total <= 0:
        return 0.0
    return max(0.0, delta.busy.get(name, 0.0) - own_seconds) / total
