"""Every chart every page draws is valid Vega-Lite.

The portal draws charts without Altair's schema check (it cost about 30 ms a chart on every rerun, see
portal.ui.draw_chart); this test is where that check happens instead: each page runs in AppTest over the
small demo as a role that may open it, and each chart spec it sends is validated against the Vega-Lite
JSON schema Altair ships.
"""
from __future__ import annotations

import json

import jsonschema
import pytest
from altair.vegalite.v5.schema.core import load_schema

from portal import navigation
from tests.conftest import run_page_as
from tests.journey_checks import CHARTED_ON_OPENING, users

# The role each page is opened as: the first role in this order that may see it.
ROLE_ORDER = ("commissioner", "analyst", "gp", "admin", "clinician")
# Home and the Help centre draw no charts, and their page links need the whole app's navigation, which a
# single page run in AppTest does not have (tests/browser covers them).
PAGE_FILES = [spec.path.removeprefix("pages/").removesuffix(".py") for spec in navigation.PAGES
              if spec.path not in ("pages/home.py", "pages/help_centre.py")]


@pytest.fixture(scope="module")
def validator():
    schema = load_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def _role_for(page: str) -> str:
    spec = next(s for s in navigation.PAGES if s.path == f"pages/{page}.py")
    return next(role for role in ROLE_ORDER if spec.allows(role))


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_chart_on_the_page_is_valid_vega_lite(page, on_small_demo, validator):
    at = run_page_as(page, users()[_role_for(page)])
    assert not at.exception, at.exception
    charts = at.get("arrow_vega_lite_chart")
    if page in CHARTED_ON_OPENING:
        assert charts, f"{page} drew no chart"
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        problems = sorted(validator.iter_errors(spec), key=lambda e: list(e.path))
        assert not problems, f"{page}: {problems[0].message} at {list(problems[0].path)}"


def test_the_check_finds_an_invalid_chart(validator):
    """The validator really rejects a chart Vega-Lite would not draw (so a pass above means something)."""
    broken = {"mark": "rectangle", "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    assert list(validator.iter_errors(broken))
