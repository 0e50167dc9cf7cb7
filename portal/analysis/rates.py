"""Rates and proportions with 95% confidence intervals, and who is over- or under-represented.

* Proportions (e.g. the share of pupils with an EHCP) use the Wilson score interval, which behaves well
  for small groups and for proportions near 0 or 1.
* Rates (e.g. A&E attendances per 1,000 children a year) treat the count as Poisson: the exact interval
  from the chi-squared distribution, or Byar's approximation (very close to exact, used by PHE/OHID).

A group is **over-represented** when its whole confidence interval lies above the area rate, and
**under-represented** when it lies wholly below; otherwise the difference could be chance.

Every function accepts missing counts (a suppressed cell arrives as NaN) and returns NaN for them, so a
rate is never computed from a number the table hides.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

Z95 = 1.959963984540054
OVER = "over-represented"
UNDER = "under-represented"
SIMILAR = "similar to the area"
NOT_SHOWN = "not shown (small numbers)"


def _arr(x) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(np.atleast_1d(x)), errors="coerce"), dtype=float)


def wilson_interval(successes, total, z: float = Z95):
    """(proportion, low, high), each 0-1, element-wise; NaN where inputs are missing or total is 0."""
    k, n = _arr(successes), _arr(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / n, np.nan)
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact ends when nothing or everything counts (rounding would otherwise leave 1e-21 above zero)
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0, 1))
    bad = ~(n > 0) | np.isnan(k)
    return _out(p, bad), _out(low, bad), _out(high, bad)


def poisson_rate_interval(count, exposure, per: float = 1000.0, method: str = "exact", alpha: float = 0.05):
    """(rate, low, high) per ``per`` units of exposure (people or person-years), element-wise."""
    k, e = _arr(count), _arr(exposure)
    bad = ~(e > 0) | np.isnan(k) | (k < 0)
    k_safe = np.where(bad, 0.0, k)
    if method == "exact":
        low = np.where(k_safe > 0, stats.chi2.ppf(alpha / 2, 2 * k_safe) / 2, 0.0)
        high = stats.chi2.ppf(1 - alpha / 2, 2 * k_safe + 2) / 2
    elif method == "byar":
        z = stats.norm.ppf(1 - alpha / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(k_safe > 0, k_safe * (1 - 1 / (9 * k_safe) - z / (3 * np.sqrt(k_safe))) ** 3, 0.0)
        k1 = k_safe + 1
        high = k1 * (1 - 1 / (9 * k1) + z / (3 * np.sqrt(k1))) ** 3
    else:
        raise ValueError("method must be 'exact' or 'byar'")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(e > 0, per / e, np.nan)
    return _out(k_safe * scale, bad), _out(low * scale, bad), _out(high * scale, bad)


def _out(values: np.ndarray, bad: np.ndarray) -> np.ndarray:
    return np.where(bad, np.nan, values)


def classify(low, high, reference: float) -> np.ndarray:
    """over/under/similar against a reference value; 'not shown' where the interval is missing."""
    low, high = _arr(low), _arr(high)
    labels = np.where(low > reference, OVER, np.where(high < reference, UNDER, SIMILAR))
    return np.where(np.isnan(low) | np.isnan(high), NOT_SHOWN, labels)


def representation(
    df: pd.DataFrame,
    group_col: str,
    count_col: str,
    denominator_col: str,
    *,
    kind: str = "rate",
    per: float = 1000.0,
    area_count: float | None = None,
    area_denominator: float | None = None,
) -> tuple[pd.DataFrame, float]:
    """Per-group rate (``kind='rate'``, Poisson) or percentage (``kind='proportion'``, Wilson) with 95% CIs,
    compared with the area rate.

    The area rate is ``area_count / area_denominator`` when given (so hidden small groups still count
    towards it), else the sum over the rows shown. Returns (table, area rate); the table has
    ``group, count, denominator, rate, ci_low, ci_high, ratio_to_area, share_of_count, share_of_population,
    representation``. Rates are per ``per``; proportions are percentages.
    """
    data = df[[group_col, count_col, denominator_col]].copy()
    counts = pd.to_numeric(data[count_col], errors="coerce")
    denominators = pd.to_numeric(data[denominator_col], errors="coerce")
    if area_count is None:
        area_count = float(counts.sum(skipna=True))
    if area_denominator is None:
        area_denominator = float(denominators.sum(skipna=True))
    scale = per if kind == "rate" else 100.0
    area_rate = area_count / area_denominator * scale if area_denominator else float("nan")

    if kind == "rate":
        rate, low, high = poisson_rate_interval(counts, denominators, per=per)
    elif kind == "proportion":
        p, lo, hi = wilson_interval(counts, denominators)
        rate, low, high = p * 100, lo * 100, hi * 100
    else:
        raise ValueError("kind must be 'rate' or 'proportion'")

    out = pd.DataFrame({
        "group": data[group_col].to_numpy(),
        "count": counts.to_numpy(),
        "denominator": denominators.to_numpy(),
        "rate": rate,
        "ci_low": low,
        "ci_high": high,
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio_to_area"] = out["rate"] / area_rate if area_rate else np.nan
        out["share_of_count"] = out["count"] / area_count * 100 if area_count else np.nan
        out["share_of_population"] = out["denominator"] / area_denominator * 100 if area_denominator else np.nan
    out["representation"] = classify(out["ci_low"], out["ci_high"], area_rate)
    return out, area_rate
