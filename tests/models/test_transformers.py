"""Text classification with transformers: a CSV text column, a tiny randomly initialised model (or one
saved in a local folder), trained by the same torch trainer and stored in the same store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rigorlab import open_store, run_study
from rigorlab.data import Dataset
from rigorlab.errors import InputError
from rigorlab.models import ReplicateJob, TextClassifier, TorchModel, TrainingConfig, fit_torch_replicates
from rigorlab.models._transformers import MSG_TEXT_COLUMN, MSG_TEXT_MODEL

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TINY = {
    "model_type": "bert",
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
}

TEXT_STUDY = """\
study: texts
seed: 5
replicates: 2
datasets:
  - name: docstrings
    path: docstrings.csv
    target: library
models:
  - name: tiny
    trainer: transformers
    params:
      text_column: text
      max_length: 32
      config: {model_type: bert, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
               intermediate_size: 32, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1}
    training: {optimizer: adamw, lr: 0.003, epochs: 2, batch_size: 16, validation_fraction: 0.2}
protocol: {kind: holdout, test_size: 0.3}
metrics: [accuracy, f1_macro]
"""


def docstrings(per_library: int = 30) -> pd.DataFrame:
    import sys

    sys.path.insert(0, str(EXAMPLES))
    try:
        from rigorlab_examples.text import library_docstrings
    finally:
        sys.path.remove(str(EXAMPLES))
    return library_docstrings(per_library=per_library)


def text_dataset(frame: pd.DataFrame) -> Dataset:
    return Dataset(
        "docs",
        frame[["text"]],
        frame.library.to_numpy(),
        "classification",
        "library",
        pd.DataFrame(index=frame.index),
        None,
        "fp",
    )


def jobs(frame: pd.DataFrame, replicates: int) -> list[ReplicateJob]:
    order = np.random.default_rng(0).permutation(len(frame))
    train, test = np.sort(order[: int(0.7 * len(frame))]), np.sort(order[int(0.7 * len(frame)) :])
    return [ReplicateJob(train, test, 100 + r, 200 + r) for r in range(replicates)]


def test_rows_become_token_ids_and_masks():
    rows = TextClassifier.encode_rows(pd.DataFrame({"text": ["numpy array", None]}), {"max_length": 8})
    assert rows.shape == (2, 2, 8) and rows.dtype == np.int64
    assert rows[0, 1].sum() == 8 and rows[1, 1].sum() == 1  # truncated text; empty text keeps the end token
    model = TextClassifier(3, config=TINY, max_length=8)
    assert model(torch.as_tensor(rows)).shape == (2, 3)


def test_a_batched_transformer_equals_the_same_replicates_alone():
    frame = docstrings()
    dataset = text_dataset(frame)
    model = TorchModel(
        "rigorlab.models:TextClassifier",
        {"config": TINY, "max_length": 24},
        TrainingConfig(epochs=2, batch_size=16, lr=3e-3, optimizer="adamw"),
        name="tiny",
    )
    stacked = fit_torch_replicates(model, dataset, jobs(frame, 3), threads=1, keep_weights=True)
    alone = fit_torch_replicates(model, dataset, jobs(frame, 3), threads=1, keep_weights=True, batched=False)
    assert {fit.tags["batched"] for fit in stacked} == {"stack of 3"}
    for together, single in zip(stacked, alone, strict=True):
        assert all(torch.equal(together.weights[k], single.weights[k]) for k in together.weights)
        assert np.array_equal(together.scores, single.scores)
    assert not all(torch.equal(stacked[0].weights[k], stacked[1].weights[k]) for k in stacked[0].weights)


def test_a_model_from_a_local_folder(tmp_path):
    saved = tmp_path / "tiny-bert"
    TextClassifier(2, config=TINY, max_length=16).model.save_pretrained(saved)
    from transformers import ByT5Tokenizer

    ByT5Tokenizer().save_pretrained(saved)
    frame = docstrings(20)
    frame = frame[frame.library != "pandas"].reset_index(drop=True)
    model = TorchModel(
        "rigorlab.models:TextClassifier",
        {"pretrained": str(saved), "max_length": 16},
        TrainingConfig(epochs=1, batch_size=8),
        name="local",
    )
    fit = fit_torch_replicates(model, text_dataset(frame), jobs(frame, 1), threads=1)[0]
    assert fit.scores.shape == (len(fit.test_index), 2)


def test_what_the_text_classifier_needs_is_said_plainly():
    with pytest.raises(ValueError) as caught:
        TextClassifier(2)
    assert str(caught.value) == MSG_TEXT_MODEL.format(got="neither")
    with pytest.raises(ValueError) as caught:
        TextClassifier.encode_rows(pd.DataFrame({"body": ["x"]}), {"text_column": "text"})
    assert str(caught.value) == MSG_TEXT_COLUMN.format(column="text", columns="body")


@pytest.mark.slow
def test_a_text_study_from_a_csv_runs_and_is_stored(write_study, tmp_path, store_path):
    docstrings(25).to_csv(tmp_path / "docstrings.csv", index=False)
    summary = run_study(write_study(TEXT_STUDY), store=store_path, jobs=1)
    assert summary.done == 2 and summary.failed == 0
    with open_store(store_path) as store:
        trials = store.trials("texts")
        key = trials.key.iloc[0]
        curves = store.curves("texts", key)
        tags = store.trial_tags("texts", key)
        predictions = store.predictions("texts", key)
    assert set(curves.name) == {"train_loss", "val_loss", "val_accuracy"}
    assert tags["batched"] == "stack of 2"
    assert list(predictions["classes"]) == ["numpy", "pandas", "sklearn"]


def test_a_missing_text_column_is_refused_before_running(write_study, tmp_path, store_path):
    docstrings(10).to_csv(tmp_path / "docstrings.csv", index=False)
    with pytest.raises(InputError) as caught:
        run_study(write_study(TEXT_STUDY.replace("text_column: text", "text_column: body")), store=store_path)
    assert "TextClassifier: the text_column 'body' is not a column of the dataset" in str(caught.value)
    assert str(caught.value).endswith("study.yaml:12)")  # the line of text_column
    assert not store_path.exists()
