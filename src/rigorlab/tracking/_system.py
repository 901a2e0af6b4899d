"""System metrics sampled in the background while a tracked run is open.

Every ``interval`` seconds: CPU use of the machine and of this process, memory, and for each
NVIDIA GPU its utilisation and memory (from ``nvidia-smi``, which ships with the driver; no torch
import and no extra package). Samples are curves named ``system/...`` whose step is the sample
number (step k was taken about k x interval seconds after the run started). They are not turned
into summary metrics, so statistics never mistake them for results.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable

import psutil

__all__ = ["SYSTEM_PREFIX", "SystemSampler", "gpu_samples"]

SYSTEM_PREFIX = "system/"
NVIDIA_SMI_TIMEOUT_SECONDS = 10
MIB = 2**20


def gpu_samples() -> dict[str, float]:
    """Utilisation (percent) and memory used (MiB) of each NVIDIA GPU; empty without one."""
    if shutil.which("nvidia-smi") is None:
        return {}
    try:
        output = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_SECONDS,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    samples: dict[str, float] = {}
    for line in output.strip().splitlines():
        try:
            index, utilisation, memory = (part.strip() for part in line.split(","))
            samples[f"{SYSTEM_PREFIX}gpu{int(index)}_utilization_percent"] = float(utilisation)
            samples[f"{SYSTEM_PREFIX}gpu{int(index)}_memory_used_mib"] = float(memory)
        except ValueError:
            continue  # "[N/A]" on GPUs that do not report a value
    return samples


class SystemSampler:
    """A daemon thread that hands ``(name, step, value)`` points to ``append`` every ``interval`` s."""

    def __init__(self, append: Callable[[tuple[str, int, float]], None], interval: float) -> None:
        self._append = append
        self.interval = interval
        self.samples = 0
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._gpus = shutil.which("nvidia-smi") is not None
        self._thread = threading.Thread(target=self._loop, name="rigorlab-system-metrics", daemon=True)

    def start(self) -> None:
        # The first cpu_percent call only starts the measurement; later calls give the use since then.
        psutil.cpu_percent(None)
        self._process.cpu_percent(None)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def sample(self) -> dict[str, float]:
        memory = psutil.virtual_memory()
        values = {
            f"{SYSTEM_PREFIX}cpu_percent": float(psutil.cpu_percent(None)),
            f"{SYSTEM_PREFIX}memory_percent": float(memory.percent),
            f"{SYSTEM_PREFIX}memory_used_mib": float(memory.used) / MIB,
            f"{SYSTEM_PREFIX}process_cpu_percent": float(self._process.cpu_percent(None)),
            f"{SYSTEM_PREFIX}process_rss_mib": float(self._process.memory_info().rss) / MIB,
        }
        if self._gpus:
            gpus = gpu_samples()
            self._gpus = bool(gpus)  # a failing nvidia-smi is not asked again every interval
            values.update(gpus)
        return values

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                values = self.sample()
            except psutil.Error:
                continue  # a transient /proc read failure; the next interval tries again
            for name, value in values.items():
                self._append((name, self.samples, value))
            self.samples += 1
