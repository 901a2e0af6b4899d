"""``build_report``: read a study from the store once and compute everything its report shows.

Audit sections come from the stored audit results (``_audits.audit_sections``): one section per
audit kind present, with its figures and its findings as a table of severity, and a
distribution-shift section for a group-shift study.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rigorlab._version import __version__
from rigorlab.errors import NotFoundError
from rigorlab.provenance import now_iso
from rigorlab.stats import compare_stored, declared_arms, stored_choices
from rigorlab.store import RunStore

from . import _messages as msg
from ._audits import audit_sections
from ._caveats import build_caveats, failure_groups
from ._checklist import build_checklist
from ._facts import StoredStudy, read_study
from ._figures import plan_figures, summarise_curves
from ._methods import methods_paragraphs, methods_tables, metric_description
from ._provenance import compute_view, environment_views, git_states
from ._records import AuditSection, MetricResults, ReportData, VerificationMark
from ._tables import build_results_table, replicate_scores

if TYPE_CHECKING:
    from rigorlab.stats import SeedLike

__all__ = ["audit_sections", "build_report"]

# Verdicts of ``rigorlab reproduce`` (rigorlab.provenance): a trial counts as verified when its
# latest re-run was identical or within tolerance, and as contradicted when it differed, failed
# or was refused.
VERIFIED_VERDICTS = ("identical", "within_tolerance")
IDENTICAL_VERDICT = "identical"
PROBLEM_VERDICTS = ("different", "failed", "refused")


def verification_marks(facts: StoredStudy) -> tuple[VerificationMark, ...] | None:
    """Per arm and dataset: how many finished trials a re-run verified (latest verdict per trial)."""
    if facts.verifications is None:
        return None
    if facts.verifications.empty:
        return ()
    records = facts.verifications.sort_values(["verified_at", "id"], kind="stable")
    latest = records.groupby("key", sort=False).tail(1).set_index("key")
    finished = facts.finished
    marks = []
    for (arm, dataset), rows in finished.groupby(["arm", "dataset"], sort=False):
        verdicts = latest.reindex(rows["key"])
        verdict = verdicts["verdict"].dropna()
        if verdict.empty:
            continue
        dates = verdicts["verified_at"].dropna()
        marks.append(
            VerificationMark(
                arm=str(arm),
                dataset=str(dataset),
                finished=len(rows),
                checked=len(verdict),
                verified=int(verdict.isin(VERIFIED_VERDICTS).sum()),
                identical=int((verdict == IDENTICAL_VERDICT).sum()),
                problems=int(verdict.isin(PROBLEM_VERDICTS).sum()),
                last_verified_at=str(dates.max()) if not dates.empty else None,
            )
        )
    return tuple(marks)


def _check_metrics(facts: StoredStudy, chosen: Sequence[str]) -> None:
    available = list(dict.fromkeys(str(name) for name in facts.metrics["metric"]))
    for metric in chosen:
        if metric not in available:
            raise NotFoundError(
                msg.MSG_UNKNOWN_METRIC.format(metric=metric, study=facts.name, available=", ".join(available))
            )


def build_report(
    store: RunStore,
    study: str,
    *,
    metrics: Sequence[str] = (),
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = 0,
    audits: Sequence[AuditSection] | None = None,
    higher_is_better: bool | None = None,
) -> ReportData:
    """Build the data of a study's report: statistics, tables, figure plan, methods, checklist.

    Reads the store only (open it with ``read_only=True``); nothing is written.

    Parameters
    ----------
    store : RunStore
    study : str
    metrics : sequence of str
        Metrics reported besides the primary metric (each gets its own table and figures).
    confidence, n_resamples, seed
        As for :func:`rigorlab.stats.compare_stored`; the defaults give the numbers of
        ``rigorlab compare``.
    audits : sequence of AuditSection, optional
        Audit sections to include. Default: :func:`audit_sections` of the stored audit results (none
        when the study was not audited) and, for a group-shift study, the distribution-shift section.
    higher_is_better : bool, optional
        Direction of the primary metric (``rigorlab report --lower-is-better``); default from its name
        (:func:`rigorlab.models.metric_direction`).

    Returns
    -------
    ReportData

    Raises
    ------
    rigorlab.errors.NotFoundError
        Unknown study, or a metric that is not stored.
    rigorlab.errors.InputError
        The study has no finished trial.

    Examples
    --------
    >>> from rigorlab import open_store  # doctest: +SKIP
    >>> with open_store(".rigorlab", read_only=True) as store:  # doctest: +SKIP
    ...     data = build_report(store, "quickstart", metrics=["roc_auc"])
    >>> data.primary.table.cell("hist_gb", "wine").mark  # doctest: +SKIP
    ''
    """
    facts = read_study(store, study)
    _check_metrics(facts, metrics)
    info = facts.info
    primary = stored_choices(store, study).metric
    chosen = list(dict.fromkeys([primary, *metrics]))
    declared = declared_arms(store, study) or list(dict.fromkeys(facts.trials["arm"]))
    arms = list(dict.fromkeys([*declared, *facts.trials["arm"]]))
    dataset_names = [str(name) for name in facts.datasets["name"]] if not facts.datasets.empty else []
    datasets = list(dict.fromkeys([*dataset_names, *facts.trials["dataset"]]))
    verification = verification_marks(facts)
    by_cell = {(mark.arm, mark.dataset): mark for mark in verification or ()}

    results = []
    for metric in chosen:
        comparison = compare_stored(
            store,
            study,
            metric=metric,
            confidence=confidence,
            n_resamples=n_resamples,
            seed=seed,
            higher_is_better=higher_is_better if metric == primary else None,
        )
        results.append(
            MetricResults(
                metric=metric,
                description=metric_description(metric, comparison.direction, comparison.higher_is_better),
                higher_is_better=comparison.higher_is_better,
                comparison=comparison,
                table=build_results_table(comparison, arms=arms, datasets=datasets, verification=by_cell),
            )
        )
    baseline = results[0].comparison.baseline
    done_keys = set(facts.finished["key"])
    curves = summarise_curves(facts.curves[facts.curves["key"].isin(done_keys)], confidence)
    curve_names = list(dict.fromkeys(str(name) for name in curves["name"]))
    views = environment_views(facts)
    compute = compute_view(facts)
    git = git_states(facts)
    paragraphs = methods_paragraphs(
        facts,
        results=results,
        metrics=_stored_order(facts, primary),
        primary=primary,
        views=views,
        compute=compute,
        git=git,
    )
    datasets_table, hyperparameters_table, environment_table = methods_tables(facts, views)
    failures = failure_groups(facts.trials)
    counts = facts.trials["status"].value_counts()
    trial_counts = {str(status): int(count) for status, count in counts.items()}
    trial_counts["planned"] = int(info.get("planned") or len(facts.trials))
    replicates = (
        facts.spec.replicates
        if facts.spec is not None
        else int(facts.finished.groupby(["arm", "dataset"])["replicate"].nunique().max())
    )
    return ReportData(
        study=study,
        question=str(info.get("question") or ""),
        generated_at=now_iso(),
        rigorlab_version=__version__,
        primary_metric=primary,
        baseline=baseline,
        arms=tuple(arms),
        datasets=tuple(datasets),
        replicates=replicates,
        trial_counts=trial_counts,
        results=tuple(results),
        scores=replicate_scores(facts.metrics, chosen),
        curves=curves,
        figures=plan_figures(tuple(results), curve_names),
        methods=paragraphs,
        datasets_table=datasets_table,
        hyperparameters_table=hyperparameters_table,
        environment_table=environment_table,
        checklist=build_checklist(facts, results=results, views=views, compute=compute, git=git),
        failures=failures,
        caveats=build_caveats(
            facts, results=results, failures=failures, views=views, git=git, verification=verification
        ),
        verification=verification,
        audits=tuple(audits) if audits is not None else audit_sections(store, study, facts, baseline=baseline),
        study_text=str(info.get("spec_text") or ""),
    )


def _stored_order(facts: StoredStudy, primary: str) -> list[str]:
    """Every metric the study measured, primary first (for the methods' list of metrics)."""
    if facts.spec is not None:
        names = list(facts.spec.metrics)
    else:
        names = list(dict.fromkeys(str(name) for name in facts.metrics["metric"]))
    return [primary, *(name for name in names if name != primary)]
