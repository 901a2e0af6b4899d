"""Provenance: the environment, hardware, git state and command line behind every result, and
reproduce-and-verify (re-run stored trials, compare, bundle a study for readers)."""

from typing import TYPE_CHECKING

from rigorlab._lazy import lazy_exports
from rigorlab.provenance._capture import (
    KEY_PACKAGES,
    capture_environment,
    capture_git,
    command_line,
    environment_hash,
    now_iso,
)

if TYPE_CHECKING:
    from rigorlab.provenance._bundle import BundleInfo, OpenedBundle, open_bundle, reproduce_bundle, write_bundle
    from rigorlab.provenance._compare import (
        ACROSS_ENVIRONMENTS,
        EXACT,
        GPU,
        VERDICTS,
        VERIFIED,
        Comparison,
        Tolerance,
        Tolerances,
        compare_results,
    )
    from rigorlab.provenance._envdiff import Change, EnvironmentDiff, diff_environments, diff_git
    from rigorlab.provenance._reproduce import reproduce
    from rigorlab.provenance._verification import (
        ReproductionReport,
        TrialVerification,
        VerificationSummary,
        verification_summary,
    )

# Reproduce and bundle import the executor (scikit-learn): loaded on first use, so that the store,
# which records provenance, stays light to import.
_LAZY = {
    "ACROSS_ENVIRONMENTS": "rigorlab.provenance._compare",
    "BundleInfo": "rigorlab.provenance._bundle",
    "Change": "rigorlab.provenance._envdiff",
    "Comparison": "rigorlab.provenance._compare",
    "EXACT": "rigorlab.provenance._compare",
    "EnvironmentDiff": "rigorlab.provenance._envdiff",
    "GPU": "rigorlab.provenance._compare",
    "OpenedBundle": "rigorlab.provenance._bundle",
    "Tolerance": "rigorlab.provenance._compare",
    "Tolerances": "rigorlab.provenance._compare",
    "VERDICTS": "rigorlab.provenance._compare",
    "VERIFIED": "rigorlab.provenance._compare",
    "compare_results": "rigorlab.provenance._compare",
    "diff_environments": "rigorlab.provenance._envdiff",
    "diff_git": "rigorlab.provenance._envdiff",
    "open_bundle": "rigorlab.provenance._bundle",
    "reproduce": "rigorlab.provenance._reproduce",
    "reproduce_bundle": "rigorlab.provenance._bundle",
    "write_bundle": "rigorlab.provenance._bundle",
    "ReproductionReport": "rigorlab.provenance._verification",
    "TrialVerification": "rigorlab.provenance._verification",
    "VerificationSummary": "rigorlab.provenance._verification",
    "verification_summary": "rigorlab.provenance._verification",
}

__all__ = [
    "ACROSS_ENVIRONMENTS",
    "BundleInfo",
    "EXACT",
    "GPU",
    "KEY_PACKAGES",
    "OpenedBundle",
    "VERDICTS",
    "VERIFIED",
    "Change",
    "Comparison",
    "EnvironmentDiff",
    "ReproductionReport",
    "Tolerance",
    "Tolerances",
    "TrialVerification",
    "VerificationSummary",
    "capture_environment",
    "capture_git",
    "command_line",
    "compare_results",
    "diff_environments",
    "diff_git",
    "environment_hash",
    "now_iso",
    "open_bundle",
    "reproduce",
    "reproduce_bundle",
    "verification_summary",
    "write_bundle",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)
