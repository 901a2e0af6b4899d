"""Every sentence the report layer shows a user as an error, as constants that tests check.

Format-string constants are filled with ``str.format``; their field names say what goes in.
"""

from __future__ import annotations

MSG_NO_FINISHED_TRIALS = (
    "Study '{study}' has no finished trials to report ({stored} stored: {states}; {planned} planned). "
    "Run `rigorlab run STUDY.yaml` first, or let a tracked run (rigorlab.track) finish; `rigorlab status {study}` "
    "shows why trials failed."
)
MSG_UNKNOWN_METRIC = (
    "Metric '{metric}' (from --metric) is not stored for study '{study}'. Metrics stored: {available}. "
    "Pick one of these. To add one: list it under `metrics:` in the study file and run `rigorlab run STUDY.yaml`, "
    "or, for runs tracked with rigorlab.track, pass it to run.log_summary."
)
MSG_BAD_FORMAT = "--format must be one of {choices}. Got '{value}' instead."
MSG_OUT_NOT_A_REPORT = (
    "The output folder {path} exists and was not written by `rigorlab report` (it has no {marker} file), "
    "so it is left alone. Choose another --out, or remove the folder first."
)
MSG_OUT_IS_A_FILE = "--out {path} is a file; give a folder (it is created, or replaced if it holds an older report)."
MSG_OUT_UNWRITABLE = (
    "--out {path}: the report cannot be written there ({error}). Give a folder in a place you can write to "
    "(it is created when missing)."
)

# Marks in the results table (the legend spells them out).
MARK_NO_EVIDENCE = "\N{DAGGER}"
MARK_NOT_TESTED = "\N{DOUBLE DAGGER}"
MARK_VERIFIED = "\N{CHECK MARK}"
