"""Feeds and the days they arrived, as people read them (portal/freshness.py), on the home page too."""
from __future__ import annotations

from portal import contracts, freshness
from portal.journeys import home


def test_every_feed_is_named_by_its_contracts_title():
    for feed, contract in contracts.load_contracts().items():
        assert freshness.feed_title(feed) == contract.title
    assert freshness.feed_title("sen2_casework") == "EHCP casework (SEN2)"
    assert freshness.feed_title("an_old_feed") == "an old feed"  # an old manifest may name one no longer kept


def test_days_are_written_out_and_anything_else_is_left_alone():
    assert freshness.received_text("2026-11-05") == "5 November 2026"
    assert freshness.received_text("not recorded") == "not recorded"
    assert freshness.feed_received("gp_registrations", "2026-11-01") == \
        "GP registrations (the linkage spine) (gp_registrations), last received 1 November 2026"


def test_home_lists_feeds_by_title_oldest_first():
    rows = home.freshness_rows({"send_register": "2026-11-20", "gp_registrations": "2026-10-02",
                                "surveys": "not recorded"})
    assert rows.to_dict("records") == [
        {"Feed": "GP registrations (the linkage spine)", "Last received": "2 October 2026"},
        {"Feed": "SEND register (EHCP and SEN support)", "Last received": "20 November 2026"},
        {"Feed": "Parent and young-person surveys", "Last received": "not recorded"},
    ]
    assert list(home.freshness_rows({}).columns) == ["Feed", "Last received"]
