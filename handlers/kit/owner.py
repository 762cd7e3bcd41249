"""Which process owns something, and whether that process still lives (Linux `/proc`).

A pid alone is not an identity: pids are recycled, and a host that rebooted restarts
them. A `ProcessOwner` adds what makes one process unique: the host name, the boot id
(`/proc/sys/kernel/random/boot_id`, new at every boot), the pid namespace (containers on
one kernel share the boot id but not their pids) and the process start time (field 22 of
`/proc/<pid>/stat`, clock ticks after boot).
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")


class Liveness(enum.Enum):
    """What this process can tell about an owner."""

    ALIVE = "alive"
    DEAD = "dead"
    UNKNOWN = "unknown"  # another host or pid namespace: it cannot be checked from here


@dataclass(frozen=True)
class ProcessOwner:
    """One process, identified well enough to tell later whether it is still running."""

    host: str
    boot_id: str
    pid_namespace: str
    pid: int
    start_time: int

    @classmethod
    def current(cls, *, proc: Path = PROC) -> ProcessOwner:
        """This process."""
        pid = os.getpid()
        started = start_time(pid, proc=proc)
        if started is None:  # our own /proc entry is always there on Linux
            raise OSError(f"cannot read {proc}/{pid}/stat")
        return cls(socket.gethostname(), boot_id(proc=proc), pid_namespace(proc=proc), pid, started)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ProcessOwner:
        """An owner as `document()` wrote it; ValueError if it is not one."""
        try:
            owner = cls(
                str(document["host"]),
                str(document["boot_id"]),
                str(document["pid_namespace"]),
                int(document["pid"]),
                int(document["start_time"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a process owner: {exc}") from None
        return owner

    def document(self) -> dict[str, Any]:
        """The owner as a JSON-ready mapping."""
        return asdict(self)

    def liveness(self, *, here: ProcessOwner | None = None, proc: Path = PROC) -> Liveness:
        """Whether this owner still runs, judged from `here` (default: this process).

        Another host, or another pid namespace of this host, cannot be checked: UNKNOWN.
        On this host and namespace, another boot id means the host restarted since: DEAD;
        else the owner lives when a process with its pid exists, is not a zombie, and
        started at the recorded time (a recycled pid started later).
        """
        here = here or ProcessOwner.current(proc=proc)
        if (self.host, self.pid_namespace) != (here.host, here.pid_namespace):
            return Liveness.UNKNOWN
        if self.boot_id != here.boot_id:
            return Liveness.DEAD
        same = start_time(self.pid, proc=proc) == self.start_time
        return Liveness.ALIVE if same else Liveness.DEAD


def start_time(pid: int, *, proc: Path = PROC) -> int | None:
    """When process `pid` started (clock ticks after boot); None if it is gone or a zombie."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')': split after
    # the last ')'. Then field 3 (state) is index 0 and field 22 (starttime) index 19.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # exited, waiting to be reaped
        return None
    return int(fields[19])


def boot_id(*, proc: Path = PROC) -> str:
    """This boot's id (a new one at every boot)."""
    return (proc / "sys" / "kernel" / "random" / "boot_id").read_text().strip()


def pid_namespace(*, proc: Path = PROC) -> str:
    """This process's pid namespace, e.g. `pid:[4026531836]`."""
    return os.readlink(proc / "self" / "ns" / "pid")
