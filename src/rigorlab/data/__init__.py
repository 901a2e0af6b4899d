"""Dataset sources, content fingerprints and train/test protocols."""

from rigorlab.data._protocols import Split, group_text, in_distribution_mask, make_splits, training_groups
from rigorlab.data._sources import Dataset, file_sha256, fingerprint_frame, load_dataset

__all__ = [
    "Dataset",
    "Split",
    "file_sha256",
    "fingerprint_frame",
    "group_text",
    "in_distribution_mask",
    "load_dataset",
    "make_splits",
    "training_groups",
]
