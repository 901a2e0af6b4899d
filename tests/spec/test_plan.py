"""Arms, seeds and trial keys."""

from __future__ import annotations

from rigorlab.execution import prepare
from rigorlab.spec import derive_seeds, expand_arms, load_study
from tests.conftest import SMALL_STUDY


def test_seeds_are_deterministic_and_independent_per_replicate():
    assert derive_seeds(2026, 3) == derive_seeds(2026, 3)
    first, second = derive_seeds(2026, 0), derive_seeds(2026, 1)
    assert first != second
    assert len({first.split, first.init, first.data_order, first.inner_split}) == 4
    assert derive_seeds(2027, 0) != first


def test_a_grid_without_inner_cv_expands_to_one_arm_per_point(write_study):
    text = SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: [0.1, 1.0]}").replace(
        "baseline: logreg", "baseline: forest"
    )
    arms = expand_arms(load_study(write_study(text)).spec)
    assert [a.name for a in arms] == ["logreg[C=0.1]", "logreg[C=1.0]", "forest"]
    assert arms[0].params == {"max_iter": 500, "C": 0.1}
    assert not arms[0].grid


def test_a_grid_with_inner_cv_stays_one_arm(write_study):
    text = SMALL_STUDY.replace("{max_iter: 500}", "{max_iter: 500, C: [0.1, 1.0]}").replace(
        "folds: 3}", "folds: 3, inner_folds: 2}"
    )
    arms = expand_arms(load_study(write_study(text)).spec)
    assert [a.name for a in arms] == ["logreg", "forest"]
    assert arms[0].grid == {"C": [0.1, 1.0]} and arms[0].inner_folds == 2
    assert arms[1].inner_folds is None


def test_plan_size_and_paired_splits(write_study):
    _, _, plan = prepare(write_study())
    assert plan.size == 2 * 1 * 2 * 3  # arms x datasets x replicates x folds
    by_position: dict[tuple[int, int], set[str]] = {}
    for trial in plan.trials:
        by_position.setdefault((trial.replicate, trial.fold), set()).add(trial.split_fingerprint)
    # every arm of a replicate's fold uses the same split: the design is paired
    assert all(len(fingerprints) == 1 for fingerprints in by_position.values())
    # repeated k-fold draws a new split for each replicate
    assert by_position[(0, 0)] != by_position[(1, 0)]


def test_stratified_kfold_shares_one_split_across_replicates(write_study):
    _, _, plan = prepare(write_study(SMALL_STUDY.replace("repeated_kfold", "stratified_kfold")))
    folds = {(t.replicate, t.fold): t.split_fingerprint for t in plan.trials}
    assert folds[(0, 0)] == folds[(1, 0)]
    # the replicates still differ in their model seeds, hence in their keys
    keys = {(t.arm.name, t.replicate, t.fold): t.key for t in plan.trials}
    assert keys[("forest", 0, 0)] != keys[("forest", 1, 0)]


def test_keys_are_stable_and_change_with_any_input(write_study, tmp_path):
    _, _, plan = prepare(write_study())
    _, _, again = prepare(write_study())
    assert [t.key for t in plan.trials] == [t.key for t in again.trials]
    _, _, changed = prepare(write_study(SMALL_STUDY.replace("n_estimators: 10", "n_estimators: 11"), name="other.yaml"))
    forest_before = {t.key for t in plan.trials if t.arm.name == "forest"}
    forest_after = {t.key for t in changed.trials if t.arm.name == "forest"}
    assert forest_before.isdisjoint(forest_after)
    logreg_before = {t.key for t in plan.trials if t.arm.name == "logreg"}
    assert logreg_before == {t.key for t in changed.trials if t.arm.name == "logreg"}
    _, _, reseeded = prepare(write_study(SMALL_STUDY.replace("seed: 7", "seed: 8"), name="seeded.yaml"))
    assert {t.key for t in plan.trials}.isdisjoint({t.key for t in reseeded.trials})
