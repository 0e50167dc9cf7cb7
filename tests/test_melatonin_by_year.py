"""The melatonin trend reads a person-year aggregate (agg_melatonin_year); it must give exactly what counting
distinct children over every prescription month gives, for every breakdown and any filters."""
from __future__ import annotations

import dataclasses
import random
import re

import pytest

from portal import filters as global_filters
from portal import queries, store
from portal.filters import as_of_date

# The query as it was before the aggregate: every prescription month, years counted back from $as_of here.
FROM_PRESCRIPTION_MONTHS = """
  SELECT person_key, items,
         date_diff('month', month, date_trunc('month', $as_of)) // 12 AS years_back,
"""


def _reference(spec: queries.QuerySpec) -> queries.QuerySpec:
    sql, reads = re.subn(r"SELECT person_key, items, years_back,", FROM_PRESCRIPTION_MONTHS.strip(), spec.sql)
    sql, scans = re.subn(r"FROM agg_melatonin_year\s+WHERE \{\{ filters \}\}",
                         "FROM fct_melatonin_prescriptions WHERE month <= $as_of AND {{ filters }}", sql)
    assert reads == scans == 1, "the query no longer reads agg_melatonin_year as this test expects"
    return dataclasses.replace(spec, sql=sql)


@pytest.mark.parametrize("by", queries.load_query("melatonin_prescribing_by_year").params["by"].allowed)
def test_the_trend_from_the_yearly_aggregate_equals_counting_every_prescription_month(on_small_demo, by):
    spec = queries.load_query("melatonin_prescribing_by_year")
    reference = _reference(spec)
    version = store.current_version()
    cursor, _ = store.reader().cursor(version)
    base = queries._as_filters(None, version)
    localities = [row[0] for row in cursor.execute("SELECT locality FROM dim_locality").fetchall()]
    choices = {"locality": localities, "age_band": global_filters.AGE_BANDS, "sex": global_filters.SEXES,
               "ethnicity": global_filters.ETHNICITIES, "imd_quintile": [1, 3, 5],
               "send_status": ["EHCP", "SEN support", "No SEND"], "primary_need": ["ASD", "SEMH", "None"]}
    rng = random.Random(by)
    combinations = [base] + [dataclasses.replace(base, **{name: rng.choice(values)}) for name, values in choices.items()]
    combinations += [dataclasses.replace(base, **{k: rng.choice(v) for k, v in choices.items() if rng.random() < 0.4})
                     for _ in range(8)]
    compared = 0
    for chosen in combinations:
        ours = cursor.execute(*queries._render(spec, chosen, {"by": by}, {}, as_of_date(version))).df()
        expected = cursor.execute(*queries._render(reference, chosen, {"by": by}, {}, as_of_date(version))).df()
        assert ours.equals(expected), (by, chosen)
        compared += len(expected)
    assert compared > 0, "no combination had any rows: the check compared nothing"
