"""The driver: from a study file to stored results, resumably.

It loads and checks everything before the first trial runs (bad input exits before anything is
written), stores the study, its datasets and its plan, runs the trials that are not stored yet
through an executor, and writes each result as it arrives, in its own transaction: a driver
killed at any moment leaves a readable store, and running the study again finishes only what is
missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rigorlab.data import Dataset, load_dataset
from rigorlab.errors import InputError
from rigorlab.execution._base import Executor
from rigorlab.execution._local import LocalExecutor
from rigorlab.execution._runner import MSG_TORCH_SCORER, check_arm_fits_task
from rigorlab.execution._task import TrialTask, group_tasks
from rigorlab.models import METRICS, check_encoding
from rigorlab.provenance import capture_environment, capture_git, command_line, environment_hash
from rigorlab.spec import Arm, LoadedStudy, Plan, build_plan, load_study
from rigorlab.spec._load import add_import_path
from rigorlab.store import DONE, RunStore, TrialResult, open_store

__all__ = ["RunSummary", "load_datasets", "prepare", "run_study"]

MSG_METRIC_TASK = (
    "The metric '{metric}' applies to {metric_task} tasks, but dataset '{dataset}' is a {task} task "
    "({where}). Remove it from metrics or drop the dataset."
)
MSG_ARM_TASK = "{message} ({where})"
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

    @property
    def to_run(self) -> int:
        return self.planned - self.already_done - self.skipped_failed

    @property
    def remaining(self) -> int:
        return self.to_run - self.done - self.failed


ProgressCallback = Callable[[TrialResult, RunSummary], None]


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
    plan = build_plan(loaded.spec, datasets)
    _check_fit(loaded, datasets, plan)
    return loaded, datasets, plan


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


def run_study(
    study: LoadedStudy | str | Path,
    *,
    store: RunStore | str | Path | None = None,
    jobs: int | None = None,
    rerun_failed: bool = False,
    executor: Executor | None = None,
    on_result: ProgressCallback | None = None,
    on_start: Callable[[RunSummary], None] | None = None,
) -> RunSummary:
    """Run a study: every trial of its plan that is not stored yet.

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
        Default: :class:`LocalExecutor`.

    Returns
    -------
    RunSummary

    Examples
    --------
    >>> summary = run_study("examples/quickstart.yaml", jobs=2)  # doctest: +SKIP
    >>> summary.done, summary.failed  # doctest: +SKIP
    (150, 0)
    """
    started = time.monotonic()
    loaded, datasets, plan = prepare(study)
    run_store = store if isinstance(store, RunStore) else open_store(store, create=True)
    spec = loaded.spec
    try:
        _save_study(run_store, loaded, datasets, plan)
        states = run_store.trial_states(spec.study)
        summary = RunSummary(study=spec.study, store=run_store.root, planned=plan.size)
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
            summary.seconds = time.monotonic() - started
            return summary

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
        import_path = str(loaded.base_dir)
        add_import_path(loaded.base_dir)
        owned_executor = executor is None
        runner = executor or LocalExecutor(jobs=jobs, import_paths=[import_path])
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
            if owned_executor:
                runner.close()
            run_store.finish_run(run_id, status)
        summary.seconds = time.monotonic() - started
        return summary
    finally:
        if not isinstance(store, RunStore):
            run_store.close()
