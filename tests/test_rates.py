"""Rates, proportions and their 95% intervals; over/under-representation (portal/analysis/rates.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.analysis.rates import (NOT_SHOWN, OVER, SIMILAR, UNDER, poisson_rate_interval, representation,
                                   wilson_interval)


def test_wilson_matches_published_values():
    # Newcombe (1998) table I: 81/263 -> 0.2553 to 0.3662
    p, low, high = wilson_interval(81, 263)
    assert p[0] == pytest.approx(81 / 263)
    assert low[0] == pytest.approx(0.2553, abs=1e-4)
    assert high[0] == pytest.approx(0.3662, abs=1e-4)
    # 0 of 10 still has an upper limit above zero
    _, low, high = wilson_interval(0, 10)
    assert low[0] == 0 and high[0] == pytest.approx(0.2775, abs=1e-4)


def test_exact_poisson_matches_tables():
    # exact 95% limits for 10 events: 4.795 to 18.390
    rate, low, high = poisson_rate_interval(10, 1000, per=1000)
    assert rate[0] == 10
    assert low[0] == pytest.approx(4.795, abs=1e-3)
    assert high[0] == pytest.approx(18.390, abs=1e-3)
    # 0 events: upper limit 3.689
    _, low, high = poisson_rate_interval(0, 1000)
    assert low[0] == 0 and high[0] == pytest.approx(3.689, abs=1e-3)


def test_byar_is_close_to_exact():
    exact = poisson_rate_interval([5, 50, 500], [1000] * 3)
    byar = poisson_rate_interval([5, 50, 500], [1000] * 3, method="byar")
    for a, b in zip(exact, byar):
        np.testing.assert_allclose(a, b, rtol=0.02)


def test_missing_counts_give_missing_rates():
    rate, low, high = poisson_rate_interval([np.nan, 5], [100, 0])
    assert np.isnan(rate).all() and np.isnan(low).all() and np.isnan(high).all()
    p, lo, hi = wilson_interval([np.nan, 3], [10, 0])
    assert np.isnan(p).all()


@settings(max_examples=200, deadline=None)
@given(k=st.integers(0, 5000), extra=st.integers(1, 100000))
def test_intervals_contain_the_estimate(k, extra):
    n = k + extra
    p, lo, hi = wilson_interval(k, n)
    assert lo[0] <= p[0] <= hi[0]
    r, lo, hi = poisson_rate_interval(k, n)
    assert lo[0] <= r[0] <= hi[0]


def test_representation_against_the_area_rate():
    df = pd.DataFrame({
        "ethnicity": ["Asian", "Black", "White", "Mixed", "Other"],
        "n_ae": [300, 100, 1000, np.nan, 20],
        "n_people": [2000, 1000, 10000, 40, 200],
    })
    table, area = representation(df, "ethnicity", "n_ae", "n_people", area_count=1425, area_denominator=13240)
    assert area == pytest.approx(1425 / 13240 * 1000)
    by = table.set_index("group")
    assert by.loc["Asian", "representation"] == OVER        # 150 per 1,000, CI well above 107.6
    assert by.loc["Black", "representation"] == SIMILAR     # 100, CI 81 to 122
    assert by.loc["White", "representation"] == UNDER       # 100, CI 94 to 106, wholly below 107.6
    assert by.loc["Mixed", "representation"] == NOT_SHOWN
    assert by.loc["Asian", "ratio_to_area"] == pytest.approx(150 / area)
    assert by.loc["White", "ci_low"] < 100 < by.loc["White", "ci_high"]


def test_representation_under_and_proportions():
    df = pd.DataFrame({"q": [1, 2, 3], "ehcp": [90, 50, 10], "pupils": [1000, 1000, 1000]})
    table, area = representation(df, "q", "ehcp", "pupils", kind="proportion")
    assert area == pytest.approx(5.0)
    assert list(table["representation"]) == [OVER, SIMILAR, UNDER]
    assert table["rate"].tolist() == pytest.approx([9.0, 5.0, 1.0])
    assert table["share_of_count"].tolist() == pytest.approx([60.0, 100 / 3, 100 / 15])
