"""System metrics sampled in the background while a run is open."""

from __future__ import annotations

import time

import psutil

from rigorlab.store import open_store
from rigorlab.tracking import track
from rigorlab.tracking._system import gpu_samples


def test_system_metrics_are_sampled_as_curves_but_never_summarised(store_path):
    with track(study="s", arm="a", dataset="d", replicate=0, store=store_path, system_metrics=0.05) as run:
        deadline = time.monotonic() + 30
        while run._sampler.samples < 3 and time.monotonic() < deadline:
            run.log(loss=1.0)
            time.sleep(0.02)
    with open_store(store_path) as store:
        curves = store.curves("s")
        metrics = store.metrics("s")
    system = curves[curves.name.str.startswith("system/")]
    names = set(system.name)
    assert {"system/cpu_percent", "system/memory_percent", "system/process_rss_mib"} <= names
    cpu = system[system.name == "system/cpu_percent"]
    assert cpu.step.tolist()[:3] == [0, 1, 2]
    assert cpu.value.between(0, 100).all()
    rss = system[system.name == "system/process_rss_mib"].value
    assert (rss > 1).all() and (rss < psutil.virtual_memory().total / 2**20).all()
    assert any(name.startswith("system/gpu0_") for name in names) == bool(gpu_samples())
    assert metrics.metric.tolist() == ["loss"]  # statistics never see system/ curves
