"""Compare a stored study: the bridge from the RunStore to :func:`compare_study`.

The command line (``rigorlab compare``), the report and the dashboard all call this one function,
so they show the same numbers.

The split design comes from the stored study file: ``holdout`` and ``repeated_kfold`` draw new
splits per replicate (``"resampled"``), ``kfold`` and ``stratified_kfold`` share one split
(``"shared"``), and ``group_shift`` tests every replicate on the same shifted rows, so its
inference is conditional on that test set (``"fixed"``: its training rows are resampled, but the
shifted test rows never are; seeds and training resamples cannot estimate how another set of
shifted groups would score). A group-shift study's in-distribution scores
(``<metric>@in_distribution``) are another matter: their test rows, held out of the training
groups, are drawn anew with the training rows in every replicate, so those metrics are
``"resampled"`` (Nadeau-Bengio corrected, with ``n_test`` the in-distribution rows each trial
recorded in its ``in_distribution_rows`` tag: :func:`stored_splits` takes the metric, and
:func:`stored_estimates` gives every metric the interval of its own design). Tracked studies
have no study file: one fold per replicate is a fixed split (``"fixed"``); several folds are
cross-validation whose partitions rigorlab cannot see (``"unknown"``: both tests run, the more conservative counts).

The metric and the baseline (:func:`stored_choices`) are the study file's ``primary_metric`` and
``baseline``; a tracked or imported study has those ``rigorlab.track`` (``primary_metric=``,
``baseline=``, else the first name its runs passed to ``run.log_summary``) or ``rigorlab import
mlflow`` recorded. Where nothing was recorded, the first summary metric alphabetically (metrics
logged as curves come last: a summary such as ``test_acc`` is what a study compares, a curve such
as ``loss`` describes training) and the first arm alphabetically, and the result says so
(``metric_reason``, ``baseline_reason``) with the option that chooses another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rigorlab.errors import InputError, NotFoundError
from rigorlab.spec import StudySpec, expand_arms
from rigorlab.store import RunStore

from ._common import SeedLike
from ._compare import EstimateMethod, SplitsOption, compare_study
from ._estimates import clip_to_bounds, estimates_table
from ._results_table import normalise_results, ordered_unique
from ._study import ESTIMATE_COLUMNS, StudyComparison

__all__ = [
    "IN_DISTRIBUTION_SUFFIX",
    "MSG_NO_RESULTS",
    "StoredChoices",
    "compare_stored",
    "declared_arms",
    "stored_choices",
    "stored_estimates",
    "stored_splits",
]

IN_DISTRIBUTION_SUFFIX = "@in_distribution"
"""Suffix of a group-shift trial's in-distribution metrics (``rigorlab.execution.IN_DISTRIBUTION``;
repeated here so that the statistics do not import the execution layer; a test checks they agree)."""
IN_DISTRIBUTION_ROWS_TAG = "in_distribution_rows"
"""The trial tag in which a group-shift trial records how many in-distribution test rows it scored."""

MSG_NO_RESULTS = (
    "Study '{study}' has no finished trials to compare yet ({failed} failed). Run `rigorlab run STUDY.yaml` "
    "(or `rigorlab status {study}` to see why trials failed)."
)
MSG_TRACKED_NO_RESULTS = (
    "Study '{study}' has no finished runs to compare yet ({failed} failed or still running). Its runs come from "
    "rigorlab.track or rigorlab import mlflow: let a run finish, or see why runs failed with "
    "`rigorlab status {study}`."
)
MSG_TRACKED_UNKNOWN_METRIC = (
    "Metric {metric!r} is not stored for study '{study}'. Metrics stored: {available}. Choose one with --metric; "
    "to make one the study's default, pass primary_metric= to rigorlab.track (or --primary-metric to "
    "rigorlab import mlflow)."
)
MSG_TRACKED_UNKNOWN_BASELINE = (
    "Arm {baseline!r} has no finished runs with {metric!r} in study '{study}'. Arms with results: {available}. "
    "Choose one with --baseline; to make one the study's default, pass baseline= to rigorlab.track (or "
    "--baseline to rigorlab import mlflow)."
)
REASON_METRIC_STUDY_FILE = "the study file's primary_metric"
REASON_METRIC_RECORDED = (
    "the study's recorded primary metric (set by rigorlab.track or rigorlab import mlflow); choose with --metric"
)
REASON_METRIC_FIRST_SUMMARY = (
    "no primary metric recorded: the first summary metric alphabetically (curves come last); choose with --metric"
)
REASON_METRIC_FIRST = "no primary metric recorded: the first metric alphabetically; choose with --metric"
REASON_BASELINE_STUDY_FILE = "the study file's baseline"
REASON_BASELINE_FIRST_DECLARED = "the study file's first arm"
REASON_BASELINE_RECORDED = (
    "the study's recorded baseline (set by rigorlab.track or rigorlab import mlflow); choose with --baseline"
)
REASON_BASELINE_FIRST = "the first arm alphabetically; choose with --baseline"
REASON_BASELINE_FIRST_TRACKED = (
    "the first arm alphabetically; choose with --baseline, or record one with rigorlab.track(baseline=...) or "
    "rigorlab import mlflow --baseline"
)
REASON_PROTOCOL = "protocol {kind}: {what}"
PROTOCOL_WORDS = {
    "holdout": "a new hold-out split in every replicate",
    "repeated_kfold": "new k-fold splits in every replicate",
    "kfold": "one k-fold split shared by every replicate",
    "stratified_kfold": "one k-fold split shared by every replicate",
    "group_shift": "the same shifted test rows in every replicate, so the inference is conditional on them",
}
REASON_IN_DISTRIBUTION = (
    "protocol group_shift, in-distribution metric: its test rows (held out of the training groups) are drawn anew "
    "in every replicate, so the test and the intervals are Nadeau-Bengio corrected with n_test/n_train of those rows"
)
REASON_TRACKED_FIXED = "tracked runs with one fold: one fixed split, the replicates differ in seeds"
REASON_TRACKED_UNKNOWN = (
    "tracked runs with several folds: rigorlab cannot see whether each replicate drew a new partition; "
    "pass --splits resampled or --splits shared to say"
)
REASON_GIVEN = "stated by the user"


def declared_arms(store: RunStore, study: str) -> list[str] | None:
    """The arms the study file declares (None for studies written only by ``rigorlab.track``).

    Returns
    -------
    list of str or None
        Arm names in the study file's order.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> declared_arms(open_store(), "quickstart")  # doctest: +SKIP
    ['logreg', 'random_forest', 'hist_gb']
    """
    spec = store.study_info(study).get("spec")
    if not spec:
        return None
    return [arm.name for arm in expand_arms(StudySpec.model_validate(spec))]


def stored_splits(spec: StudySpec | None, frame: pd.DataFrame, metric: str | None = None) -> tuple[SplitsOption, str]:
    """The split design of a stored study (or of one of its metrics) and why: (design, reason).

    Parameters
    ----------
    spec : StudySpec or None
        The stored study file; ``None`` for tracked studies.
    frame : pandas.DataFrame
        The study's fold-level scores (``fold`` column), used when there is no study file.
    metric : str, optional
        The metric compared. It matters for ``group_shift`` only: its in-distribution metrics
        (``<metric>@in_distribution``) are scored on rows drawn anew in every replicate
        (``"resampled"``), its other metrics on the same shifted rows (``"fixed"``). Left out: the
        design of the study's stored predictions and main metrics (``"fixed"`` for group_shift).

    Returns
    -------
    tuple of (str, str)

    Examples
    --------
    >>> import pandas as pd
    >>> stored_splits(None, pd.DataFrame({"fold": [0, 0]}))[0]
    'fixed'
    """
    if spec is None:
        if frame.empty or int(frame["fold"].nunique()) <= 1:
            return "fixed", REASON_TRACKED_FIXED
        return "unknown", REASON_TRACKED_UNKNOWN
    kind = str(spec.protocol.kind)
    reason = REASON_PROTOCOL.format(kind=kind, what=PROTOCOL_WORDS.get(kind, "as stored"))
    # group_shift draws new training rows per replicate but keeps the shifted test rows: checked
    # before resplits_per_replicate, which is True for it. Its in-distribution test rows are
    # drawn with the training rows, so their scores vary as a resampled hold-out's do.
    if kind == "group_shift":
        if metric is not None and metric.endswith(IN_DISTRIBUTION_SUFFIX):
            return "resampled", REASON_IN_DISTRIBUTION
        return "fixed", reason
    if spec.protocol.resplits_per_replicate:
        return "resampled", reason
    return "shared", reason


def in_distribution_sizes(store: RunStore, study: str, spec: StudySpec | None, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``n_test`` of the in-distribution metrics set to their own test rows.

    A group-shift trial stores one ``n_test``: its shifted rows. Its ``<metric>@in_distribution``
    scores come from the in-distribution rows, whose count the trial records in its
    ``in_distribution_rows`` tag; the Nadeau-Bengio correction needs that ``n_test/n_train``.
    A trial without the tag gets the protocol's share, ``n_train * test_size / (1 - test_size)``.
    Other studies' frames are returned unchanged.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> store = open_store()  # doctest: +SKIP
    >>> frame = in_distribution_sizes(store, "shift", None, store.metrics("shift"))  # doctest: +SKIP
    """
    if spec is None or spec.protocol.kind != "group_shift" or frame.empty:
        return frame
    inside = frame["metric"].astype(str).str.endswith(IN_DISTRIBUTION_SUFFIX)
    if not bool(inside.any()):
        return frame
    rows: dict[str, float] = {}
    for key in dict.fromkeys(str(key) for key in frame.loc[inside, "key"]):
        tag = store.trial_tags(study, key).get(IN_DISTRIBUTION_ROWS_TAG)
        if tag is not None and str(tag).isdigit():
            rows[key] = float(tag)
    share = float(spec.protocol.test_size or 0.0)
    fallback = pd.to_numeric(frame["n_train"], errors="coerce") * (share / (1.0 - share) if 0 < share < 1 else np.nan)
    recorded = frame["key"].astype(str).map(rows)
    sized = frame.copy()
    stored = pd.to_numeric(frame["n_test"], errors="coerce")
    sized["n_test"] = np.where(inside, recorded.fillna(fallback.round()), stored)
    return sized


def design_estimates(spec: StudySpec | None, frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Per-arm estimates of every metric, each with the interval ``compare`` uses for its design.

    Columns :data:`ESTIMATE_COLUMNS` plus ``clipped`` (a bound was cut at the metric's range, as
    ``compare`` cuts it) and ``splits`` (the metric's design, :func:`stored_splits`). ``frame`` is
    the study's fold-level scores with in-distribution sizes (:func:`in_distribution_sizes`).

    Examples
    --------
    >>> from rigorlab.stats import simulated_study_frame
    >>> table = design_estimates(None, simulated_study_frame(arms=["a", "b"], replicates=3, seed=0))
    >>> sorted(set(table["method"]))  # no study file, several folds: the wider corrected interval
    ['t_nb']
    """
    columns = [*ESTIMATE_COLUMNS, "clipped", "splits"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    data = normalise_results(frame)
    data = data.loc[data["value"].notna()]
    metrics = ordered_unique(data["metric"])
    designs = {name: stored_splits(spec, frame, name)[0] for name in metrics}
    parts = []
    for design in dict.fromkeys(designs.values()):
        names = [name for name in metrics if designs[name] == design]
        subset = data.loc[data["metric"].isin(names)]
        table = estimates_table(
            subset,
            metric_order=names,
            dataset_order=ordered_unique(subset["dataset"]),
            arm_order=ordered_unique(subset["arm"]),
            method="auto",
            splits=design,
            confidence=confidence,
            n_resamples=1000,  # not drawn from: the "auto" intervals are t intervals
            rng=np.random.default_rng(0),
            problems=[],
        )
        cut, _ = clip_to_bounds(table)
        moved = (cut["low"].ne(table["low"]) & table["low"].notna()) | (
            cut["high"].ne(table["high"]) & table["high"].notna()
        )
        parts.append(cut.assign(clipped=moved.to_numpy(dtype=bool), splits=design))
    return pd.concat(parts, ignore_index=True)[columns]


def stored_estimates(
    store: RunStore, study: str, *, confidence: float = 0.95, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per-arm estimates of every metric of a stored study, with the intervals ``rigorlab compare`` shows.

    Each metric gets the interval of its own split design (:func:`stored_splits` with the metric:
    Nadeau-Bengio corrected over fold scores for resampled and shared splits, Student t over
    replicates for a fixed split), cut at the metric's range. Model cards and the report's
    distribution-shift table use it, so they agree with ``compare``.

    Parameters
    ----------
    store : RunStore
    study : str
    confidence : float
    frame : pandas.DataFrame, optional
        ``store.metrics(study)``, when the caller has read it already.

    Returns
    -------
    pandas.DataFrame
        :data:`ESTIMATE_COLUMNS` plus ``clipped`` (bool) and ``splits`` (the metric's design).

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> stored_estimates(open_store(), "quickstart").query("arm == 'logreg'")  # doctest: +SKIP
    """
    stored_spec = store.study_info(study).get("spec")
    spec = StudySpec.model_validate(stored_spec) if stored_spec else None
    frame = store.metrics(study) if frame is None else frame
    return design_estimates(spec, in_distribution_sizes(store, study, spec, frame), confidence=confidence)


@dataclass(frozen=True)
class StoredChoices:
    """The metric and baseline a stored study is compared on by default, and why.

    ``metric_reason``/``baseline_reason`` are short phrases for headers and legends ("the study
    file's baseline", "the first arm alphabetically; choose with --baseline"). ``tracked`` is True
    for a study without a study file (tracked or imported runs).
    """

    metric: str
    metric_reason: str
    baseline: str
    baseline_reason: str
    tracked: bool


def stored_choices(store: RunStore, study: str, frame: pd.DataFrame | None = None) -> StoredChoices:
    """The default metric and baseline of a stored study, with the reason for each.

    Parameters
    ----------
    store : RunStore
    study : str
    frame : pandas.DataFrame, optional
        ``store.metrics(study)``, when the caller has read it already.

    Returns
    -------
    StoredChoices

    Raises
    ------
    rigorlab.errors.InputError
        The study has no finished trial.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> choices = stored_choices(open_store(), "cifar")  # doctest: +SKIP
    >>> choices.metric, choices.baseline_reason  # doctest: +SKIP
    ('test_acc', 'the first arm alphabetically; choose with --baseline')
    """
    info = store.study_info(study)
    frame = store.metrics(study) if frame is None else frame
    spec = info.get("spec")
    tracked = not spec
    if frame.empty:
        trials = store.trials(study)
        failed = int((trials["status"] != "done").sum())
        message = MSG_TRACKED_NO_RESULTS if tracked else MSG_NO_RESULTS
        raise InputError(message.format(study=study, failed=failed))
    recorded_metric = info.get("primary_metric")
    if recorded_metric:
        metric = str(recorded_metric)
        metric_reason = REASON_METRIC_RECORDED if tracked else REASON_METRIC_STUDY_FILE
    else:
        names = sorted({str(name) for name in frame["metric"]})
        # Only tracked and imported studies lack a primary metric; their curves' last values are
        # stored as metrics too, and a curve (loss) is rarely what the study compares.
        curves = {str(name) for name in store.curves(study)["name"]} if tracked else set()
        summaries = [name for name in names if name not in curves]
        metric = summaries[0] if summaries else names[0]
        metric_reason = REASON_METRIC_FIRST_SUMMARY if summaries and curves else REASON_METRIC_FIRST
    recorded_baseline = info.get("baseline")
    arms = declared_arms(store, study)
    if recorded_baseline:
        baseline = str(recorded_baseline)
        baseline_reason = REASON_BASELINE_RECORDED if tracked else REASON_BASELINE_STUDY_FILE
    elif arms:
        baseline, baseline_reason = arms[0], REASON_BASELINE_FIRST_DECLARED
    else:
        present = sorted({str(arm) for arm in frame.loc[frame["metric"] == metric, "arm"]})
        baseline = present[0] if present else min(str(arm) for arm in frame["arm"])
        baseline_reason = REASON_BASELINE_FIRST_TRACKED if tracked else REASON_BASELINE_FIRST
    return StoredChoices(metric, metric_reason, baseline, baseline_reason, tracked)


def compare_stored(
    store: RunStore,
    study: str,
    *,
    metric: str | None = None,
    baseline: str | None = None,
    datasets: Sequence[str] | None = None,
    confidence: float = 0.95,
    bayesian: bool = False,
    rope: float = 0.01,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    higher_is_better: bool | None = None,
    splits: SplitsOption | None = None,
    interval_method: EstimateMethod = "auto",
) -> StudyComparison:
    """Run the statistics of a stored study.

    Parameters
    ----------
    store : RunStore
    study : str
    metric : str, optional
        Default: the study's primary metric (:func:`stored_choices`; the result's
        ``metric_reason`` says where it came from).
    baseline : str, optional
        Default: the study's baseline arm (:func:`stored_choices`; ``baseline_reason``).
    datasets, confidence, bayesian, rope, n_resamples, seed, interval_method
        As for :func:`compare_study`.
    higher_is_better : bool, optional
        The metric's direction; default from its name
        (:func:`rigorlab.models.metric_direction`). The result's ``direction`` says which.
    splits : {"resampled", "shared", "fixed", "unknown"}, optional
        Default from the stored protocol (:func:`stored_splits`; module docstring).

    Returns
    -------
    StudyComparison

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> comparison = compare_stored(open_store(), "quickstart")  # doctest: +SKIP
    >>> comparison.comparisons[["arm", "dataset", "verdict"]]  # doctest: +SKIP
    """
    info = store.study_info(study)
    frame = store.metrics(study)
    choices = stored_choices(store, study, frame)
    stored_spec = info.get("spec")
    spec = StudySpec.model_validate(stored_spec) if stored_spec else None
    frame = in_distribution_sizes(store, study, spec, frame)
    # A value the user gave that equals the default keeps the default's reason.
    chosen_metric = metric or choices.metric
    metric_reason = choices.metric_reason if chosen_metric == choices.metric else ""
    chosen_baseline = baseline or choices.baseline
    baseline_reason = choices.baseline_reason if chosen_baseline == choices.baseline else ""
    if choices.tracked:
        _check_tracked_choice(frame, study, chosen_metric, chosen_baseline)
    arms = [arm.name for arm in expand_arms(spec)] if spec is not None else None
    if arms is None:
        arms = sorted({str(arm) for arm in frame["arm"]})
    design, reason = stored_splits(spec, frame, chosen_metric)
    if splits is not None:
        design, reason = splits, REASON_GIVEN
    result = compare_study(
        frame,
        metric=chosen_metric,
        baseline=chosen_baseline,
        higher_is_better=higher_is_better,
        splits=design,
        splits_reason=reason,
        datasets=datasets,
        confidence=confidence,
        bayesian=bayesian,
        rope=rope,
        n_resamples=n_resamples,
        seed=seed,
        arms=arms,
        interval_method=interval_method,
        metric_reason=metric_reason,
        baseline_reason=baseline_reason,
    )
    if splits is None and interval_method == "auto":
        result = _own_design_estimates(result, spec, frame, design, confidence)
    return result


def _own_design_estimates(
    result: StudyComparison, spec: StudySpec | None, frame: pd.DataFrame, design: str, confidence: float
) -> StudyComparison:
    """The estimates of the metrics whose design is not the compared metric's, redone with their own
    (a group-shift study: shifted metrics on a fixed split, in-distribution metrics resampled)."""
    others = [
        name
        for name in dict.fromkeys(str(name) for name in result.estimates["metric"])
        if stored_splits(spec, frame, name)[0] != design
    ]
    if not others:
        return result
    redone = design_estimates(spec, frame.loc[frame["metric"].isin(others)], confidence=confidence)
    keys = ["metric", "dataset", "arm"]
    estimates = result.estimates.copy()
    lookup = redone.set_index(keys)
    position = pd.MultiIndex.from_frame(estimates[keys].astype(str))
    found = position.isin(lookup.index)
    for column in ("low", "high", "method"):
        estimates.loc[found, column] = lookup.loc[position[found], column].to_numpy()
    clipped = [name for name in result.clipped if name not in others]
    clipped += [name for name in others if bool(redone.loc[redone["metric"] == name, "clipped"].any())]
    return replace(result, estimates=estimates, clipped=tuple(clipped))


def _check_tracked_choice(frame: pd.DataFrame, study: str, metric: str, baseline: str) -> None:
    """Name the option that fixes a bad metric or baseline of a study without a study file."""
    metrics = list(dict.fromkeys(str(name) for name in frame["metric"]))
    if metric not in metrics:
        raise NotFoundError(MSG_TRACKED_UNKNOWN_METRIC.format(metric=metric, study=study, available=", ".join(metrics)))
    arms = sorted({str(arm) for arm in frame.loc[frame["metric"] == metric, "arm"]})
    if baseline not in arms:
        raise NotFoundError(
            MSG_TRACKED_UNKNOWN_BASELINE.format(
                baseline=baseline, metric=metric, study=study, available=", ".join(arms)
            )
        )
