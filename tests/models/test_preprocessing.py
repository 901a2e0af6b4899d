"""Declared preprocessing is a Pipeline fit on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from rigorlab.errors import InputError
from rigorlab.models import build_estimator, build_pipeline, check_encoding


def test_scaling_and_imputation_learn_from_training_rows_only():
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 3.0], "c": ["a", "b", "a", None]})
    test = pd.DataFrame({"x": [100.0, np.nan], "c": ["z", "b"]})
    pipeline = build_pipeline(LogisticRegression(), {"impute": {}, "standard_scale": {}, "one_hot": {}}, ["x"], ["c"])
    pipeline.fit(train, [0, 1, 0, 1])
    preprocess = pipeline.named_steps["preprocess"]
    numeric = preprocess.named_transformers_["numeric"]
    assert numeric.named_steps["impute"].statistics_.tolist() == [2.0]  # median of the training rows
    assert numeric.named_steps["scale"].mean_.tolist() == [2.0]
    transformed = preprocess.transform(test)
    # an unseen category encodes as all zeros rather than failing
    assert transformed.shape == (2, 3)
    assert transformed[0, 1:].tolist() == [0.0, 0.0]


def test_init_seed_goes_to_random_state_unless_set():
    assert build_estimator("sklearn.ensemble.RandomForestClassifier", {}, 42).random_state == 42
    assert build_estimator("sklearn.ensemble.RandomForestClassifier", {"random_state": 1}, 42).random_state == 1
    assert not hasattr(build_estimator("sklearn.linear_model.LinearRegression", {}, 42), "random_state")


def test_text_columns_need_an_encoder():
    with pytest.raises(InputError) as caught:
        check_encoding({"standard_scale": {}}, ["city"], "logreg", "credit")
    assert str(caught.value) == (
        "Model 'logreg' on dataset 'credit': the columns city are not numeric, and the model's preprocess has no "
        "encoder. Add one_hot or ordinal to preprocess: of model 'logreg'."
    )
