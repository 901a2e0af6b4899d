"""A stored spec (dumped with its defaults) validates again into the same study."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigorlab.spec import StudySpec, load_study

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_round_trips_through_its_stored_form(path):
    spec = load_study(path).spec
    stored = spec.model_dump(mode="json", by_alias=True)
    assert StudySpec.model_validate(stored) == spec


def test_a_holdout_protocol_round_trips(write_study):
    text = "study: h\ndatasets: [{name: iris}]\nmodels: [{name: t, estimator: sklearn.tree.DecisionTreeClassifier}]\n"
    text += "protocol: {kind: holdout, test_size: 0.3}\nmetrics: [accuracy]\n"
    spec = load_study(write_study(text)).spec
    assert StudySpec.model_validate(spec.model_dump(mode="json", by_alias=True)) == spec
