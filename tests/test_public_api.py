"""The public API changes only on purpose."""

import rigorlab


def test_top_level_exports():
    assert sorted(rigorlab.__all__) == sorted(
        [
            "LoadedStudy",
            "RigorlabError",
            "RunStore",
            "RunSummary",
            "StudySpec",
            "__version__",
            "load_study",
            "open_store",
            "run_study",
            "seed_everything",
            "track",
        ]
    )
    for name in rigorlab.__all__:
        assert hasattr(rigorlab, name)
