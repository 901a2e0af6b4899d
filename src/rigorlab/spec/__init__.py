"""Study files: the validated StudySpec, YAML loading with positions, and the trial plan."""

from rigorlab.spec._audit_spec import AUDIT_KINDS, MITIGATIONS, AuditsSpec, MitigationSpec
from rigorlab.spec._load import LoadedStudy, load_study, load_study_text
from rigorlab.spec._model import (
    BUILTIN_DATASETS,
    PREPROCESS_STEPS,
    PROTOCOLS,
    DatasetSpec,
    EarlyStoppingSpec,
    ModelSpec,
    ProtocolSpec,
    StudySpec,
    TrainingSpec,
)
from rigorlab.spec._plan import Arm, Plan, Seeds, Trial, build_plan, derive_seeds, expand_arms

__all__ = [
    "AUDIT_KINDS",
    "BUILTIN_DATASETS",
    "MITIGATIONS",
    "PROTOCOLS",
    "PREPROCESS_STEPS",
    "Arm",
    "AuditsSpec",
    "DatasetSpec",
    "EarlyStoppingSpec",
    "LoadedStudy",
    "MitigationSpec",
    "ModelSpec",
    "Plan",
    "ProtocolSpec",
    "Seeds",
    "StudySpec",
    "Trial",
    "TrainingSpec",
    "build_plan",
    "derive_seeds",
    "expand_arms",
    "load_study",
    "load_study_text",
]
