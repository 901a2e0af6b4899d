"""Dataset sources, content fingerprints and train/test protocols."""

from rigorlab.data._protocols import Split, make_splits
from rigorlab.data._sources import Dataset, fingerprint_frame, load_dataset

__all__ = ["Dataset", "Split", "fingerprint_frame", "load_dataset", "make_splits"]
