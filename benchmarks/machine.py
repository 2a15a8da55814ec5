"""A one-paragraph description of the machine a benchmark ran on (Linux /proc, no imports of
the measured packages: versions come from their metadata)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "h5py", "protobuf")


def _proc_field(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def describe() -> str:
    """CPU model, cores, memory, load, Python and package versions."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem_kib = _proc_field("/proc/meminfo", "MemTotal").split()[0]
    mem = f"{int(mem_kib) / 2**20:.1f} GiB" if mem_kib.isdigit() else "?"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Machine: {_proc_field('/proc/cpuinfo', 'model name')}, {cpus} CPUs (nproc), {mem} RAM, "
        f"Linux {platform.release()}; load average at start {load}. Python "
        f"{platform.python_version()}; {versions()}."
    )
