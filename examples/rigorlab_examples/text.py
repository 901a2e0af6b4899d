"""A real text-classification task that needs no download: which library does a docstring come from?

The first sentence of the docstring of every public function and class of numpy, pandas and
scikit-learn installed here (their versions are recorded in each trial's provenance).
"""

from __future__ import annotations

import importlib
import inspect

import pandas as pd

LIBRARIES = {
    "numpy": ("numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.ma"),
    "pandas": ("pandas", "pandas.api.types", "pandas.plotting"),
    "sklearn": (
        "sklearn.linear_model",
        "sklearn.ensemble",
        "sklearn.metrics",
        "sklearn.preprocessing",
        "sklearn.model_selection",
        "sklearn.cluster",
        "sklearn.decomposition",
        "sklearn.feature_selection",
        "sklearn.neighbors",
        "sklearn.svm",
        "sklearn.tree",
        "sklearn.utils",
    ),
}


def _first_sentence(text: str) -> str:
    paragraph = inspect.cleandoc(text).split("\n\n", 1)[0]
    return " ".join(paragraph.split())


def library_docstrings(per_library: int = 300) -> pd.DataFrame:
    """One row per public function or class: ``text`` (its docstring's first paragraph), ``library``.

    Rows are sorted by qualified name and the first ``per_library`` of each library are kept, so the
    table is the same for the same installed versions.
    """
    rows: list[tuple[str, str, str]] = []
    for library, modules in LIBRARIES.items():
        found: dict[str, str] = {}
        for module_name in modules:
            module = importlib.import_module(module_name)
            for name in sorted(getattr(module, "__all__", None) or dir(module)):
                if name.startswith("_"):
                    continue
                try:
                    member = getattr(module, name)
                except (AttributeError, ImportError):  # lazily imported or experimental names
                    continue
                if not callable(member):
                    continue
                doc = inspect.getdoc(member)
                if not doc or len(doc) < 20:
                    continue
                text = _first_sentence(doc)
                if text not in found.values():
                    found[f"{module_name}.{name}"] = text
        for qualified in sorted(found)[:per_library]:
            rows.append((qualified, found[qualified], library))
    return pd.DataFrame(rows, columns=["name", "text", "library"]).drop(columns="name")
