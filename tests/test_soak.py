"""A short soak in CI: 10 websocket-level sessions sign in, open every page once (warm-up), then change
filters and open pages until 60 seconds have passed,
against a real portal server on the small demo; no session may see an error and server memory may not
keep growing after the warm-up. The full soak (50 sessions, 10 minutes, county data) is ``python -m bench soak``."""
from __future__ import annotations

import shutil

import pytest

from bench.soak import describe, judge, soak

pytestmark = pytest.mark.timeout(900)

SESSIONS = 10
SECONDS = 60


def test_short_soak_has_no_errors_and_no_memory_growth(small_demo, tmp_path, monkeypatch):
    data = tmp_path / "small"
    shutil.copytree(small_demo, data)  # the soak adds demo users; keep the shared fixture untouched
    monkeypatch.setenv("SEND_PORTAL_DATA_DIR", str(data))

    result = soak(data, users=SESSIONS, seconds=SECONDS, think_s=(0.5, 1.5), sample_every_s=0.5)
    print(describe(result))

    problems = judge(result, growth_bound_mb=100, min_actions_per_user=3)
    assert not problems, describe(result) + "\n" + "\n".join(problems)
    kinds = {action.kind for action in result.actions}
    assert {"login", "filter", "page"} <= kinds, f"the soak must exercise filters and pages, did {kinds}"
    pages = {action.page for action in result.actions if action.kind in ("page", "warm-up")}
    assert len(pages) >= 3, f"the soak visited too few pages: {pages}"
