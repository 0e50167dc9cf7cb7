"""``public fetch``: the explore-education-statistics API client, against saved responses served over
real HTTP on localhost (tests run offline)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pandas as pd
import pytest

from portal.public import fetch, loader

FIXTURES = Path(__file__).parent / "fixtures" / "ees_api"
REPO = Path(__file__).resolve().parents[1]


class SavedResponses(BaseHTTPRequestHandler):
    routes = json.loads((FIXTURES / "routes.json").read_text())
    requested: list[str] = []
    fail_with: int | None = None

    def do_GET(self):  # noqa: N802 (the http.server name)
        parts = urlsplit(self.path)
        key = parts.path + ("?" + urlencode(sorted(parse_qsl(parts.query))) if parts.query else "")
        type(self).requested.append(key)
        name = self.routes.get(key)
        if self.fail_with or name is None:
            self.send_response(self.fail_with or 404)
            self.end_headers()
            return
        body = (FIXTURES / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv" if name.endswith(".csv") else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    SavedResponses.requested = []
    SavedResponses.fail_with = None
    server = ThreadingHTTPServer(("127.0.0.1", 0), SavedResponses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_downloads_only_data_sets_with_configured_indicators(api, tmp_path):
    done = fetch.fetch_latest(api_url=api, into=tmp_path / "dl")
    assert sorted(p.name for p in done.files) == [
        "education_health_and_care_plans__ehc_plans_in_place_in_january.csv",
        "education_health_and_care_plans__ehc_plans_issued_within_20_weeks.csv",
    ]
    report = "\n".join(done.report)
    assert "skipped: Personal budgets (no configured indicator)" in report
    assert "skipped: EHC plans (2023 edition) (Withdrawn)" in report
    assert "skipped: SEN pupils by school type (no configured indicator)" in report
    assert "not found: publication 'Outcomes for children in need" in report
    # both pages of the publication's data sets were read; the withdrawn set's CSV was never asked for
    assert any("data-sets?page=2" in r for r in SavedResponses.requested)
    assert not any("9f1e2d3c" in r for r in SavedResponses.requested)
    meta = json.loads(sorted(done.files)[1].with_suffix(".meta.json").read_text())
    assert meta["published"].startswith("2025-06-26") and meta["version"] == "1.1"


def test_downloads_load_with_their_publication_date(api, tmp_path):
    done = fetch.fetch_latest(api_url=api, into=tmp_path / "dl")
    result = loader.load_folder(done.folder)
    rows = result.indicators.set_index(["indicator_id", "area_code", "period"])
    assert rows.loc[("ehcp_pct_issued_20_weeks", "891", "2024"), "value"] == 40.0
    assert rows.loc[("ehcp_pct_issued_20_weeks", "E92000001", "2024"), "value"] == 46.7   # not the Female row
    nottingham = rows.loc[("ehcp_pct_issued_20_weeks", "892", "2024")]
    assert pd.isna(nottingham.value) and nottingham.symbol == "c"
    assert rows.loc[("ehcp_pct_special_school", "892", "2024/25"), "symbol"] == "z"
    catalogue = result.catalogue.set_index("indicator_id")
    assert catalogue.loc["ehcp_pct_issued_20_weeks", "last_updated"] == "2025-06-26"
    assert not any(".meta.json" in s for s in result.skipped)


def _cli(*args, data_dir):
    env = dict(os.environ, SEND_PORTAL_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "portal", "public", "fetch", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_fetch_command_downloads_loads_and_publishes(api, tiny_marts, tmp_path):
    done = _cli("--api-url", api, data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert "downloaded: EHC plans issued within 20 weeks (version 1.1, published 2025-06-26)" in done.stdout
    assert "Published mart version" in done.stdout
    saved = list((tmp_path / "data" / "downloads" / "ees").glob("*/*.csv"))
    assert len(saved) == 2
    published = pd.read_parquet(tmp_path / "data" / "public" / "public_indicators.parquet")
    assert set(published.indicator_id) >= {"ehcp_plans_in_place", "ehcp_pct_issued_20_weeks"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_says_so_plainly(tmp_path):
    with pytest.raises(fetch.FetchError, match="could not reach http://127.0.0.1:.*are you online"):
        fetch.fetch_latest(api_url=f"http://127.0.0.1:{_closed_port()}/v1", into=tmp_path / "dl")
    done = _cli("--api-url", f"http://127.0.0.1:{_closed_port()}/v1", data_dir=tmp_path / "data")
    assert done.returncode == 1 and done.stderr.startswith("Could not fetch: could not reach")
    assert "Traceback" not in done.stderr


def test_server_error_names_the_request(api, tmp_path):
    SavedResponses.fail_with = 503
    with pytest.raises(fetch.FetchError, match=r"/v1/publications answered HTTP 503"):
        fetch.fetch_latest(api_url=api, into=tmp_path / "dl")
