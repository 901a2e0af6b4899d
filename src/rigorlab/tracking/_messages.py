"""Every message the tracking API shows a user, as constants that tests check."""

from __future__ import annotations

MSG_BAD_NAME = (
    "The '{field}' argument of rigorlab.track() must be a non-empty string. Got {value!r} instead. "
    "Name the {field} the run belongs to, e.g. {field}={example!r}."
)
MSG_BAD_INDEX = "The '{field}' argument of rigorlab.track() must be an integer >= 0. Got {value!r} instead."
MSG_BAD_SETTING = "The '{field}' argument of rigorlab.track() must be {expected}. Got {value!r} instead."
MSG_BAD_STUDY_NAME = (
    "The 'study' argument of rigorlab.track() must be {rule}, as in study files. Got {value!r} instead; "
    "e.g. study={suggestion!r}."
)
MSG_STUDY_FILE_STUDY = (
    "The study '{study}' in the store {store} was defined by the study file {path}; tracked runs cannot join it "
    "(its plan, `rigorlab status` and `rigorlab reproduce` belong to that file). Track into a study of its own, "
    "e.g. study={suggestion!r}; `rigorlab compare` and reports work per study."
)
MSG_REPLICATE_REPLACED = (
    "Replicate {replicate} of arm '{arm}' on dataset '{dataset}' (fold {fold}) of study '{study}' already has a "
    "finished run ({key}); this run replaces it in statistics and reports (the earlier run stays stored: "
    "`rigorlab trials {study} --all` lists it). To keep both, leave replicate out (the run takes the next free "
    "number, {free}) or pass an unused one."
)
MSG_BAD_VALUE = (
    "run.{method}() got {value} ({type}) for '{name}'. A logged value must be a real number: an int, a float, "
    "a numpy scalar or a one-element tensor (call .item() on a tensor with several elements, or log them "
    "under separate names)."
)
MSG_BAD_STEP = (
    "run.log() got step={value!r} ({type}). The step must be an integer, such as the epoch or batch number; "
    "leave it out to count calls (0, 1, 2, ...)."
)
MSG_BAD_METRIC_NAME = "run.{method}() got the metric name {name!r}. Metric names must be non-empty strings."
MSG_BAD_TAG = "run.set_tag() got the key {key!r}. Tag keys must be non-empty strings."
MSG_NOT_STARTED = (
    "This tracked run has not started. Use it as `with rigorlab.track(...) as run:`, as a decorator, "
    "or call run.start() first."
)
MSG_FINISHED = (
    "The tracked run {key} of study '{study}' has already finished; nothing more can be logged to it. "
    "Start a new run with rigorlab.track(...)."
)
MSG_REUSED = "A tracked run starts once. Call rigorlab.track(...) again for a new run (or use it as a decorator)."
MSG_NO_ARTIFACT = (
    "run.log_artifact() got {path}, which does not exist. Give the path of a file or a folder to store with the run."
)
MSG_WRITE_FAILED = (
    "rigorlab could not write the tracked run {key} to the store {path}: {error}. {lost} point(s) were not "
    "stored. Check that the store's disk has space and is writable; the run is marked failed."
)
MSG_STOPPED_BY_SIGNAL = (
    "Stopped by {signal} before the run finished (the job was cancelled, preempted or timed out); every "
    "point logged until then is stored."
)
MSG_INTERRUPTED = (
    "Interrupted by Ctrl-C (SIGINT, KeyboardInterrupt) before the run finished; every point logged until "
    "then is stored."
)
MSG_EXIT_WHILE_OPEN = "The program ended with an uncaught exception while the run was open: {error}"
MSG_BAD_SEED = "seed_everything() needs an integer seed between 0 and 2**32 - 1. Got {value!r} instead."
