"""Provenance: the environment, hardware, git state and command line behind every result."""

from rigorlab.provenance._capture import (
    KEY_PACKAGES,
    capture_environment,
    capture_git,
    command_line,
    environment_hash,
    now_iso,
)

__all__ = [
    "KEY_PACKAGES",
    "capture_environment",
    "capture_git",
    "command_line",
    "environment_hash",
    "now_iso",
]
