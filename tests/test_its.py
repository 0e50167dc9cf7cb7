"""Interrupted time series: the impact view's statistics (portal/analysis/its.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portal.analysis.its import SeriesTooShortError, describe, fit_its

MONTHS = pd.date_range("2019-04-01", periods=72, freq="MS")
CHANGE = pd.Timestamp("2022-09-01")


def _series(level_change=-5.0, slope_change=0.0, seasonal=3.0, noise=1.0, ar=0.0, seed=0, months=MONTHS,
            change=CHANGE):
    rng = np.random.default_rng(seed)
    t = np.arange(len(months))
    after = (months >= change).astype(float)
    since = np.where(after == 1, t - t[after.argmax()], 0)
    e = np.zeros(len(months))
    shocks = rng.normal(0, noise, len(months))
    for i in range(len(months)):
        e[i] = (ar * e[i - 1] if i else 0) + shocks[i]
    y = 30 + 0.05 * t + seasonal * np.cos(2 * np.pi * (months.month - 1) / 12) + level_change * after \
        + slope_change * since + e
    return pd.DataFrame({"month": months, "value": y})


def test_finds_a_planted_level_change_with_an_interval_that_holds_it():
    result = fit_its(_series(level_change=-5.0), CHANGE)
    assert result.level_change.holds(-5.0)
    assert result.level_change.excludes_zero
    assert result.level_change.estimate < 0
    assert not result.slope_change.excludes_zero


def test_finds_a_planted_slope_change():
    result = fit_its(_series(level_change=0.0, slope_change=0.3), CHANGE)
    assert result.slope_change.holds(0.3)
    assert result.slope_change.excludes_zero


def test_no_change_finds_none():
    result = fit_its(_series(level_change=0.0), CHANGE)
    assert not result.level_change.excludes_zero
    assert not result.slope_change.excludes_zero


def test_interval_coverage_is_honest_with_autocorrelated_noise():
    """Over many simulated areas the 95% interval should hold the truth about 95% of the time.

    (Newey-West alone fails this: about 18% false alarms at this autocorrelation; see its.py.)"""
    held = false_alarms = 0
    runs = 60
    for seed in range(runs):
        held += fit_its(_series(level_change=-2.0, ar=0.4, seed=seed), CHANGE).level_change.holds(-2.0)
        false_alarms += fit_its(_series(level_change=0.0, ar=0.4, seed=seed + 10_000), CHANGE).level_change.excludes_zero
    assert held / runs >= 0.9
    assert false_alarms / runs <= 0.1


def test_seasonality_is_not_mistaken_for_an_effect():
    """An intervention in a winter month with a strong winter peak: without seasonal terms the jump is biased."""
    data = _series(level_change=0.0, seasonal=8.0, noise=0.5)
    with_seasons = fit_its(data, CHANGE, seasonality="fourier")
    assert not with_seasons.level_change.excludes_zero
    month_dummies = fit_its(data, CHANGE, seasonality="month")
    assert not month_dummies.level_change.excludes_zero
    assert month_dummies.seasonality == "month"


def test_lines_for_plotting():
    result = fit_its(_series(), CHANGE)
    lines = result.lines
    assert list(lines.columns) == ["month", "observed", "fitted", "counterfactual", "segment"]
    assert len(lines) == 72
    before = lines[lines["segment"] == "before"]
    after = lines[lines["segment"] == "after"]
    assert before["counterfactual"].isna().all()
    assert after["counterfactual"].notna().all()
    # after the change the counterfactual sits about 5 above the fitted line (the planted drop)
    assert (after["counterfactual"] - after["fitted"]).mean() == pytest.approx(5.0, abs=1.0)
    assert result.n_before + result.n_after == 72


def test_missing_months_are_dropped_and_mentioned():
    data = _series()
    data.loc[[3, 20, 50], "value"] = np.nan
    result = fit_its(data, CHANGE)
    assert result.n_before + result.n_after == 69
    assert any("3 month(s)" in c for c in result.caveats)


def test_short_series_warns_and_too_short_refuses():
    short = _series(months=pd.date_range("2022-03-01", periods=14, freq="MS"))
    result = fit_its(short, CHANGE)
    assert result.caveats[0].startswith("Short series")
    assert result.seasonality == "none"
    with pytest.raises(SeriesTooShortError):
        fit_its(short, "2023-03-01")
    with pytest.raises(SeriesTooShortError):
        fit_its(short, "2021-01-01")


def test_co_interventions_are_named_in_caveats():
    result = fit_its(_series(), CHANGE, co_interventions=[("2022-10-15", "New 111 service"), ("2020-01-01", "Far away")])
    text = " ".join(result.caveats)
    assert "New 111 service (October 2022)" in text
    assert "Far away" not in text


def test_mid_month_dates_count_from_that_month():
    result = fit_its(_series(), "2022-09-17")
    assert str(result.intervention) == "2022-09-01"


def test_plain_english_description():
    result = fit_its(_series(level_change=-5.0), CHANGE)
    text = describe(result, "A&E attendances per 1,000 children")
    assert text.startswith("From September 2022, A&E attendances per 1,000 children fell by")
    assert "bigger than chance" in text
    assert "95% confidence interval" in text
    none = describe(fit_its(_series(level_change=0.0), CHANGE), "the rate")
    assert "could be chance" in none


def test_the_ar1_fit_finds_the_autocorrelation_and_agrees_with_arima_on_a_long_series():
    """On a long series restricted and plain maximum likelihood agree, so statsmodels' ARIMA (what the fit
    replaced) is a reference: same coefficients, same autocorrelation, intervals of the same width."""
    import warnings

    import statsmodels.api as sm

    from portal.analysis.its import _fit_ar1

    months = pd.date_range("1990-01-01", periods=360, freq="MS")
    series = _series(level_change=-2.0, ar=0.6, seasonal=0.0, seed=3, months=months, change=pd.Timestamp("2005-01-01"))
    t = np.arange(len(months), dtype=float)
    after = (months >= pd.Timestamp("2005-01-01")).astype(float)
    design = pd.DataFrame({"const": 1.0, "t": t, "after": after,
                           "months_since": np.where(after == 1, t - t[after.argmax()], 0.0)})
    ours = _fit_ar1(series["value"].to_numpy(), design)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arima = sm.tsa.arima.ARIMA(series["value"].to_numpy(), exog=design.drop(columns="const"),
                                   order=(1, 0, 0), trend="c").fit()
    params = dict(zip(arima.param_names, arima.params))
    assert abs(ours.rho - 0.6) < 0.1 and abs(ours.rho - params["ar.L1"]) < 0.03
    for name in ("t", "after", "months_since"):
        assert ours.params[name] == pytest.approx(params[name], abs=0.05 * max(1.0, abs(params[name])))
    their_se = dict(zip(arima.param_names, arima.bse))["after"]
    our_se = float(np.sqrt(ours.cov[2, 2]))
    assert 0.8 < our_se / their_se < 1.25


def test_the_ar1_fit_refuses_a_series_too_short_for_it():
    from portal.analysis.its import _fit_ar1

    design = pd.DataFrame({"const": 1.0, "t": [0.0, 1.0, 2.0, 3.0], "after": [0.0, 0.0, 1.0, 1.0]})
    with pytest.raises(ValueError):
        _fit_ar1(np.array([1.0, 2.0, 4.0, 5.0]), design)


def test_a_flat_series_finds_no_change_without_warnings():
    """A small group with no events at all gives a series of zeros: no change, and nothing in the server log."""
    import warnings

    for value in (0.0, 5.0):
        flat = pd.DataFrame({"month": MONTHS, "value": value})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = fit_its(flat, CHANGE)
        for effect in (result.level_change, result.slope_change, result.effect_at_end):
            assert abs(effect.estimate) < 1e-9 and not effect.excludes_zero and effect.p_value == 1.0
