"""seed_everything: the same seed gives the same draws everywhere, and the run records what was done."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

import rigorlab
from rigorlab.errors import InputError
from rigorlab.store import open_store
from rigorlab.tracking import last_seeding, seed_everything, track
from rigorlab.tracking._messages import MSG_BAD_SEED

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def restore_global_state(monkeypatch):
    """seed_everything changes process-wide state on purpose; put it back for the other tests."""
    for variable in ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG"):
        monkeypatch.delenv(variable, raising=False)  # restored by monkeypatch afterwards
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002
    torch_state = torch.random.get_rng_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)  # noqa: NPY002
    torch.random.set_rng_state(torch_state)
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


def draws() -> tuple[float, float, list[float]]:
    return random.random(), float(np.random.rand()), torch.rand(3).tolist()  # noqa: NPY002


def test_the_same_seed_gives_the_same_draws_and_another_seed_others():
    seed_everything(11)
    first = draws()
    seed_everything(11)
    assert draws() == first
    seed_everything(12)
    assert draws() != first


def test_the_record_says_what_was_seeded_and_set():
    record = seed_everything(5)
    assert record["seed"] == 5
    assert record["seeds"]["python"] == record["seeds"]["numpy"] == record["seeds"]["torch"] == 5
    assert ("torch_cuda" in record["seeds"]) == torch.cuda.is_available()
    assert record["deterministic"]["torch.use_deterministic_algorithms"] is True
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert record["pythonhashseed"] == "5"
    assert last_seeding() == record
    relaxed = seed_everything(6, deterministic=False)
    assert relaxed["deterministic"] == {}


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "7", True])
def test_a_bad_seed_gets_one_clear_message(seed):
    with pytest.raises(InputError) as caught:
        seed_everything(seed)
    assert str(caught.value) == MSG_BAD_SEED.format(value=seed)


def test_a_tracked_run_stores_its_seeds_and_the_settings(store_path):
    with track(study="s", arm="a", dataset="d", replicate=3, seed=2026, store=store_path) as run:
        run.log(step=0, loss=float(torch.rand(1)))
    with open_store(store_path) as store:
        provenance = store.provenance("s", run.key)
        tags = store.trial_tags("s", run.key)
    assert provenance["seeds"] == {"python": 2026, "numpy": 2026, "torch": 2026} | (
        {"torch_cuda": 2026} if torch.cuda.is_available() else {}
    )
    assert json.loads(tags["rigorlab.seeding"])["deterministic"]["torch.backends.cudnn.deterministic"] is True
    assert rigorlab.seed_everything is seed_everything
