"""Failures and caveats: what did not run, what the statistics warn about, and what differs in
the provenance between trials (two package versions, a dirty git tree, two GPU models...)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import pandas as pd

from rigorlab.store import DONE

from ._facts import StoredStudy
from ._provenance import EnvironmentView, GitState, environment_differences, plural
from ._records import Caveat, FailureGroup, MetricResults, VerificationMark

__all__ = ["build_caveats", "failure_groups"]

INFO, WARNING = "info", "warning"
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w%])")
ERROR_LINE_LIMIT = 240
LISTED_PLACES = 6


def _first_line(error: object) -> str:
    text = str(error or "").strip()
    line = text.splitlines()[0] if text else "no error recorded"
    return line if len(line) <= ERROR_LINE_LIMIT else line[: ERROR_LINE_LIMIT - 3] + "..."


def failure_groups(trials: pd.DataFrame) -> tuple[FailureGroup, ...]:
    """Unfinished trials grouped by arm, dataset, status and first error line."""
    unfinished = trials[trials["status"] != DONE]
    if unfinished.empty:
        return ()
    frame = unfinished.assign(first_line=[_first_line(error) for error in unfinished["error"]])
    groups = []
    for (arm, dataset, status, error), rows in frame.groupby(["arm", "dataset", "status", "first_line"], sort=True):
        groups.append(
            FailureGroup(
                arm=str(arm),
                dataset=str(dataset),
                status=str(status),
                count=len(rows),
                error=str(error),
                replicates=tuple(sorted({int(r) for r in rows["replicate"]})),
            )
        )
    return tuple(groups)


def _places(pairs: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(f"{arm} on {dataset}" for arm, dataset in pairs[:LISTED_PLACES])
    return shown + (f" and {len(pairs) - LISTED_PLACES} more" if len(pairs) > LISTED_PLACES else "")


def _with_ranges(template: str, heads: Sequence[str]) -> str:
    """``template`` (numbers replaced by ``#``) with each number shown as the range it takes over
    ``heads``: "a difference of 0.0021 to 0.0158" rather than a placeholder."""
    columns = list(zip(*(_NUMBER.findall(head) for head in heads), strict=False))
    shown = []
    for values in columns:
        ordered = sorted(set(values), key=float)
        shown.append(ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}")
    parts = template.split("#")
    if len(parts) != len(shown) + 1:  # cannot happen (the template came from these heads); keep it readable
        return heads[0]
    return parts[0] + "".join(value + part for value, part in zip(shown, parts[1:], strict=True))


def _statistics_caveats(results: Sequence[MetricResults]) -> list[Caveat]:
    caveats = []
    for result in results:
        comparison = result.comparison
        by_warning: dict[str, list[tuple[str, str]]] = defaultdict(list)
        heads: dict[str, list[str]] = defaultdict(list)
        for arm, dataset, notes in zip(
            comparison.comparisons["arm"],
            comparison.comparisons["dataset"],
            comparison.comparisons["warnings"],
            strict=True,
        ):
            for note in notes:
                # A warning's first clause names the problem; its numbers differ from one comparison to
                # the next, so warnings are grouped by their wording with the numbers taken out.
                head = note.split(":")[0]
                key = _NUMBER.sub("#", head)
                by_warning[key].append((str(arm), str(dataset)))
                heads[key].append(head)
        for key, pairs in by_warning.items():
            head = heads[key][0] if len(set(heads[key])) == 1 else _with_ranges(key, heads[key])
            count = f"{len(pairs)} comparison{'s' if len(pairs) != 1 else ''}"
            caveats.append(Caveat("statistics", WARNING, f"{result.metric}: {head} ({count}: {_places(pairs)})."))
        caveats.extend(Caveat("statistics", WARNING, f"{result.metric}: {problem}") for problem in comparison.problems)
    return caveats


def _usage(trials: int, runs: int, scope: str) -> str:
    """``2 sampled trials, 1 run``: how much of the study used a value."""
    parts = [plural(trials, scope)] if trials else []
    return ", ".join([*parts, plural(runs, "run")] if runs else parts)


def _provenance_caveats(facts: StoredStudy, views: list[EnvironmentView], git: list[GitState] | None) -> list[Caveat]:
    caveats = []
    scope = "trial" if facts.environments_complete else "sampled trial"
    for what, values in environment_differences(views):
        listed = ", ".join(f"{value} ({_usage(trials, runs, scope)})" for value, (trials, runs) in values.items())
        caveats.append(Caveat("provenance", WARNING, f"The results were produced with different {what}: {listed}."))
    if git:
        commits = {state.commit for state in git}
        if len(commits) > 1:
            listed = ", ".join(f"{(c or 'none')[:12]}" for c in sorted(commits, key=str))
            caveats.append(
                Caveat("provenance", WARNING, f"The results come from {len(commits)} git commits: {listed}.")
            )
        dirty = [state for state in git if state.dirty]
        if dirty:
            runs = sum(state.runs for state in dirty)
            caveats.append(
                Caveat(
                    "provenance",
                    WARNING,
                    f"{plural(runs, 'run')} had uncommitted changes in the git work tree (commit "
                    f"{(dirty[0].commit or 'none')[:12]}, diff SHA-256 {str(dirty[0].diff_sha256)[:12]}); the diff "
                    "is stored with the results, but the published commit alone does not reproduce them.",
                )
            )
    versions = sorted({str(v) for v in facts.runs["rigorlab_version"].dropna()})
    if len(versions) > 1:
        caveats.append(
            Caveat("provenance", WARNING, f"Several rigorlab versions wrote results: {', '.join(versions)}.")
        )
    ended = facts.runs[facts.runs["status"].isin(["interrupted", "crashed"])]
    if not ended.empty:
        caveats.append(
            Caveat(
                "provenance",
                INFO,
                f"{plural(len(ended), 'invocation')} ended early ({', '.join(sorted(set(ended['status'])))}); "
                "the trials they finished are stored and were resumed by later runs.",
            )
        )
    if views and not facts.environments_complete:
        caveats.append(
            Caveat(
                "provenance",
                INFO,
                "Environments were read from one trial of each arm and one of each dataset; other trials may have run "
                "elsewhere (e.g. on other Ray nodes).",
            )
        )
    return caveats


def _protocol_caveats(facts: StoredStudy) -> list[Caveat]:
    spec = facts.spec
    caveats = []
    if spec is not None and spec.protocol.inner_folds is None and any(model.grid for model in spec.models):
        caveats.append(
            Caveat(
                "protocol",
                WARNING,
                "Grid points are reported as separate arms and none was selected on training data: choosing the "
                "best of them from this table is selection on the test folds and overstates its score. Add "
                "protocol.inner_folds for nested selection.",
            )
        )
    planned = int(facts.info.get("planned") or 0)
    pending = planned - len(facts.trials) if planned else 0
    if pending > 0:
        caveats.append(
            Caveat(
                "failures",
                WARNING,
                f"{pending} of {planned} planned trials have not run yet; run `rigorlab run STUDY.yaml` to finish.",
            )
        )
    return caveats


def _verification_caveats(study: str, marks: Sequence[VerificationMark] | None) -> list[Caveat]:
    if not marks:
        return []
    contradicted = [(mark.arm, mark.dataset) for mark in marks if mark.problems]
    if not contradicted:
        return []
    return [
        Caveat(
            "verification",
            WARNING,
            f"Re-running did not reproduce some trials of {_places(contradicted)} "
            f"(`rigorlab reproduce {study}` lists them).",
        )
    ]


def build_caveats(
    facts: StoredStudy,
    *,
    results: Sequence[MetricResults],
    failures: tuple[FailureGroup, ...],
    views: list[EnvironmentView],
    git: list[GitState] | None,
    verification: Sequence[VerificationMark] | None,
) -> tuple[Caveat, ...]:
    """Every caveat, failures first."""
    caveats: list[Caveat] = []
    if failures:
        count = sum(group.count for group in failures)
        arms = sorted({group.arm for group in failures})
        caveats.append(
            Caveat(
                "failures",
                WARNING,
                f"{count} of {len(facts.trials)} stored trials did not finish ({', '.join(arms)}); their estimates use "
                "the replicates that did (see the failure table). `rigorlab status STUDY` shows the errors; "
                "`rigorlab run STUDY.yaml --rerun-failed` retries them.",
            )
        )
    caveats += _protocol_caveats(facts)
    caveats += _statistics_caveats(results)
    caveats += _provenance_caveats(facts, views, git)
    caveats += _verification_caveats(facts.name, verification)
    return tuple(caveats)
