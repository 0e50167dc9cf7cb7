"""Browser-test fixtures: a real portal server over the small demo data, and headless Chromium.

- ``portal_server``: ``python -m portal serve`` (so the demo users are made exactly as in production)
  on a free port, over a private copy of the ``small_demo`` data directory with its own user store. It runs
  as production on a 2-core machine does: two server processes behind HAProxy (``--workers 2``), so every
  browser test also proves that sign-in, reloads, downloads and uploads hold across the pool.
  ``SEND_PORTAL_TEST_SERVER_WORKERS=1`` tests a single process instead.
- ``browser`` / ``page``: Playwright driving Debian's /usr/bin/chromium.
- ``login(page, username, password, path="/")``: sign in through the form, wait for the signed-in page.
- ``make_user(role, **scope)``: a fresh user in the server's store, for tests that lock, disable or
  change a user (so they never disturb the demo users other tests rely on).
- ``axe_violations(page)``: axe-core's WCAG 2.2 A/AA violations on the current page.
- ``screenshot(page, name)``: a PNG under test-artifacts/screenshots/.
"""
from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal import config, ops
from portal.demo_users import DEMO_USERS, demo_password
from portal.server_process import serving
from tests.browser.helpers import COUNT_SCRIPT_RUNS, wait_for_portal, wait_until_idle

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE_JS = config.REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = config.REPO_ROOT / "test-artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Folders of the demo data directory the server does not need (raw and landed feeds).
_NOT_COPIED = {"ops", "feeds", "landed", "quarantine", "uploads"}


@dataclass(frozen=True)
class PortalServer:
    base_url: str
    data_dir: Path
    log: Path

    @property
    def ops_db(self) -> Path:
        return self.data_dir / "ops" / "portal.sqlite"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)


def _data_dir_holding_marts(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if (candidate / "marts" / "CURRENT").exists():
            return candidate
    raise RuntimeError(f"small_demo ({path}) is not inside a data directory with published marts")


@pytest.fixture(scope="session")
def portal_server(small_demo, tmp_path_factory) -> PortalServer:
    source = _data_dir_holding_marts(Path(getattr(small_demo, "data_dir", small_demo)))
    data_dir = tmp_path_factory.mktemp("browser-portal") / "data"
    shutil.copytree(source, data_dir, ignore=lambda folder, names: (
        [n for n in names if n in _NOT_COPIED] if Path(folder) == source else []))
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "browser-portal-server.log"
    workers = os.environ.get("SEND_PORTAL_TEST_SERVER_WORKERS", "2")
    with serving(data_dir, log, "--workers", workers) as base_url:
        yield PortalServer(base_url, data_dir, log)


@pytest.fixture(scope="session")
def demo_users(portal_server) -> dict[str, tuple[str, str]]:
    """{role: (username, password)} for the demo users the server created."""
    return {role: (username, demo_password(username)) for username, _name, role in DEMO_USERS}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell in teardown that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _screenshot_failure(request, contexts) -> None:
    """A failed browser test leaves a full-page screenshot of every page it had open: in CI that picture
    is often the only way to see what the browser showed when a wait ran out."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    folder = ARTIFACTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(p for context in contexts for p in context.pages):
        try:
            page.screenshot(path=str(folder / f"{request.node.name}-{n}.png"), full_page=True, timeout=10_000)
        except Exception:  # a crashed page has nothing to show; the test's own error says why
            pass


@pytest.fixture
def new_context(browser, request):
    """Make extra browser contexts (separate cookie jars: another browser, another person)."""
    contexts = []

    def make(**kwargs):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **kwargs)
        context.set_default_timeout(30_000)
        context.add_init_script(COUNT_SCRIPT_RUNS)
        contexts.append(context)
        return context

    yield make
    _screenshot_failure(request, contexts)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def login(portal_server):
    def sign_in(page, username: str, password: str, path: str = "/"):
        page.goto(portal_server.url(path))
        wait_for_portal(page)
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        try:
            # The first run after the server starts imports the data stack, which takes a while.
            page.get_by_role("button", name="Sign out").wait_for(timeout=90_000)
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"login-failed-{username}.png"), full_page=True)
            raise
        wait_until_idle(page)
        return page

    return sign_in


_user_numbers = itertools.count(1)


@pytest.fixture
def make_user(portal_server):
    def make(role: str, **scope) -> tuple[str, str]:
        username = f"browser-{role}-{os.getpid()}-{next(_user_numbers)}"
        password = f"{username}-secret"
        if role == "gp":
            scope.setdefault("practice_code", _first(portal_server, "SELECT min(practice_code) FROM dim_practice"))
        if role == "clinician":
            scope.setdefault("service", "ASD")
            scope.setdefault("locality", _first(portal_server, "SELECT min(locality) FROM dim_locality"))
        ops.add_user(username, password, role, f"Browser {role.title()}", path=portal_server.ops_db, **scope)
        return username, password

    return make


def _first(server: PortalServer, sql: str):
    from portal import store

    cursor, _version = store.MartReader(server.data_dir / "marts").cursor()
    return cursor.execute(sql).fetchone()[0]


@pytest.fixture
def axe_violations():
    if not AXE_JS.exists():
        pytest.fail("axe-core is not installed: run `npm ci` in the repository root")
    script = AXE_JS.read_text()

    def run(page, within: str = "document") -> list[dict]:
        """axe-core's WCAG 2.2 A/AA violations on the page, or only inside the ``within`` selector."""
        # The portal's repairs of the framework's own faults (portal/a11y.py) run as its sidebar is drawn;
        # check the page a user is given, once they have run.
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stSidebar\"]')"
                               " || document.documentElement.dataset.portalA11yRepairs === 'on'", timeout=15_000)
        page.add_script_tag(content=script)
        return page.evaluate(
            """async ([tags, within]) => {
                const context = within === 'document' ? document : {include: [[within]]};
                const result = await axe.run(context, {runOnly: {type: 'tag', values: tags}});
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' '))}));
            }""", [WCAG_TAGS, within])

    return run


@pytest.fixture
def screenshot():
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
