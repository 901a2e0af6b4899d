"""The reproducibility checklist: the NeurIPS paper-checklist items about experiments, answered
from the store with their evidence, or flagged with what would supply the answer.

Items (numbers as in the NeurIPS paper checklist): 4 experimental result reproducibility, 5 open
access to data and code, 6 experimental setting and details, 7 statistical significance, 8
compute resources, 12 licenses of existing assets. An answer is ``yes`` only when the store holds
the evidence; ``partial`` and ``missing`` come with a remedy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._arms import arm_views, seed_check
from ._facts import StoredStudy
from ._provenance import ComputeView, EnvironmentView, GitState, duration_text, plural
from ._records import ChecklistItem, MetricResults

__all__ = ["QUESTIONS", "build_checklist"]

YES, PARTIAL, MISSING, NOT_APPLICABLE = "yes", "partial", "missing", "n/a"
QUESTIONS = {
    4: "Does the paper fully disclose all the information needed to reproduce the main experimental results?",
    5: "Does the paper provide open access to the data and code, with sufficient instructions to faithfully "
    "reproduce the main experimental results?",
    6: "Does the paper specify all the training and test details (e.g., data splits, hyperparameters, how they "
    "were chosen, type of optimizer) necessary to understand the results?",
    7: "Does the paper report error bars suitably and correctly defined or other appropriate information about "
    "the statistical significance of the experiments?",
    8: "For each experiment, does the paper provide sufficient information on the computer resources (type of "
    "compute workers, memory, time of execution) needed to reproduce the experiments?",
    12: "Are the creators or original owners of assets (e.g., code, data, models) used in the paper properly "
    "credited, and are the license and terms of use explicitly mentioned and properly respected?",
}


def _study_definition(facts: StoredStudy) -> ChecklistItem:
    if facts.spec is not None and facts.info.get("spec_text"):
        lines = len(str(facts.info["spec_text"]).splitlines())
        return ChecklistItem(
            4,
            "Study definition",
            QUESTIONS[4],
            YES,
            "The whole study (data, models, grids, protocol, metrics, seed) is one study file, reproduced in the "
            "appendix; `rigorlab run` on it re-creates every trial.",
            f"Study file stored verbatim ({lines} lines, {facts.info.get('spec_path') or 'path not recorded'}); "
            f"each of the {len(facts.trials)} trial keys hashes its resolved configuration, data fingerprint, "
            "split and seeds.",
        )
    return ChecklistItem(
        4,
        "Study definition",
        QUESTIONS[4],
        MISSING,
        "The runs were recorded with rigorlab.track; the training loop itself is not in the store.",
        f"{len(facts.trials)} tracked runs with their parameters and provenance.",
        "Describe the training loop in the paper and publish its code, or express the experiment as a study file "
        "(`rigorlab init study.yaml`).",
    )


def _seeds(facts: StoredStudy) -> ChecklistItem:
    if facts.spec is not None:
        matching, checked = seed_check(facts)
        status = YES if checked and matching == checked else PARTIAL
        return ChecklistItem(
            4,
            "Random seeds",
            QUESTIONS[4],
            status,
            f"Study seed {facts.spec.seed}; replicate r's seeds come from numpy SeedSequence({facts.spec.seed}, "
            "spawn_key=(r,)) for splitting, initialisation, data order and inner splits.",
            f"Seeds stored with every trial; {matching} of {checked} checked trials match the derivation.",
            ""
            if status == YES
            else "Some stored seeds do not match the derivation: re-run the study in a clean store.",
        )
    seeded = sum(1 for record in facts.samples if record.get("seeds"))
    status = YES if seeded and seeded == len(facts.samples) else (PARTIAL if seeded else MISSING)
    return ChecklistItem(
        4,
        "Random seeds",
        QUESTIONS[4],
        status,
        f"{seeded} of {len(facts.samples)} sampled tracked runs recorded their seeds.",
        "Seeds stored by rigorlab.track(seed=...) or rigorlab.seed_everything.",
        "" if status == YES else "Pass seed= to rigorlab.track (or call rigorlab.seed_everything) in every run.",
    )


def _splits(facts: StoredStudy) -> ChecklistItem:
    recorded = sum(1 for record in facts.samples if record.get("split_fingerprint"))
    if facts.spec is not None:
        protocol = facts.spec.protocol
        shape = (
            f"hold-out, {protocol.test_size:.0%} test"
            if protocol.kind == "holdout"
            else f"{protocol.kind}, {protocol.folds} folds"
        )
        return ChecklistItem(
            6,
            "Data splits",
            QUESTIONS[6],
            YES,
            f"Protocol {shape} x {facts.spec.replicates} replicates, described in Methods (Protocol); all arms share "
            "each replicate's splits.",
            f"Row indices of every split stored with its trials; split fingerprints recorded for {recorded} of "
            f"{len(facts.samples)} sampled trials.",
        )
    return ChecklistItem(
        6,
        "Data splits",
        QUESTIONS[6],
        MISSING,
        "Splits were made by the training code and are not recorded.",
        "Tracked runs record only the sizes passed as n_train/n_test.",
        "State how the data were split (sizes, stratification, seeds), or run the experiment as a study file.",
    )


def _hyperparameters(facts: StoredStudy) -> ChecklistItem:
    arms = arm_views(facts)
    spec = facts.spec
    if spec is None:
        return ChecklistItem(
            6,
            "Hyperparameters and their selection",
            QUESTIONS[6],
            PARTIAL,
            "The parameters each run recorded are in the hyperparameter table; how they were chosen is not recorded.",
            f"Parameters stored for {len(arms)} arms.",
            "State how the hyperparameters were chosen and on which data.",
        )
    nested = [arm.name for arm in arms if arm.grid]
    if spec.protocol.inner_folds is None and any(model.grid for model in spec.models):
        return ChecklistItem(
            6,
            "Hyperparameters and their selection",
            QUESTIONS[6],
            PARTIAL,
            "Every grid point is reported as an arm of its own; no selection procedure was run.",
            "Grids in the study file; one arm per grid point.",
            "Picking the best grid point from these test scores selects on test data: report all points, or add "
            "protocol.inner_folds so an inner cross-validation selects them on training rows.",
        )
    if not nested:
        # The store shows that rigorlab selected nothing, not how the values in the file were chosen.
        return ChecklistItem(
            6,
            "Hyperparameters and their selection",
            QUESTIONS[6],
            PARTIAL,
            "rigorlab selected no hyperparameters: each arm's values were given in the study file (hyperparameter "
            "table).",
            "Resolved configuration stored with every trial.",
            "State how these values were chosen (library defaults, earlier experiments, and on which data).",
        )
    return ChecklistItem(
        6,
        "Hyperparameters and their selection",
        QUESTIONS[6],
        YES,
        f"Grids and nested selection ({spec.protocol.inner_folds}-fold inner CV on training rows, scored by "
        f"{spec.primary}) for {', '.join(nested)}; selected values per trial in the hyperparameter table.",
        "Resolved configuration stored with every trial; inner-CV choices stored per trial.",
    )


def _training(facts: StoredStudy) -> ChecklistItem:
    arms = arm_views(facts)
    trained = [arm for arm in arms if arm.training]
    if trained:
        return ChecklistItem(
            6,
            "Training details (optimizer, epochs, batch size)",
            QUESTIONS[6],
            YES,
            f"Training settings of {', '.join(arm.name for arm in trained)} are in the hyperparameter table.",
            "Resolved training settings stored in each trial's configuration.",
        )
    if facts.spec is None:
        return ChecklistItem(
            6,
            "Training details (optimizer, epochs, batch size)",
            QUESTIONS[6],
            MISSING,
            "The training loop is the user's code; its settings are stored only as far as they were logged as params.",
            "Tracked parameters.",
            "State the optimizer, learning rate, epochs and batch size (log them as params= of rigorlab.track).",
        )
    return ChecklistItem(
        6,
        "Training details (optimizer, epochs, batch size)",
        QUESTIONS[6],
        NOT_APPLICABLE,
        "scikit-learn estimators: their fitting is defined by the parameters listed (defaults of the stated "
        "package versions).",
        "Estimator import paths and parameters stored per trial.",
    )


def _error_bars(facts: StoredStudy, results: Sequence[MetricResults]) -> ChecklistItem:
    comparison = results[0].comparison
    counts = [int(n) for n in comparison.estimates["n"] if n == n]
    fewest = min(counts) if counts else 0
    if fewest < 2:
        return ChecklistItem(
            7,
            "Error bars",
            QUESTIONS[7],
            MISSING,
            f"Some arm has {plural(fewest, 'replicate')} on a dataset: no interval can be computed there.",
            "Replicate counts from the stored scores.",
            "Run at least 2 replicates (10 or more for intervals worth reading): raise replicates: and run again.",
        )
    # group_shift draws new training rows per replicate but tests on the same shifted rows: its
    # replicates do not resplit the test data (the statistics treat it as one fixed split).
    resplit = (
        facts.spec is not None
        and facts.spec.protocol.resplits_per_replicate
        and facts.spec.protocol.kind != "group_shift"
    )
    if resplit:
        sources = "data splits, model initialisation and training-row order"
    elif facts.spec is not None and facts.spec.protocol.kind == "group_shift":
        sources = (
            "training rows, model initialisation and training-row order (the shifted test rows are the same in "
            "every replicate)"
        )
    elif facts.spec is not None:
        sources = "model initialisation and training-row order (one split shared by all replicates)"
    else:
        sources = "whatever differs between the tracked replicates"
    return ChecklistItem(
        7,
        "Error bars",
        QUESTIONS[7],
        YES,
        f"Every number is the {comparison.estimate_description()} Each rests on {fewest} or more replicates; "
        f"variability from {sources}.",
        "Estimates computed by rigorlab.stats from the stored fold scores (legend under each table).",
    )


def _significance(results: Sequence[MetricResults]) -> ChecklistItem:
    comparison = results[0].comparison
    if comparison.comparisons.empty:
        return ChecklistItem(
            7,
            "Significance tests",
            QUESTIONS[7],
            MISSING,
            "No arm could be compared with the baseline.",
            "; ".join(comparison.problems) or "No comparison rows.",
            "Compare at least two arms with 2+ paired replicates each.",
        )
    tests = ", ".join(sorted(set(comparison.comparisons["test"])))
    ranking = " Friedman test and Nemenyi critical difference across datasets." if comparison.ranking else ""
    return ChecklistItem(
        7,
        "Significance tests",
        QUESTIONS[7],
        YES,
        f"{tests} of each arm against {comparison.baseline}, Holm-corrected within each dataset, with effect sizes "
        f"and intervals.{ranking}",
        f"{len(comparison.comparisons)} paired comparisons on {comparison.metric}.",
    )


def _hardware(facts: StoredStudy, views: list[EnvironmentView]) -> ChecklistItem:
    if not views:
        return ChecklistItem(
            8,
            "Compute hardware",
            QUESTIONS[8],
            MISSING,
            "No environment record was stored with the trials.",
            "No environment in the sampled provenance.",
            "State the CPU, GPU and memory of the machines used.",
        )
    hardware = "; ".join(view.hardware for view in views)
    return ChecklistItem(
        8,
        "Compute hardware",
        QUESTIONS[8],
        YES,
        f"{hardware}.",
        f"{plural(len(views), 'environment record')} (CPU, cores, memory, GPUs, OS, packages) stored with the trials"
        + ("." if facts.environments_complete else " (read from one trial of each arm and of each dataset)."),
    )


def _compute_time(compute: ComputeView) -> ChecklistItem:
    unfinished = (
        f" {compute.unfinished} unfinished trials used {duration_text(compute.unfinished_seconds)} more."
        if compute.unfinished
        else ""
    )
    return ChecklistItem(
        8,
        "Compute time",
        QUESTIONS[8],
        YES,
        f"{duration_text(compute.total_seconds)} of fit and prediction time over {compute.finished} trials "
        f"(median {duration_text(compute.median_trial_seconds)} per trial); {duration_text(compute.wall_seconds)} "
        f"wall-clock over {plural(compute.runs, 'invocation')}.{unfinished}",
        "fit_seconds and predict_seconds stored per trial; start and end of every invocation.",
        "Add the compute of preliminary experiments that did not run through rigorlab, if any.",
    )


def _code(git: list[GitState] | None) -> ChecklistItem:
    if git is None:
        return ChecklistItem(
            5,
            "Code availability",
            QUESTIONS[5],
            MISSING,
            "The study did not run inside a git work tree: no commit identifies the code.",
            "No git state in the stored runs.",
            "Put the code under git, commit it, and run the study again (stored trials are reused only when "
            "their definition is unchanged).",
        )
    dirty = [state for state in git if state.dirty]
    commits = ", ".join(sorted({(state.commit or "none")[:12] for state in git}))
    if dirty:
        return ChecklistItem(
            5,
            "Code availability",
            QUESTIONS[5],
            PARTIAL,
            f"Commit {commits} recorded, but {plural(sum(s.runs for s in dirty), 'run')} had uncommitted changes "
            "(their diff is stored).",
            "git commit, branch and diff of every invocation.",
            "Commit the changes and run the study again from a clean work tree, then publish the repository at that "
            "commit and cite its URL.",
        )
    return ChecklistItem(
        5,
        "Code availability",
        QUESTIONS[5],
        YES,
        f"Every result comes from a clean work tree at commit {commits}.",
        "git commit and branch of every invocation.",
        "Publish the repository at this commit and cite its URL (the store does not know the remote).",
    )


def _data(facts: StoredStudy) -> ChecklistItem:
    summaries = [dict(summary) for summary in facts.datasets["summary"]]
    if not summaries:
        return ChecklistItem(
            5,
            "Data availability",
            QUESTIONS[5],
            MISSING,
            "The datasets were loaded by the training code; their source is not recorded.",
            "No dataset records.",
            "State where each dataset can be obtained, with a version or checksum.",
        )
    public = {"builtin", "package"}
    private = [s["name"] for s in summaries if (s.get("source") or {}).get("kind") not in public]
    if private:
        return ChecklistItem(
            5,
            "Data availability",
            QUESTIONS[5],
            PARTIAL,
            f"{', '.join(private)} come from local files or functions; the others ship with installed packages.",
            "Source and SHA-256 fingerprint of every dataset.",
            f"Publish {', '.join(private)} (or say where they can be obtained) with their fingerprints.",
        )
    return ChecklistItem(
        5,
        "Data availability",
        QUESTIONS[5],
        YES,
        "Every dataset ships with an installed package (loaders and versions in the dataset table).",
        "Source, package version and SHA-256 fingerprint of every dataset.",
    )


def _licenses(facts: StoredStudy) -> ChecklistItem:
    names = ", ".join(str(name) for name in facts.datasets["name"]) or "the datasets"
    return ChecklistItem(
        12,
        "Licenses of datasets",
        QUESTIONS[12],
        MISSING,
        "rigorlab records where each dataset came from, not its license or creators.",
        "Dataset sources in the dataset table.",
        f"Cite the creators and state the license and terms of use of {names}.",
    )


def build_checklist(
    facts: StoredStudy,
    *,
    results: Sequence[MetricResults],
    views: list[EnvironmentView],
    compute: ComputeView,
    git: list[GitState] | None,
) -> tuple[ChecklistItem, ...]:
    """The checklist items, in the order of the NeurIPS checklist."""
    items = [
        _study_definition(facts),
        _seeds(facts),
        _code(git),
        _data(facts),
        _splits(facts),
        _hyperparameters(facts),
        _training(facts),
        _error_bars(facts, results),
        _significance(results),
        _hardware(facts, views),
        _compute_time(compute),
        _licenses(facts),
    ]
    return tuple(items)
