"""Replicates per second: one at a time vs batched into one stacked model. Prints JSON.

Two tasks, as the issue sets them: an MLP on a synthetic 50,000 x 64, 10-class task, and a small
CNN on scikit-learn's digits as 8x8 images. For each number of replicates (1, 8, 32, 128):

- ``plain``: the loop a user writes by hand, one replicate after another (nn.Module,
  torch.optim.Adam, a randperm per epoch, torch's default settings), then predicting the test rows;
- ``one_at_a_time``: rigorlab's trainer with ``batched: false`` (deterministic settings, same
  arithmetic as a stack of one);
- ``batched``: rigorlab's trainer, all replicates as one stacked model.

One-at-a-time rates do not depend on the number of replicates, so they are measured on
``min(n, --sample)`` replicates and reported per second. On a CPU, rigorlab trains a lone replicate
beside a copy of itself (so that its numbers equal those it gets in any stack), which halves
``one_at_a_time``; ``plain`` is the fair baseline there. Every run trains ``--epochs`` full epochs
and predicts the test rows (80/20 holdout). The ratio ``batched / plain`` is the speed-up a user
sees over the loop they would otherwise write.

    python benchmarks/bench_torch.py                      # CPU: MLP (batch 256 and 32) and CNN, 1/8/32/128 replicates
    python benchmarks/bench_torch.py --device cuda --mlp-hidden 256 --mlp-batch 64 --threads 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from rigorlab_examples.nets import MLP, DigitsCNN  # noqa: E402

from rigorlab.data import Dataset  # noqa: E402
from rigorlab.models import ReplicateJob, TorchModel, TrainingConfig, fit_torch_replicates  # noqa: E402


def synthetic(rows: int = 50_000, width: int = 64, classes: int = 10, seed: int = 0) -> Dataset:
    """A learnable 10-class task: the label is the argmax of a fixed random projection plus noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, width)).astype(np.float32)
    logits = features @ rng.normal(size=(width, classes)) + rng.normal(scale=2.0, size=(rows, classes))
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(width)])
    return _dataset("synthetic", frame, np.argmax(logits, axis=1))


def digits() -> Dataset:
    bunch = load_digits(as_frame=True)
    return _dataset("digits", bunch.data.astype(np.float32) / 16.0, bunch.target.to_numpy())


def _dataset(name: str, frame: pd.DataFrame, target: np.ndarray) -> Dataset:
    return Dataset(name, frame, target, "classification", "y", pd.DataFrame(index=frame.index), None, name)


def _jobs(dataset: Dataset, count: int) -> list[ReplicateJob]:
    rows = dataset.n_rows
    order = np.random.default_rng(1).permutation(rows)
    train, test = np.sort(order[: int(rows * 0.8)]), np.sort(order[int(rows * 0.8) :])
    return [ReplicateJob(train, test, 1000 + r, 2000 + r) for r in range(count)]


def plain_loop(build: Any, dataset: Dataset, jobs: list[ReplicateJob], epochs: int, batch: int, shape: Any) -> float:
    """The hand-written PyTorch loop, one replicate after another; seconds for all of ``jobs``."""
    device = torch.device(DEVICE)
    features = torch.tensor(dataset.features.to_numpy(np.float32)).to(device)
    if shape is not None:
        features = features.reshape(len(features), *shape)
    target = torch.tensor(dataset.target).to(device)
    started = time.perf_counter()
    for job in jobs:
        torch.manual_seed(job.init_seed)
        model = build().to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        train = torch.tensor(job.train).to(device)
        generator = torch.Generator().manual_seed(job.data_order_seed)
        model.train()
        for _ in range(epochs):
            order = train[torch.randperm(len(train), generator=generator).to(device)]
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                loss = F.cross_entropy(model(features[rows]), target[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            test = torch.tensor(job.test).to(device)
            torch.softmax(model(features[test]), dim=1).cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def rigorlab_fit(model: TorchModel, dataset: Dataset, jobs: list[ReplicateJob], batched: bool) -> float:
    started = time.perf_counter()
    fits = fit_torch_replicates(model, dataset, jobs, device=DEVICE, batched=batched, threads=THREADS or None)
    seconds = time.perf_counter() - started
    assert len(fits) == len(jobs)
    return seconds


def measure(task: str, args: argparse.Namespace, mlp_batch: int = 256) -> dict[str, Any]:
    if task == "mlp":
        dataset = synthetic()
        hidden = args.mlp_hidden

        def build() -> torch.nn.Module:
            return MLP(64, 10, hidden=hidden, layers=2)

        params: dict[str, Any] = {"hidden": hidden, "layers": 2}
        module, shape, batch, epochs = "rigorlab_examples.nets:MLP", None, mlp_batch, args.epochs
        description = f"MLP 64-{hidden}-{hidden}-10 on synthetic 50000 x 64 (10 classes), batch {batch}"
    else:
        dataset = digits()

        def build() -> torch.nn.Module:
            return DigitsCNN(10, channels=16, dropout=0.1)

        params = {"channels": 16, "dropout": 0.1}
        module, shape, batch, epochs = "rigorlab_examples.nets:DigitsCNN", (1, 8, 8), 64, args.cnn_epochs
        description = f"DigitsCNN (2 conv, 16/32 channels) on digits 1797 x 8x8, batch {batch}"
    training = TrainingConfig(epochs=epochs, batch_size=batch, input_shape=shape)
    model = TorchModel(module, params, training, {}, task)
    # Warm-up: imports, kernels, allocator.
    rigorlab_fit(model, dataset, _jobs(dataset, 2), batched=True)
    plain_loop(build, dataset, _jobs(dataset, 1), 1, batch, shape)
    rows = []
    for count in args.counts:
        jobs = _jobs(dataset, count)
        sample = jobs[: min(count, args.sample)]
        plain = len(sample) / plain_loop(build, dataset, sample, epochs, batch, shape)
        alone = len(sample) / rigorlab_fit(model, dataset, sample, batched=False)
        batched = count / rigorlab_fit(model, dataset, jobs, batched=True)
        rows.append(
            {
                "replicates": count,
                "plain_replicates_per_s": round(plain, 3),
                "one_at_a_time_replicates_per_s": round(alone, 3),
                "batched_replicates_per_s": round(batched, 3),
                "batched_vs_plain": round(batched / plain, 2),
                "batched_vs_one_at_a_time": round(batched / alone, 2),
            }
        )
        print(json.dumps({"task": task, "batch": batch, **rows[-1]}), file=sys.stderr, flush=True)
    return {"task": task, "description": description, "epochs": epochs, "results": rows}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": DEVICE,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    if DEVICE == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def main() -> None:
    global DEVICE, THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32, 128])
    parser.add_argument("--tasks", default="mlp,cnn")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the MLP on 40,000 training rows")
    parser.add_argument("--cnn-epochs", type=int, default=5, help="epochs of the CNN on 1,437 training rows")
    parser.add_argument("--mlp-hidden", type=int, default=64)
    parser.add_argument(
        "--mlp-batch", type=lambda s: [int(x) for x in s.split(",")], default=[256, 32], help="one MLP run per size"
    )
    parser.add_argument("--sample", type=int, default=4, help="replicates timed one at a time")
    args = parser.parse_args()
    DEVICE, THREADS = args.device, args.threads
    if THREADS:
        torch.set_num_threads(THREADS)
    started = time.perf_counter()
    report = {
        "benchmark": "torch replicates per second: hand-written loop / rigorlab one at a time / rigorlab batched",
        "machine": machine(),
        "tasks": [
            measure(task, args, batch)
            for task in args.tasks.split(",")
            for batch in (args.mlp_batch if task == "mlp" else [0])
        ],
    }
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


DEVICE = "cpu"
THREADS = 1

if __name__ == "__main__":
    main()
