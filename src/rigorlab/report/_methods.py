"""The methods section, written from the store: plain prose a reader can paste into a paper.

Every sentence states a stored fact (or says that it was not recorded); nothing is inferred that
the store does not hold. The tables that go with it (datasets, hyperparameters, environments) are
built here too, from the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from rigorlab._version import __version__
from rigorlab.models import METRICS, is_known_metric, metric_direction
from rigorlab.spec import expand_arms
from rigorlab.stats import MIN_DATASETS_FOR_RANKING

from ._arms import (
    ArmView,
    arm_views,
    params_text,
    seed_check,
    selected_text,
    selected_values,
    training_text,
    value_text,
)
from ._facts import StoredStudy
from ._provenance import (
    CORE_PACKAGES,
    ComputeView,
    EnvironmentView,
    GitState,
    duration_text,
    estimator_package,
    key_package_versions,
    memory_text,
    plural,
)
from ._records import MetricResults, Paragraph

__all__ = ["methods_paragraphs", "methods_tables", "metric_description", "source_text"]


def _class_balance(balance: Mapping[str, int] | None) -> str:
    if not balance:
        return ""
    total = sum(balance.values())
    if len(balance) > 10:
        shares = sorted(count / total for count in balance.values())
        return f"{len(balance)} classes (from {shares[0]:.1%} to {shares[-1]:.1%} of the rows each)"
    listed = "; ".join(f"{label}: {count}, {count / total:.1%}" for label, count in balance.items())
    return f"{len(balance)} classes ({listed})"


def source_text(source: Mapping[str, Any]) -> str:
    """Where a dataset came from, in words."""
    kind = source.get("kind")
    if kind == "builtin":
        return f"the scikit-learn built-in loaded with {source.get('loader')}, scikit-learn {source.get('sklearn')}"
    if kind == "package":
        version = f" {source['version']}" if source.get("version") else ""
        return f"file {source.get('path')} shipped with the package {source.get('distribution')}{version}"
    if kind == "file":
        return f"file {source.get('path')} (SHA-256 {str(source.get('sha256', ''))[:12]})"
    if kind == "callable":
        return f"returned by the function {source.get('callable')}"
    return "source not recorded"


def _dataset_sentence(summary: Mapping[str, Any]) -> str:
    name = summary.get("name")
    parts = [
        f"{name} ({source_text(summary.get('source') or {})}) has {summary.get('rows')} rows and "
        f"{summary.get('columns')} feature columns ({summary.get('numeric_columns', '?')} numeric, "
        f"{summary.get('categorical_columns', '?')} categorical)"
    ]
    task = summary.get("task")
    target = summary.get("target")
    balance = _class_balance(summary.get("class_balance"))
    parts.append(f"a {task} task on the column {target}" + (f" with {balance}" if balance else ""))
    missing = summary.get("missing_values") or 0
    parts.append(f"{missing} feature values are missing" if missing else "no feature value is missing")
    if summary.get("sensitive"):
        parts.append(f"the sensitive attributes {', '.join(summary['sensitive'])} are kept out of the features")
    return "; ".join(parts) + "."


def _split_sizes(facts: StoredStudy) -> str:
    finished = facts.finished
    if finished["n_train"].isna().all():
        return ""
    sizes = finished.groupby("dataset", sort=False)[["n_train", "n_test"]].median()
    described = [f"{int(row.n_train)}/{int(row.n_test)} on {dataset}" for dataset, row in sizes.iterrows()]
    return " Training/test rows per split (median): " + ", ".join(described) + "."


def _protocol_paragraph(facts: StoredStudy) -> str:
    spec = facts.spec
    if spec is None:
        return (
            "The results were recorded with rigorlab.track from a hand-written training loop; the study has no "
            "study file, so the data splits and the protocol are those of that code and are not recorded in "
            "the store." + _split_sizes(facts)
        )
    protocol = spec.protocol
    replicates = spec.replicates
    folds = protocol.folds_per_replicate
    if protocol.kind == "holdout":
        design = (
            f"Each arm was evaluated on a hold-out split with {protocol.test_size:.0%} of the rows as test set "
            f"(stratified by class for classification), drawn anew for each of {replicates} replicates"
        )
    elif protocol.kind == "repeated_kfold":
        design = (
            f"Each arm was evaluated with {folds}-fold cross-validation (stratified by class for "
            f"classification) repeated {replicates} times, with new splits in every replicate"
        )
    elif protocol.kind == "group_shift":
        groups = getattr(protocol, "train_groups", None)
        until = getattr(protocol, "train_until", None)
        chosen = f"the groups {', '.join(map(str, groups))}" if groups else f"the groups up to {until}"
        design = (
            f"Each arm was trained on {chosen} and tested on held-out rows of those groups and on every row of the "
            f"other groups (distribution shift), with new training rows in each of {replicates} replicates; the "
            "shifted test rows are the same in every replicate, so the comparisons are conditional on them"
        )
    else:
        stratified = "stratified " if protocol.kind == "stratified_kfold" else ""
        design = (
            f"Each arm was evaluated with {stratified}{folds}-fold cross-validation on one split shared by all "
            f"{replicates} replicates (the replicates differ in model initialisation and the order of training rows)"
        )
    n_arms = len(expand_arms(spec))
    n_datasets = len(spec.datasets)
    total = n_arms * n_datasets * replicates * folds
    text = (
        f"{design}: {replicates * folds} train/test evaluations per arm and dataset, {total} trials in all "
        f"({plural(n_arms, 'arm')} x {plural(n_datasets, 'dataset')} x {plural(replicates, 'replicate')} x "
        f"{plural(folds, 'fold')}). All arms used the same splits in each replicate, so every "
        "comparison is paired. Scores were computed on the test rows; fold scores were averaged within a "
        "replicate." + _split_sizes(facts)
    )
    return text


def _seeds_paragraph(facts: StoredStudy, numpy_versions: Sequence[str]) -> str:
    spec = facts.spec
    if spec is None:
        seeded = sum(1 for record in facts.samples if record.get("seeds"))
        return (
            f"Seeds were set by the training code; {seeded} of {len(facts.samples)} sampled runs recorded theirs "
            "(rigorlab.track(seed=...) or rigorlab.seed_everything)."
        )
    numpy = f" (numpy {', '.join(numpy_versions)})" if numpy_versions else ""
    matching, checked = seed_check(facts)
    check = f" The stored seeds of {matching} of {checked} checked trials equal this derivation." if checked else ""
    return (
        f"The study seed was {spec.seed}. For replicate r, four independent seeds (for splitting, model "
        "initialisation, the order of training rows and the inner selection splits) were drawn from "
        f"numpy's SeedSequence({spec.seed}, spawn_key=(r,)){numpy}; the initialisation seed was passed as "
        "random_state unless a model set its own." + check
    )


def _models_paragraph(facts: StoredStudy, arms: list[ArmView]) -> str:
    sentences = []
    for arm in arms:
        if not arm.from_spec:
            params = f" with {params_text(arm.params)}" if arm.params else ""
            sentences.append(f"{arm.name} was recorded by rigorlab.track{params}.")
            continue
        sentence = f"{arm.name}: {arm.estimator}"
        if arm.params:
            sentence += f" with {params_text(arm.params)}"
        if arm.preprocess:
            sentence += f", after {', '.join(arm.preprocess)} (fit on the training rows only)"
        if arm.training:
            sentence += f", {training_text(arm.training)}"
        if arm.grid:
            grid = "; ".join(
                f"{name} in {{{', '.join(value_text(v) for v in values)}}}" for name, values in arm.grid.items()
            )
            primary = facts.spec.primary if facts.spec is not None else "the primary metric"
            sentence += (
                f"; {grid} selected on each training set by {arm.inner_folds}-fold inner cross-validation "
                f"(stratified for classification) maximising {primary}, refit on the whole training set; the test "
                "rows never took part"
            )
            chosen = selected_values(facts, arm.name)
            if chosen:
                sentence += f" (selected: {selected_text(chosen)})"
        sentences.append(sentence + ".")
    spec = facts.spec
    if spec is not None and spec.protocol.inner_folds is None and any(m.grid for m in spec.models):
        sentences.append(
            "Each point of a parameter grid was evaluated as an arm of its own; no hyperparameter was selected."
        )
    elif spec is not None and not any(arm.grid for arm in arms):
        # What the store shows: rigorlab selected nothing. How the values were chosen is not recorded.
        sentences.append("rigorlab selected no hyperparameters: each arm's values were given in the study file.")
    return " ".join(sentences)


def metric_description(name: str, direction: str | None = None, higher_is_better: bool | None = None) -> str:
    """What a metric measures and its direction, as the methods state it.

    ``direction``/``higher_is_better``: the direction the statistics used and where it came from
    (``StudyComparison.direction``), when it was not rigorlab's own reading of the name (the user
    stated it).
    """
    read = metric_direction(name)
    if higher_is_better is not None and direction is not None and direction != read.reason:
        return f"{'higher' if higher_is_better else 'lower'} is better, {direction}"
    if name in METRICS:
        info = METRICS[name]
        return f"{info.description}; {'higher' if info.higher_is_better else 'lower'} is better"
    if is_known_metric(name):
        return f"scikit-learn scorer; {'higher' if read.higher_is_better else 'lower'} is better"
    # A name logged by a training loop: rigorlab does not know what it measures; its direction
    # comes from the name (loss, error, ... are lower-is-better) and the sentence says so.
    return f"logged by the training code; {'higher' if read.higher_is_better else 'lower'} is better: {read.reason}"


def _metrics_paragraph(metrics: Sequence[str], primary: str, results: Sequence[MetricResults] = ()) -> str:
    compared = {result.metric: result.comparison for result in results}
    described = []
    for name in metrics:
        comparison = compared.get(name)
        if comparison is None:
            described.append(f"{name} ({metric_description(name)})")
        else:
            text = metric_description(name, comparison.direction, comparison.higher_is_better)
            described.append(f"{name} ({text})")
    return f"The metrics were {'; '.join(described)}. The primary metric, used for the comparisons, was {primary}."


# What each paired test of rigorlab.stats does, for the methods prose (keyed by the name the
# statistics put in their ``test`` column; an unknown name is cited as it is).
TEST_PROSE = {
    "Nadeau-Bengio corrected resampled t-test": (
        "the Nadeau-Bengio corrected resampled t-test over all replicate x fold paired differences (the variance "
        "inflated by n_test/n_train for overlapping training sets)"
    ),
    "corrected k-fold t-test on one shared split": (
        "the Nadeau-Bengio corrected t-test over the k fold differences of the one split all replicates shared, each "
        "averaged over the replicates (df = k - 1; the replicates differ only in seeds, so they add no evidence about "
        "the split)"
    ),
    "paired t-test": "a paired t-test on the replicate-level differences",
    "paired t-test over replicates, conditional on the split": (
        "a paired t-test on the replicate-level differences on one fixed split; the inference is conditional on "
        "that split (seeds cannot estimate how another split or sample of the data would change the result)"
    ),
}


def _seed_text(seed: int | None) -> str:
    return "seed given as a numpy Generator" if seed is None else f"seed {seed}"


def _statistics_paragraph(results: Sequence[MetricResults]) -> str:
    comparison = results[0].comparison
    alpha = round(1 - comparison.confidence, 12)
    tests = sorted(set(comparison.comparisons["test"])) if not comparison.comparisons.empty else []
    text = f"Every score is reported as the {comparison.estimate_description()}"
    if tests:
        described = " or ".join(TEST_PROSE.get(test, test) for test in tests)
        text += (
            f" Each arm was compared with the baseline {comparison.baseline} on {comparison.metric} with {described}, "
            f"with Holm's correction over the comparisons within each dataset at alpha = {alpha:.2g}; a difference "
            "is called better or worse only when its adjusted p-value is below alpha (differences that all equal one "
            "value have no p-value and no verdict). Effect sizes are Cohen's d_z of the differences the test used. "
            "Where no difference was found, the number of replicates needed for 80% power was computed from the "
            "noncentral t distribution of the same test at the Bonferroni level alpha/m (m comparisons per dataset), "
            "a conservative stand-in for Holm's correction."
        )
    if comparison.ranking is not None:
        text += (
            f" Across the {len(comparison.ranking.datasets)} datasets, the arms were ranked by their mean score on "
            "each dataset and compared with the Friedman test (with the Iman-Davenport F), the Nemenyi critical "
            "difference and pairwise Wilcoxon signed-rank tests with Holm's correction."
        )
    elif comparison.average_ranks is not None:
        text += (
            f" Across the {len(comparison.datasets)} datasets the arms' average ranks are given as a description "
            f"only: rigorlab runs tests across datasets (Friedman, Nemenyi, Wilcoxon) from {MIN_DATASETS_FOR_RANKING} "
            "datasets on."
        )
    if len(results) > 1:
        others = ", ".join(result.metric for result in results[1:])
        text += f" The same procedures were applied to {others}."
    return text + (
        f" Statistics were computed with rigorlab {__version__} (rigorlab.stats) from the stored fold scores "
        f"({comparison.n_resamples} bootstrap resamples where a bootstrap is used, {_seed_text(comparison.seed)})."
    )


def _hardware_paragraph(views: list[EnvironmentView], complete: bool) -> str:
    if not views:
        return "The hardware and software of the trials were not recorded."
    if len(views) == 1:
        view = views[0]
        return f"All trials ran on {view.hardware}, under {view.os or 'an unrecorded OS'}."
    scope = "trial" if complete else "sampled trial"
    listed = "; ".join(
        f"{view.hardware} ({view.os}; {plural(view.trials, scope)}, {plural(view.runs, 'run')})" for view in views
    )
    return f"The trials ran in {len(views)} environments: {listed}."


def _software_paragraph(views: list[EnvironmentView], arms: list[ArmView]) -> str:
    if not views:
        return ""
    extra = [estimator_package(arm.estimator) for arm in arms if arm.estimator]
    if any(arm.trainer in ("torch", "transformers") for arm in arms):
        extra.append("torch")
    if any(arm.trainer == "transformers" for arm in arms):
        extra.append("transformers")
    wanted = [*CORE_PACKAGES, "rigorlab", *(name for name in extra if name)]
    versions = key_package_versions(views, wanted)
    shown = {name: versions[name] for name in dict.fromkeys(wanted) if name in versions}
    pythons = sorted({view.python for view in views if view.python})
    packages = ", ".join(f"{name} {' / '.join(found)}" for name, found in shown.items())
    return f"Software: Python {' / '.join(pythons) or 'unrecorded'}; {packages}."


def _compute_paragraph(compute: ComputeView) -> str:
    text = (
        f"The {compute.finished} finished trials took {duration_text(compute.total_seconds)} of compute "
        f"({duration_text(compute.fit_seconds)} fitting and {duration_text(compute.predict_seconds)} predicting; "
        f"median {duration_text(compute.median_trial_seconds)} per trial, longest "
        f"{duration_text(compute.max_trial_seconds)})."
    )
    if compute.unfinished:
        text += (
            f" {compute.unfinished} trials did not finish; they ran for {duration_text(compute.unfinished_seconds)} "
            "before they stopped."
        )
    if compute.runs:
        text += (
            f" The {compute.runs} invocation{'s' if compute.runs != 1 else ''} that wrote the results took "
            f"{duration_text(compute.wall_seconds)} of wall-clock time."
        )
    return text


def _code_paragraph(facts: StoredStudy, git: list[GitState] | None) -> str:
    commands = list(dict.fromkeys(" ".join(map(str, command)) for command in facts.runs["command"]))
    shown = "; ".join(f"`{command}`" for command in commands[:3]) + ("; ..." if len(commands) > 3 else "")
    versions = sorted({str(v) for v in facts.runs["rigorlab_version"].dropna()}) or [__version__]
    text = f"The results were produced by rigorlab {' / '.join(versions)}"
    if git is None:
        text += ", outside a git work tree (no commit recorded)"
    else:
        states = []
        for state in git:
            commit = (state.commit or "no commit")[:12]
            branch = f" on branch {state.branch}" if state.branch else ""
            dirty = (
                f" with uncommitted changes (diff SHA-256 {str(state.diff_sha256)[:12]}, stored with the results)"
                if state.dirty
                else ""
            )
            states.append(f"commit {commit}{branch}{dirty}")
        text += f" from git {'; '.join(states)}"
    text += f", with the command{'s' if len(commands) != 1 else ''} {shown}." if commands else "."
    if facts.spec is not None:
        text += " The study file is reproduced in the appendix."
    return text


def methods_paragraphs(
    facts: StoredStudy,
    *,
    results: Sequence[MetricResults],
    metrics: Sequence[str],
    primary: str,
    views: list[EnvironmentView],
    compute: ComputeView,
    git: list[GitState] | None,
) -> tuple[Paragraph, ...]:
    """The methods section, paragraph by paragraph."""
    arms = arm_views(facts)
    summaries = [dict(summary) for summary in facts.datasets["summary"]]
    if summaries:
        data = f"The study used {len(summaries)} dataset{'s' if len(summaries) != 1 else ''}. " + " ".join(
            _dataset_sentence(summary) for summary in summaries
        )
        data += " Each dataset is identified by the SHA-256 fingerprint of its content (see the dataset table)."
    else:
        datasets = ", ".join(sorted(set(facts.trials["dataset"])))
        data = f"The datasets ({datasets}) were loaded by the training code; their content was not recorded."
    numpy_versions = key_package_versions(views).get("numpy", [])
    paragraphs = [
        Paragraph("Data", data),
        Paragraph("Protocol", _protocol_paragraph(facts)),
        Paragraph("Seeds", _seeds_paragraph(facts, numpy_versions)),
        Paragraph("Models and hyperparameters", _models_paragraph(facts, arms)),
        Paragraph("Metrics", _metrics_paragraph(metrics, primary, results)),
        Paragraph("Statistical analysis", _statistics_paragraph(results)),
        Paragraph(
            "Hardware and software",
            f"{_hardware_paragraph(views, facts.environments_complete)} {_software_paragraph(views, arms)}".strip(),
        ),
        Paragraph("Compute", _compute_paragraph(compute)),
        Paragraph("Code", _code_paragraph(facts, git)),
    ]
    return tuple(paragraph for paragraph in paragraphs if paragraph.text)


def methods_tables(facts: StoredStudy, views: list[EnvironmentView]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(datasets, hyperparameters, environments) tables for the methods section."""
    dataset_rows = []
    for summary in facts.datasets["summary"]:
        dataset_rows.append(
            {
                "dataset": summary.get("name"),
                "source": source_text(summary.get("source") or {}),
                "rows": summary.get("rows"),
                "columns": summary.get("columns"),
                "target": summary.get("target"),
                "task": summary.get("task"),
                "class balance": ", ".join(f"{k}: {v}" for k, v in (summary.get("class_balance") or {}).items()),
                "missing values": summary.get("missing_values"),
                "fingerprint (SHA-256)": summary.get("fingerprint"),
            }
        )
    datasets = pd.DataFrame(
        dataset_rows,
        columns=[
            "dataset",
            "source",
            "rows",
            "columns",
            "target",
            "task",
            "class balance",
            "missing values",
            "fingerprint (SHA-256)",
        ],
    )
    arm_rows = []
    for arm in arm_views(facts):
        chosen = selected_values(facts, arm.name)
        arm_rows.append(
            {
                "arm": arm.name,
                "model": arm.estimator,
                "fixed parameters": params_text(arm.params),
                "searched grid": "; ".join(
                    f"{name}: {', '.join(value_text(v) for v in values)}" for name, values in arm.grid.items()
                ),
                "selection": f"{arm.inner_folds}-fold inner CV" if arm.grid else "none",
                "selected values (count/trials)": selected_text(chosen),
                "preprocessing": ", ".join(arm.preprocess),
                "training": training_text(arm.training) if arm.training else "",
            }
        )
    hyperparameters = pd.DataFrame(
        arm_rows,
        columns=[
            "arm",
            "model",
            "fixed parameters",
            "searched grid",
            "selection",
            "selected values (count/trials)",
            "preprocessing",
            "training",
        ],
    )
    versions = key_package_versions(views)
    env_rows = []
    complete = facts.environments_complete
    for view in views:
        env_rows.append(
            {
                "environment": view.hash[:12],
                "trials" if complete else "sampled trials": view.trials,
                "runs": view.runs,
                "CPU": f"{view.cpu} ({view.cpu_cores} cores)" if view.cpu_cores else view.cpu,
                "memory": memory_text(view.memory_bytes),
                "GPU": ", ".join(view.gpus) or "none",
                "OS": view.os,
                "Python": view.python,
                "packages": ", ".join(f"{name} {view.packages[name]}" for name in versions if name in view.packages),
            }
        )
    environments = pd.DataFrame(
        env_rows,
        columns=[
            "environment",
            "trials" if complete else "sampled trials",
            "runs",
            "CPU",
            "memory",
            "GPU",
            "OS",
            "Python",
            "packages",
        ],
    )
    return datasets, hyperparameters, environments
