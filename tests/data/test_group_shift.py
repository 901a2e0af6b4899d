"""The group_shift protocol on real data (scikit-lego's arrests, grouped by year): training groups never
reach the shifted test rows, in-distribution rows are disjoint from the training rows, every row is
used once per replicate, and each mistake gets one clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rigorlab.data import _protocols as msg
from rigorlab.data import in_distribution_mask, make_splits, training_groups
from rigorlab.errors import DataError
from rigorlab.spec import ProtocolSpec


@pytest.fixture(scope="module")
def arrests() -> pd.DataFrame:
    from sklego.datasets import load_arrests

    return load_arrests(as_frame=True)


def split_of(frame: pd.DataFrame, protocol: ProtocolSpec, seed: int = 3):
    target = frame["released"].to_numpy()
    (split,) = make_splits(protocol, target, "classification", seed, "arrests", frame["year"])
    return split


@pytest.mark.parametrize(
    ("protocol", "groups"),
    [
        (ProtocolSpec(kind="group_shift", train_until=2000), ("1997", "1998", "1999", "2000")),
        (ProtocolSpec(kind="group_shift", train_groups=[1999, 2001]), ("1999", "2001")),
        (ProtocolSpec(kind="group_shift", train_groups=["1998"], test_size=0.4), ("1998",)),
    ],
)
def test_training_groups_never_reach_the_shifted_rows(arrests, protocol, groups):
    assert training_groups(protocol, arrests["year"], "arrests") == groups
    split = split_of(arrests, protocol)
    years = arrests["year"].astype(str).to_numpy()
    inside = in_distribution_mask(split.test, arrests["year"], groups)
    shifted, held_out = split.test[~inside], split.test[inside]
    assert set(years[split.train]) == set(groups)
    assert not set(years[shifted]) & set(groups) and len(shifted) == int((~np.isin(years, groups)).sum())
    assert set(years[held_out]) <= set(groups)
    assert not np.intersect1d(split.train, split.test).size
    assert np.array_equal(np.sort(np.concatenate([split.train, split.test])), np.arange(len(arrests)))
    in_groups = int(np.isin(years, groups).sum())
    assert len(held_out) == int(np.ceil(protocol.test_size * in_groups))


def test_the_in_distribution_carve_is_stratified_and_seeded(arrests):
    protocol = ProtocolSpec(kind="group_shift", train_until=2000)
    first, again, other = split_of(arrests, protocol, 3), split_of(arrests, protocol, 3), split_of(arrests, protocol, 4)
    assert first.fingerprint == again.fingerprint != other.fingerprint
    groups = training_groups(protocol, arrests["year"])
    target = arrests["released"].to_numpy()
    held_out = first.test[in_distribution_mask(first.test, arrests["year"], groups)]
    assert abs((target[held_out] == "Yes").mean() - (target[first.train] == "Yes").mean()) < 0.01


def test_dates_as_groups():
    dates = pd.Series(["2020-01-05", "2020-03-01", "2021-07-09", "2022-01-01"] * 5, name="day")
    protocol = ProtocolSpec(kind="group_shift", train_until="2020-12-31")
    assert training_groups(protocol, dates) == ("2020-01-05", "2020-03-01")
    stamps = pd.to_datetime(dates)
    assert len(training_groups(protocol, stamps)) == 2


def test_mistakes_are_explained(arrests):
    year, colour = arrests["year"], arrests["colour"]
    cases = [
        (
            ProtocolSpec(kind="group_shift", train_groups=[1990, 1997]),
            year,
            msg.MSG_UNKNOWN_GROUPS.format(
                dataset="arrests", missing="1990", column="year", groups="1997, 1998, 1999, 2000, 2001, 2002"
            ),
        ),
        (
            ProtocolSpec(kind="group_shift", train_until=2005),
            year,
            msg.MSG_NO_SHIFTED_ROWS.format(
                dataset="arrests", column="year", groups="1997, 1998, 1999, 2000, 2001, 2002"
            ),
        ),
        (
            ProtocolSpec(kind="group_shift", train_until=1990),
            year,
            msg.MSG_NO_TRAINING_ROWS.format(dataset="arrests", value=1990, column="year", low=1997, high=2002),
        ),
        (
            ProtocolSpec(kind="group_shift", train_until="late"),
            year,
            msg.MSG_TRAIN_UNTIL_TYPE.format(
                dataset="arrests", value="late", column="year", kind="numbers", example=int(year.iloc[0])
            ),
        ),
        (
            ProtocolSpec(kind="group_shift", train_until=3),
            colour,
            msg.MSG_TRAIN_UNTIL_TYPE.format(
                dataset="arrests", value=3, column="colour", kind="text", example=colour.iloc[0]
            ),
        ),
        (
            ProtocolSpec(kind="group_shift", train_until=2000),
            year.where(year != 1999),
            msg.MSG_GROUP_MISSING_VALUES.format(
                dataset="arrests", column="year", count=1099, row=int(np.flatnonzero(year == 1999)[0])
            ),
        ),
        (ProtocolSpec(kind="group_shift", train_until=2000), None, msg.MSG_NO_GROUP_COLUMN.format(dataset="arrests")),
    ]
    for protocol, groups, expected in cases:
        with pytest.raises(DataError) as caught:
            training_groups(protocol, groups, "arrests")
        assert str(caught.value) == expected
