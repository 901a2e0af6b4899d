"""The driver: from a study file to stored results, resumably.

It loads and checks everything before the first trial runs (bad input exits before anything is
written), stores the study, its datasets and its plan, runs the trials that are not stored yet
through an executor, and writes each result as it arrives, in its own transaction: a driver
killed at any moment leaves a readable store, and running the study again finishes only what is
missing. When the study file declares ``audits:``, the data audit runs before the first trial
(with ``strict: true`` a severe finding stops the run there) and the other audits after the last
one, through the same executor.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rigorlab.data import Dataset, load_dataset, training_groups
from rigorlab.errors import DataError, InputError, NotFoundError, did_you_mean
from rigorlab.execution._base import Executor
from rigorlab.execution._local import LocalExecutor, refuse_in_worker_start_up
from rigorlab.execution._runner import MSG_TORCH_SCORER, check_arm_fits_task
from rigorlab.execution._task import TrialTask, group_tasks
from rigorlab.models import METRICS, check_encoding
from rigorlab.provenance import capture_environment, capture_git, command_line, environment_hash
from rigorlab.spec import Arm, LoadedStudy, Plan, build_plan, load_study
from rigorlab.spec._load import add_import_path
from rigorlab.store import DONE, RunStore, TrialResult, open_store

if TYPE_CHECKING:
    from rigorlab.audits import AuditResult, AuditSummary

__all__ = [
    "MSG_MITIGATION_CLASSES",
    "MSG_NEEDS_PROBABILITIES",
    "MSG_PARAM_INVALID",
    "MSG_MITIGATION_COLUMN",
    "MSG_MITIGATION_NO_SENSITIVE",
    "MSG_MITIGATION_REGRESSION",
    "MSG_MITIGATION_WEIGHTS",
    "RunSummary",
    "load_datasets",
    "prepare",
    "run_study",
]

MSG_METRIC_TASK = (
    "The metric '{metric}' applies to {metric_task} tasks, but dataset '{dataset}' is a {task} task "
    "({where}). Remove it from metrics or drop the dataset."
)
MSG_ARM_TASK = "{message} ({where})"
MSG_MITIGATION_NO_SENSITIVE = (
    "Model '{model}' has mitigation: {method}, which needs the dataset's sensitive columns, but dataset "
    "'{dataset}' declares none ({where}). Add sensitive: [column, ...] to the dataset, or remove mitigation:."
)
MSG_MITIGATION_REGRESSION = (
    "Model '{model}' has mitigation: {method}, which mitigates a classifier's decisions, but dataset '{dataset}' "
    "is a regression task ({where}). Remove mitigation:, or use the model on a classification dataset."
)
MSG_MITIGATION_CLASSES = (
    "Model '{model}' has mitigation: {method}, which needs a binary target, but dataset '{dataset}' has {count} "
    "classes ({where}). Remove mitigation:, or use the model on a two-class dataset."
)
MSG_MITIGATION_COLUMN = (
    "Model '{model}' mitigates for sensitive column '{column}', which dataset '{dataset}' does not declare "
    "({where}).{closest} Its sensitive columns: {columns}."
)
MSG_MITIGATION_WEIGHTS = (
    "Model '{model}' has mitigation: exponentiated_gradient, which refits {estimator} with sample weights, but its "
    "fit takes no sample_weight ({where}). Use method: threshold_optimizer, or an estimator whose fit takes "
    "sample_weight."
)
MSG_SAME_STUDY_NAME = (
    "The store {store} already holds a study '{name}' run from {old}; {new} has the same study name ({where}). "
    "Rename study: in {new} to keep both, or pass --replace to make this file the study's plan (the trials "
    "stored so far are kept)."
)
MSG_PARAM_INVALID = "Model '{model}': {error} ({where}). Fix the value in params: of the model."
MSG_NEEDS_PROBABILITIES = (
    "The metric '{metric}' needs {need} on dataset '{dataset}' ({classes} classes), but model '{model}' "
    "({estimator}) gives none ({where}). Remove the metric, or use a model with predict_proba (for SVC: "
    "probability: true; LinearSVC has none)."
)
# Fields of a torch model that sit beside training: (the others are inside it).
_MODEL_LEVEL_FIELDS = ("module", "preprocess", "params")


@dataclass
class RunSummary:
    """What a ``run_study`` call did."""

    study: str
    store: Path
    planned: int
    already_done: int = 0
    skipped_failed: int = 0
    done: int = 0
    failed: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    failures: list[TrialResult] = field(default_factory=list)
    audits: AuditSummary | None = None
    changed_datasets: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def audit_failures(self) -> int:
        return self.audits.failed if self.audits is not None else 0

    @property
    def to_run(self) -> int:
        return self.planned - self.already_done - self.skipped_failed

    @property
    def remaining(self) -> int:
        return self.to_run - self.done - self.failed


ProgressCallback = Callable[[TrialResult, RunSummary], None]
AuditCallback = Callable[["AuditResult"], None]


def load_datasets(study: LoadedStudy) -> dict[str, Dataset]:
    """Load every dataset of the study (DataError names the file:line of the declaration)."""
    return {
        spec.name: load_dataset(spec, study.base_dir, study.located.where(("datasets", index)))
        for index, spec in enumerate(study.spec.datasets)
    }


def _check_fit(study: LoadedStudy, datasets: dict[str, Dataset], plan: Plan) -> None:
    """Refuse, before anything runs, combinations that cannot work: a metric for the wrong task,
    a regressor on a classification dataset, text columns without an encoder."""
    spec = study.spec
    for index, metric in enumerate(spec.metrics):
        info = METRICS.get(metric)
        for dataset in datasets.values():
            if info is not None and info.task != dataset.task:
                raise InputError(
                    MSG_METRIC_TASK.format(
                        metric=metric,
                        metric_task=info.task,
                        dataset=dataset.name,
                        task=dataset.task,
                        where=study.located.where(("metrics", index)),
                    )
                )
    model_index = {model.name: index for index, model in enumerate(spec.models)}
    for arm in plan.arms:
        where = study.located.where(("models", model_index[arm.model]))
        for dataset in datasets.values():
            if arm.is_torch:
                _check_torch_arm(study, arm, dataset, plan, model_index[arm.model])
                continue
            try:
                check_encoding(arm.preprocess, dataset.categorical_columns, arm.name, dataset.name)
                check_arm_fits_task(arm, dataset.task, dataset.name)
            except InputError as error:
                raise InputError(MSG_ARM_TASK.format(message=error, where=where)) from error
            except (ValueError, TypeError) as error:
                raise InputError(MSG_ARM_TASK.format(message=error, where=where)) from error
            _check_estimator(study, arm, dataset, model_index[arm.model])
            if arm.mitigation is not None:
                _check_mitigation(arm, dataset, study.located.where(("models", model_index[arm.model], "mitigation")))


def _check_estimator(study: LoadedStudy, arm: Arm, dataset: Dataset, index: int) -> None:
    """Parameter values the estimator refuses, and metrics that need probabilities it cannot give:
    caught here, they would otherwise fail every trial of the arm."""
    from rigorlab.models import build_estimator

    estimator = build_estimator(arm.estimator, arm.params, 0)
    # scikit-learn checks parameter values only in fit; its own validator (private, but the one fit
    # calls) checks them now. Grid values are checked one at a time.
    validate = getattr(estimator, "_validate_params", None)
    # Estimators that declare no constraints (a user's own BaseEstimator) have nothing to check.
    if callable(validate) and hasattr(type(estimator), "_parameter_constraints"):
        settings: list[dict[str, object]] = [
            {},
            *({name: value} for name, values in arm.grid.items() for value in values),
        ]
        for setting in settings:
            try:
                if setting:
                    estimator = build_estimator(arm.estimator, {**arm.params, **setting}, 0)
                    validate = estimator._validate_params
                validate()
            except (ValueError, TypeError) as error:
                name = next(iter(setting), None) or _invalid_param(error, arm.params)
                where = study.located.where(("models", index, "params", *([name] if name else [])))
                raise InputError(
                    MSG_PARAM_INVALID.format(model=arm.name, error=str(error).rstrip("."), where=where)
                ) from error
    if dataset.task != "classification" or arm.mitigation is not None:
        return
    has_probabilities = hasattr(estimator, "predict_proba")
    has_scores = has_probabilities or hasattr(estimator, "decision_function")
    for metric_index, metric in enumerate(study.spec.metrics):
        info = METRICS.get(metric)
        if info is None or not info.needs_scores:
            continue
        binary_auc = metric == "roc_auc" and len(dataset.classes) == 2
        if has_probabilities or (binary_auc and has_scores):
            continue
        need = "scores (predict_proba or decision_function)" if binary_auc else "predicted probabilities"
        raise InputError(
            MSG_NEEDS_PROBABILITIES.format(
                metric=metric,
                need=need,
                dataset=dataset.name,
                classes=len(dataset.classes),
                model=arm.name,
                estimator=arm.estimator,
                where=study.located.where(("metrics", metric_index)),
            )
        )


def _invalid_param(error: Exception, params: Mapping[str, object]) -> str | None:
    """The parameter a scikit-learn InvalidParameterError names ("The 'C' parameter of ...")."""
    text = str(error)
    return next((str(name) for name in params if f"'{name}' parameter" in text), None)


def _check_mitigation(arm: Arm, dataset: Dataset, where: str) -> None:
    """A mitigated arm needs a binary classification dataset with sensitive columns (and, for the
    exponentiated gradient, an estimator that takes sample weights)."""
    from sklearn.utils.validation import has_fit_parameter

    from rigorlab.models import build_estimator

    assert arm.mitigation is not None
    method = arm.mitigation["method"]
    common = {"model": arm.name, "method": method, "dataset": dataset.name, "where": where}
    if dataset.sensitive.shape[1] == 0:
        raise DataError(MSG_MITIGATION_NO_SENSITIVE.format(**common))
    if dataset.task != "classification":
        raise DataError(MSG_MITIGATION_REGRESSION.format(**common))
    if len(dataset.classes) != 2:
        raise DataError(MSG_MITIGATION_CLASSES.format(count=len(dataset.classes), **common))
    declared = [str(c) for c in dataset.sensitive.columns]
    for column in arm.mitigation.get("sensitive") or []:
        if column not in declared:
            raise DataError(
                MSG_MITIGATION_COLUMN.format(
                    model=arm.name,
                    column=column,
                    dataset=dataset.name,
                    where=where,
                    closest=did_you_mean(column, declared),
                    columns=", ".join(declared),
                )
            )
    if method == "exponentiated_gradient" and not has_fit_parameter(
        build_estimator(arm.estimator, arm.params, 0), "sample_weight"
    ):
        raise DataError(MSG_MITIGATION_WEIGHTS.format(model=arm.name, estimator=arm.estimator, where=where))


def _check_protocol(study: LoadedStudy, datasets: dict[str, Dataset]) -> None:
    """A group-shift protocol against every dataset's group column (names file:line of the protocol)."""
    protocol = study.spec.protocol
    if protocol.kind != "group_shift":
        return
    field_name = "train_groups" if protocol.train_groups is not None else "train_until"
    for dataset in datasets.values():
        try:
            training_groups(protocol, dataset.group, dataset.name)
        except DataError as error:
            where = study.located.where(("protocol", field_name))
            raise DataError(MSG_ARM_TASK.format(message=str(error).rstrip("."), where=where) + ".") from error


def _check_torch_arm(study: LoadedStudy, arm: Arm, dataset: Dataset, plan: Plan, index: int) -> None:
    """A torch arm: scorer metrics it cannot compute, and one forward pass on the data (module, device,
    output shape, batch size against every split's training rows)."""
    from rigorlab.models import ReplicateJob, TorchModel, TorchSetupError, check_torch_model
    from rigorlab.models._metrics import TIMING_METRICS

    for metric_index, metric in enumerate(study.spec.metrics):
        if metric not in METRICS and metric not in TIMING_METRICS:
            where = study.located.where(("metrics", metric_index))
            message = MSG_TORCH_SCORER.format(metric=metric, model=arm.name, friendly=", ".join(METRICS))
            raise InputError(MSG_ARM_TASK.format(message=message, where=where))
    jobs: dict[int, ReplicateJob] = {}
    for trial in plan.trials:
        split = plan.splits[trial.split_fingerprint]
        if trial.dataset == dataset.name and len(split.train) not in jobs:
            jobs[len(split.train)] = ReplicateJob(split.train, split.test, trial.seeds.init, trial.seeds.data_order)
    model = TorchModel.from_settings(arm.name, arm.estimator, arm.params, arm.training, arm.preprocess)
    try:
        check_torch_model(model, dataset, list(jobs.values()))
    except TorchSetupError as error:
        parts: tuple[str | int, ...] = tuple(error.field.split("."))
        owner: tuple[str | int, ...] = ("models", index)
        if parts[0] not in _MODEL_LEVEL_FIELDS:
            owner = (*owner, "training")
        field_path = (*owner, *parts)
        raise InputError(MSG_ARM_TASK.format(message=error, where=study.located.where(field_path))) from error
    except (InputError, ValueError, TypeError) as error:
        where = study.located.where(("models", index))
        raise InputError(MSG_ARM_TASK.format(message=error, where=where)) from error


def prepare(study: LoadedStudy | str | Path) -> tuple[LoadedStudy, dict[str, Dataset], Plan]:
    """Load the study and its datasets, check them, and expand the plan (nothing is written)."""
    loaded = study if isinstance(study, LoadedStudy) else load_study(study)
    datasets = load_datasets(loaded)
    _check_protocol(loaded, datasets)
    plan = build_plan(loaded.spec, datasets)
    _check_fit(loaded, datasets, plan)
    return loaded, datasets, plan


def _check_stored_study(
    store: RunStore, loaded: LoadedStudy, datasets: dict[str, Dataset], replace: bool
) -> list[tuple[str, str, str]]:
    """Refuse a study file that would silently take over another file's study of the same name, and
    list the datasets whose content changed since the study last ran: (name, old, new fingerprint)."""
    name = loaded.spec.study
    try:
        info = store.study_info(name)
    except NotFoundError:
        return []
    stored_path = info.get("spec_path")
    if (
        not replace
        and stored_path
        and loaded.path is not None
        and Path(stored_path) != loaded.path
        and info.get("spec_text") != loaded.text
    ):
        raise InputError(
            MSG_SAME_STUDY_NAME.format(
                name=name, store=store.root, old=stored_path, new=loaded.path, where=loaded.located.where(("study",))
            )
        )
    stored = dict(zip(store.datasets(name)["name"], store.datasets(name)["fingerprint"], strict=True))
    return [
        (dataset.name, stored[dataset.name], dataset.fingerprint)
        for dataset in datasets.values()
        if dataset.name in stored and stored[dataset.name] != dataset.fingerprint
    ]


def _save_study(store: RunStore, loaded: LoadedStudy, datasets: dict[str, Dataset], plan: Plan) -> None:
    spec = loaded.spec
    store.save_study(
        spec.study,
        question=spec.question,
        spec=spec.model_dump(mode="json", by_alias=True),
        spec_text=loaded.text,
        spec_path=str(loaded.path) if loaded.path else None,
        primary_metric=spec.primary,
        baseline=spec.baseline or plan.arms[0].name,
    )
    store.save_datasets(spec.study, [datasets[d.name].summary() for d in spec.datasets])
    store.save_plan(spec.study, [(t.key, t.arm.name, t.dataset, t.replicate, t.fold) for t in plan.trials])


def _run_audits(
    store: RunStore,
    loaded: LoadedStudy,
    datasets: dict[str, Dataset],
    plan: Plan,
    summary: RunSummary,
    kinds: tuple[str, ...],
    executor: Executor,
    on_audit: AuditCallback | None,
) -> None:
    """Run the study file's audits of ``kinds`` through ``executor``, into ``summary.audits``."""
    from rigorlab.audits import AuditSummary, run_audits

    declared = loaded.spec.audits
    assert declared is not None
    if summary.audits is None:
        summary.audits = AuditSummary(study=loaded.spec.study, store=store.root, kinds=declared.kinds)
    audits = summary.audits
    started = time.monotonic()
    step = AuditSummary(study=audits.study, store=audits.store, kinds=kinds)
    try:
        run_audits(
            store,
            plan,
            datasets,
            step,
            executor=executor,
            strict=declared.strict,
            options=declared.options,
            timeout=declared.timeout,
            # The data audit runs before any trial: the same audit (the same key) on every run of the study.
            stored_predictions=False,
            on_result=on_audit,
        )
    finally:
        for name in ("planned", "already_done", "done", "skipped", "failed", "cards"):
            setattr(audits, name, getattr(audits, name) + getattr(step, name))
        audits.results.extend(step.results)
        audits.findings.extend(step.findings)
        audits.notes.extend(step.notes)
        audits.seconds += time.monotonic() - started


def run_study(
    study: LoadedStudy | str | Path,
    *,
    store: RunStore | str | Path | None = None,
    jobs: int | None = None,
    rerun_failed: bool = False,
    executor: Executor | None = None,
    on_result: ProgressCallback | None = None,
    on_start: Callable[[RunSummary], None] | None = None,
    on_audit: AuditCallback | None = None,
    replace: bool = False,
) -> RunSummary:
    """Run a study: every trial of its plan that is not stored yet, and the audits it declares.

    Parameters
    ----------
    study : LoadedStudy or path
        The study file (or an already loaded study).
    store : RunStore or path, optional
        Default: ``$RIGORLAB_STORE`` or ``./.rigorlab``.
    jobs : int, optional
        Worker processes for the local executor (default: the number of cores).
    rerun_failed : bool
        Run again the trials stored as failed (otherwise they are kept and skipped).
    executor : Executor, optional
        Default: :class:`LocalExecutor`. Trials and audits run through it.
    on_result, on_start : callable, optional
        Called with each stored trial result (and the summary so far), and once before the trials run.
    on_audit : callable, optional
        Called with each stored audit result.
    replace : bool
        Let this study file take over a stored study of the same name that another file wrote
        (its trials stay stored; the plan becomes this file's). Without it that is refused.

    Returns
    -------
    RunSummary
        ``audits`` holds the audits' summary when the study file declares ``audits:``.

    Raises
    ------
    rigorlab.errors.DataError
        With ``audits: {strict: true}``, when the data audit finds a severe problem: its findings are
        stored, and no trial runs.

    Examples
    --------
    >>> summary = run_study("examples/quickstart.yaml", jobs=2)  # doctest: +SKIP
    >>> summary.done, summary.failed  # doctest: +SKIP
    (150, 0)
    """
    refuse_in_worker_start_up()
    started = time.monotonic()
    loaded, datasets, plan = prepare(study)
    run_store = store if isinstance(store, RunStore) else open_store(store, create=True)
    spec = loaded.spec
    declared = spec.audits.kinds if spec.audits is not None else ()
    import_path = str(loaded.base_dir)
    add_import_path(loaded.base_dir)
    owned_executor = executor is None
    runner = executor or LocalExecutor(jobs=jobs, import_paths=[import_path])
    try:
        changed = _check_stored_study(run_store, loaded, datasets, replace)
        _save_study(run_store, loaded, datasets, plan)
        summary = RunSummary(study=spec.study, store=run_store.root, planned=plan.size, changed_datasets=changed)
        if "data" in declared:
            try:
                _run_audits(run_store, loaded, datasets, plan, summary, ("data",), runner, on_audit)
            except KeyboardInterrupt:
                summary.interrupted = True
                summary.seconds = time.monotonic() - started
                return summary
        _run_trials(run_store, loaded, datasets, plan, summary, runner, rerun_failed, on_result, on_start)
        after = tuple(kind for kind in declared if kind != "data")
        if after and not summary.interrupted:
            try:
                _run_audits(run_store, loaded, datasets, plan, summary, after, runner, on_audit)
            except KeyboardInterrupt:
                summary.interrupted = True
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        if owned_executor:
            runner.close()
        if not isinstance(store, RunStore):
            run_store.close()


def _run_trials(
    run_store: RunStore,
    loaded: LoadedStudy,
    datasets: dict[str, Dataset],
    plan: Plan,
    summary: RunSummary,
    runner: Executor,
    rerun_failed: bool,
    on_result: ProgressCallback | None,
    on_start: Callable[[RunSummary], None] | None,
) -> None:
    """Run the planned trials that are not stored yet, storing each result as it arrives."""
    spec = loaded.spec
    states = run_store.trial_states(spec.study)
    todo = []
    for trial in plan.trials:
        state = states.get(trial.key)
        if state == DONE:
            summary.already_done += 1
        elif state is not None and not rerun_failed:
            summary.skipped_failed += 1
        else:
            todo.append(trial)
    if on_start is not None:
        on_start(summary)
    if not todo:
        return
    environment = capture_environment()
    env_hash = environment_hash(environment)
    run_store.save_environment(env_hash, environment)
    git = capture_git(loaded.base_dir)
    run_id = run_store.start_run(spec.study, command=command_line(), git=git, environment_hash=env_hash)
    # The pending replicates of a batched torch arm train together (one unit of work per arm x
    # dataset x fold); every other trial is a unit of its own.
    tasks = group_tasks(
        [
            TrialTask(
                trial=t,
                train=plan.splits[t.split_fingerprint].train,
                test=plan.splits[t.split_fingerprint].test,
                timeout=t.arm.timeout,
            )
            for t in todo
        ]
    )
    status = "finished"
    try:
        for result in runner.run(tasks, datasets):
            split = plan.splits[result.split_fingerprint] if result.split_fingerprint else None
            run_store.save_trial(
                spec.study,
                result,
                run_id=run_id,
                split={"train": split.train, "test": split.test} if split is not None else None,
            )
            if result.ok:
                summary.done += 1
            else:
                summary.failed += 1
                summary.failures.append(result)
            if on_result is not None:
                on_result(result, summary)
    except KeyboardInterrupt:
        status = "interrupted"
        summary.interrupted = True
    except BaseException:
        status = "crashed"
        raise
    finally:
        run_store.finish_run(run_id, status)
