"""The study file's ``audits:``, a model's ``mitigation:`` and the ``group_shift`` protocol: both forms of
each, the stored form validating back to the same spec, and one clear message per mistake."""

from __future__ import annotations

import pytest

from rigorlab.errors import SpecError
from rigorlab.spec import AUDIT_KINDS, StudySpec, load_study
from rigorlab.spec import _audit_spec as audit_messages
from rigorlab.spec import _load as load_messages
from rigorlab.spec import _model as model_messages

STUDY = """\
study: s
datasets:
  - name: arrests
    package: sklego
    path: data/arrests.zip
    target: released
    sensitive: [colour, sex]
    group: year
models:
  - name: logreg
    estimator: sklearn.linear_model.LogisticRegression
    preprocess: [one_hot]
{model}
protocol: {protocol}
metrics: [accuracy]
{audits}
"""


def study(write_study, model: str = "", protocol: str = "{kind: kfold}", audits: str = ""):
    return load_study(write_study(STUDY.format(model=model, protocol=protocol, audits=audits))).spec


def error_of(write_study, **parts: str) -> str:
    path = write_study(STUDY.format(**{"model": "", "protocol": "{kind: kfold}", "audits": "", **parts}))
    with pytest.raises(SpecError) as caught:
        load_study(path)
    return str(caught.value).replace(str(path), "study.yaml")


def round_trips(spec: StudySpec) -> bool:
    return StudySpec.model_validate(spec.model_dump(mode="json", by_alias=True)) == spec


def test_audit_kinds_are_the_audits_kinds():
    from rigorlab.audits import KINDS

    assert AUDIT_KINDS == KINDS


def test_audits_as_a_list_and_as_a_mapping(write_study):
    listed = study(write_study, audits="audits: [fairness, data, fairness]").audits
    assert listed.kinds == ("data", "fairness") and not listed.strict and listed.options == {}
    mapped = study(
        write_study,
        audits="audits:\n  strict: true\n  timeout: 60\n  data:\n  fairness: {n_boot: 50}\n  explain: true\n"
        "  robustness: false\n  cards: {}",
    )
    audits = mapped.audits
    assert audits.kinds == ("data", "fairness", "explain", "cards") and audits.strict and audits.timeout == 60
    assert audits.options == {"fairness": {"n_boot": 50}} and audits.after_training == ("fairness", "explain", "cards")
    assert mapped.model_dump(mode="json")["audits"] == {
        "strict": True,
        "timeout": 60.0,
        "data": {},
        "fairness": {"n_boot": 50},
        "explain": {},
        "cards": {},
    }
    assert round_trips(mapped) and round_trips(study(write_study, audits="audits: [data]"))
    assert study(write_study).audits is None


@pytest.mark.parametrize(
    ("audits", "expected"),
    [
        (
            "audits: [data, fairnes]",
            "audits[1]: "
            + audit_messages.MSG_AUDIT_UNKNOWN_KIND.format(
                kind="fairnes", kinds=", ".join(AUDIT_KINDS), closest=" Did you mean 'fairness'?"
            )
            + " (study.yaml:16).",
        ),
        (
            "audits: [1]",
            "audits[0]: "
            + audit_messages.MSG_AUDIT_NOT_TEXT.format(kinds=", ".join(AUDIT_KINDS), got="1")
            + " (study.yaml:16).",
        ),
        (
            "audits: {stict: true}",
            "The 'stict' field of audits: "
            + audit_messages.MSG_AUDIT_UNKNOWN_KIND.format(
                kind="stict", kinds=", ".join(AUDIT_KINDS), closest=" Did you mean 'strict'?"
            )
            + " (study.yaml:16).",
        ),
        (
            "audits: 3",
            "The 'audits' field of the study: " + audit_messages.MSG_AUDITS_SHAPE.format(got="3") + " (study.yaml:16).",
        ),
        (
            "audits: {fairness: 5}",
            "The 'fairness' field of audits: "
            + audit_messages.MSG_AUDIT_OPTIONS.format(kind="fairness", got="5")
            + " (study.yaml:16).",
        ),
        (
            "audits:\n  cards: {x: 1}",
            "The 'cards' field of audits: " + audit_messages.MSG_CARDS_OPTIONS + " (study.yaml:17).",
        ),
        (
            "audits: {strict: maybe}",
            "The 'strict' field of audits must be true or false. Got 'maybe' instead (study.yaml:16).",
        ),
    ],
)
def test_bad_audits_are_explained_with_their_line(write_study, audits, expected):
    assert error_of(write_study, audits=audits) == expected


def test_audit_settings_are_checked_against_the_audits_defaults(write_study):
    message = error_of(write_study, audits="audits:\n  fairness: {n_bot: 50}")
    assert message == load_messages.MSG_AUDIT_OPTION.format(
        option="n_bot",
        kind="fairness",
        where="study.yaml:17",
        closest=" Did you mean 'n_boot'?",
        valid="bins, confidence, max_groups, min_group_rows, n_boot, positive_label",
    )
    message = error_of(write_study, audits="audits:\n  robustness:\n    epsilons: 0.1")
    assert message == load_messages.MSG_AUDIT_OPTION_TYPE.format(
        option="epsilons",
        kind="robustness",
        expected="a non-empty list of numbers >= 0",
        default="[0.0, 0.05, 0.1, 0.25, 0.5]",
        got="0.1",
        where="study.yaml:18",
    )


MITIGATED = """\
  - name: fair
    estimator: sklearn.linear_model.LogisticRegression
    preprocess: [one_hot]
    mitigation: {mitigation}"""


def test_mitigation_as_a_word_and_as_a_mapping(write_study):
    word = study(write_study, model=MITIGATED.format(mitigation="threshold_optimizer")).models[1].mitigation
    assert word.resolved() == {
        "method": "threshold_optimizer",
        "constraints": "demographic_parity",
        "objective": "accuracy_score",
        "grid_size": 1000,
    }
    spec = study(
        write_study,
        model=MITIGATED.format(
            mitigation="{method: exponentiated_gradient, constraints: equalized_odds, eps: 0.05, sensitive: [colour]}"
        ),
    )
    assert spec.models[1].mitigation.resolved() == {
        "method": "exponentiated_gradient",
        "constraints": "equalized_odds",
        "eps": 0.05,
        "max_iter": 50,
        "sensitive": ["colour"],
    }
    assert round_trips(spec)


@pytest.mark.parametrize(
    ("mitigation", "expected"),
    [
        (
            "threshold_optimiser",
            "The 'method' field of mitigation: "
            + audit_messages.MSG_MITIGATION_UNKNOWN.format(
                method="threshold_optimiser",
                methods="threshold_optimizer, exponentiated_gradient",
                closest=" Did you mean 'threshold_optimizer'?",
            ),
        ),
        (
            "{method: threshold_optimizer, constraints: error_rate_parity}",
            "The 'constraints' field of mitigation: "
            + audit_messages.MSG_MITIGATION_CONSTRAINT.format(
                method="threshold_optimizer",
                constraints="error_rate_parity",
                supported=", ".join(audit_messages.MITIGATION_CONSTRAINTS["threshold_optimizer"]),
            ),
        ),
        (
            "{method: threshold_optimizer, eps: 0.1}",
            "The 'eps' field of mitigation: "
            + audit_messages.MSG_MITIGATION_FIELD.format(field="eps", owner="exponentiated_gradient"),
        ),
        (
            "{method: exponentiated_gradient, objective: selection_rate}",
            "The 'objective' field of mitigation: "
            + audit_messages.MSG_MITIGATION_FIELD.format(field="objective", owner="threshold_optimizer"),
        ),
        ("{method: threshold_optimizer, constrants: equalized_odds}", "Unknown field 'constrants' in mitigation"),
    ],
)
def test_bad_mitigations_are_explained(write_study, mitigation, expected):
    message = error_of(write_study, model=MITIGATED.format(mitigation=mitigation))
    assert message.startswith(expected) and "(study.yaml:16)" in message


def test_mitigation_of_a_torch_model_or_a_nested_grid_is_refused(write_study):
    torch_model = (
        "  - name: fair\n    trainer: torch\n    module: rigorlab_examples.nets:MLP\n"
        "    mitigation: threshold_optimizer"
    )
    message = error_of(write_study, model=torch_model)
    assert message == (
        "The 'mitigation' field of models[1] (fair): "
        + model_messages.MSG_MITIGATION_TORCH.format(name="fair", trainer="torch")
        + " (study.yaml:16)."
    )
    nested = MITIGATED.format(mitigation="threshold_optimizer") + "\n    params: {C: [0.1, 1.0]}"
    message = error_of(write_study, model=nested, protocol="{kind: kfold, inner_folds: 2}")
    assert message == (
        "The 'mitigation' field of models[1] (fair): "
        + model_messages.MSG_MITIGATION_NESTED.format(name="fair")
        + " (study.yaml:16)."
    )


def test_group_shift_protocols_and_their_stored_form(write_study):
    until = study(write_study, protocol="{kind: group_shift, train_until: 2000-06-30, test_size: 0.3}")
    assert until.protocol.train_until == "2000-06-30" and until.protocol.folds_per_replicate == 1
    assert until.protocol.resplits_per_replicate and round_trips(until)
    groups = study(write_study, protocol="{kind: group_shift, train_groups: [1997, 1998]}")
    assert groups.protocol.train_groups == [1997, 1998] and round_trips(groups)


@pytest.mark.parametrize(
    ("protocol", "field", "problem"),
    [
        ("{kind: group_shift}", "kind", model_messages.MSG_GROUP_SHIFT_CHOICE),
        ("{kind: group_shift, train_groups: [1], train_until: 2}", "train_until", model_messages.MSG_GROUP_SHIFT_BOTH),
        (
            "{kind: kfold, train_until: 2}",
            "train_until",
            model_messages.MSG_GROUP_SHIFT_ONLY.format(field="train_until"),
        ),
        ("{kind: group_shift, train_until: 2000, folds: 3}", "folds", model_messages.MSG_GROUP_SHIFT_FOLDS),
    ],
)
def test_bad_group_shift_protocols(write_study, protocol, field, problem):
    message = error_of(write_study, protocol=protocol)
    assert message == f"The '{field}' field of protocol: {problem} (study.yaml:14)."


def test_group_shift_needs_a_group_column(write_study):
    text = STUDY.format(model="", protocol="{kind: group_shift, train_until: 2000}", audits="").replace(
        "    group: year\n", ""
    )
    path = write_study(text)
    with pytest.raises(SpecError) as caught:
        load_study(path)
    assert str(caught.value).replace(str(path), "study.yaml") == (
        "datasets[0] (arrests): "
        + model_messages.MSG_GROUP_SHIFT_NEEDS_GROUP.format(name="arrests")
        + " (study.yaml:3)."
    )
