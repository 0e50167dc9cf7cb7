"""portal.memo: the shared LRU, and results of pure table functions kept by the tables' content."""
from __future__ import annotations

import threading

import pandas as pd

from portal import memo, ui


def test_lru_forgets_the_least_recently_used_first():
    cache = memo.LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def _counting():
    calls = []

    @memo.by_content(size=8)
    def describe(table: pd.DataFrame) -> bytes:
        calls.append(1)
        return table.to_csv(index=False).encode()

    return describe, calls


def test_an_equal_table_built_again_is_a_hit():
    describe, calls = _counting()
    first = describe(pd.DataFrame({"area": ["North", "South"], "n": [10, 20]}))
    again = describe(pd.DataFrame({"area": ["North", "South"], "n": [10, 20]}))
    assert first == again and len(calls) == 1


def test_any_difference_a_reader_could_see_is_a_miss():
    describe, calls = _counting()
    base = pd.DataFrame({"area": ["North", "South"], "n": [10, 20]})
    variants = [
        base.assign(n=[10, 25]),                       # a value
        base.assign(n=[10.0, 20.0]),                   # a type: 10 and 10.0 are written differently
        base[["n", "area"]],                           # column order
        base.rename(columns={"n": "Children"}),        # a heading
        base.iloc[::-1],                               # row order
        base.assign(n=["10", "20"]),                   # numbers as text
    ]
    results = {describe(frame) for frame in [base, *variants]}
    assert len(calls) == 1 + len(variants)
    assert describe(base) in results and len(calls) == 1 + len(variants)  # the first is still kept


def test_the_other_arguments_are_part_of_the_key():
    first = ui.excel_bytes(pd.DataFrame({"n": [1]}), {"Title": "One"})
    second = ui.excel_bytes(pd.DataFrame({"n": [1]}), {"Title": "Two"})
    assert first != second


def test_results_are_shared_safely_between_threads():
    describe, calls = _counting()
    frames = [pd.DataFrame({"n": [i % 5]}) for i in range(200)]
    results: list[bytes] = []

    def work(chunk):
        results.extend(describe(frame) for frame in chunk)

    threads = [threading.Thread(target=work, args=(frames[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(f"n\n{i % 5}\n".encode() for i in range(200))
    assert len(calls) < 200


def _kept_values():
    return list(ui._kept_html_table_parts.cache._data.values())


def _clear_kept():
    for cache in (ui._kept_html_table_parts.cache, ui._kept_vega_lite_spec.cache):
        cache.clear()


def test_record_level_and_identifiable_tables_are_never_kept(on_small_demo):
    """Shared caches hold only figures every user of a page sees alike; a clinician's own list (record level)
    and a GP's cohort (identifiable) must not outlive the page that shows them."""
    from tests.conftest import run_page_as
    from tests.journey_checks import users

    _clear_kept()
    everyone = users()
    gp_page = run_page_as("gp_cohort_finder", everyone["gp"])
    assert not gp_page.exception, gp_page.exception
    assert gp_page.get("arrow_table") or gp_page.dataframe, "the cohort list was drawn"
    assert _kept_values() == [] and len(ui._kept_vega_lite_spec.cache) == 0

    clinician_page = run_page_as("waiting_lists", everyone["clinician"])
    assert not clinician_page.exception, clinician_page.exception
    assert any("Your list" in header.value for header in clinician_page.header)
    kept = _kept_values()
    assert kept, "the page's aggregate blocks are kept"
    assert not any(b"Pseudonymous ID" in part for value in kept if isinstance(value, tuple) for part in value)


def test_arguments_that_cannot_be_pickled_are_computed_each_time_not_kept():
    calls = []

    @memo.by_content(size=8)
    def name_of(thing) -> str:
        calls.append(1)
        return thing.__name__

    def local_function():  # a function defined in a function cannot be pickled
        pass

    assert name_of(local_function) == name_of(local_function) == "local_function"
    assert len(calls) == 2 and len(name_of.cache) == 0


def test_a_copied_result_changed_by_one_caller_is_not_seen_by_the_next():
    calls = []

    @memo.by_content(size=8, copied=True)
    def totals(table: pd.DataFrame) -> pd.DataFrame:
        calls.append(1)
        return table.groupby("area", as_index=False)["n"].sum()

    table = pd.DataFrame({"area": ["a", "a", "b"], "n": [1, 2, 3]})
    first = totals(table)
    first.loc[0, "n"] = 999
    second = totals(table.copy())
    assert len(calls) == 1
    assert list(second["n"]) == [3, 3]
