"""Download the latest DfE releases from the explore-education-statistics (EES) public API.

The API (https://api.education.gov.uk/statistics/v1) is documented at
https://dfe-analytical-services.github.io/explore-education-statistics-api-docs/. Used here:

* ``GET /publications?search=..&page=..&pageSize=..`` -> ``{"results": [{"id", "title", "slug", ...}],
  "paging": {"page", "pageSize", "totalResults", "totalPages"}}``
* ``GET /publications/{id}/data-sets?page=..`` -> ``{"results": [{"id", "title", "status",
  "latestVersion": {"version", "published", ...}}], "paging": {...}}``
* ``GET /data-sets/{id}/meta`` -> ``{"indicators": [{"id", "column", "label", "unit"}], ...}``
* ``GET /data-sets/{id}/csv`` -> the data set as CSV, in the same layout as the release's data files.

Only data sets whose columns include an indicator configured in ``indicators.yaml`` are downloaded. Each
CSV is saved with a ``.meta.json`` beside it (data set id, title, version, publication date), which the
loader reads for the indicator's "last updated" date.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import requests

from portal import config
from portal.public import specs

PAGE_SIZE = 40
TIMEOUT = (10, 120)  # connect, read (seconds): the CSVs can be tens of megabytes
USABLE_STATUSES = {"published", "deprecated"}  # deprecated still serves data; withdrawn does not


class FetchError(RuntimeError):
    """The API could not be reached or answered unexpectedly; the message says what and where."""


@dataclass
class Fetched:
    folder: Path
    api_url: str
    files: list[Path] = field(default_factory=list)
    report: list[str] = field(default_factory=list)


def wanted_columns() -> set[str]:
    return {ind["column"] for spec in specs.specs()["ees"] for ind in spec["indicators"]}


class Client:
    def __init__(self, api_url: str, session: requests.Session | None = None):
        self.api_url = api_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "send-insight-portal (public statistics fetch)")

    def _get(self, path: str, params: dict | None = None) -> requests.Response:
        url = f"{self.api_url}/{path.lstrip('/')}"
        try:
            response = self.session.get(url, params=params, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise FetchError(f"could not reach {url} ({exc.__class__.__name__}); are you online?") from None
        if response.status_code != 200:
            raise FetchError(f"{url} answered HTTP {response.status_code}")
        return response

    def get_json(self, path: str, params: dict | None = None) -> dict:
        response = self._get(path, params)
        try:
            return response.json()
        except ValueError:
            raise FetchError(f"{response.url} did not answer with JSON") from None

    def paged(self, path: str, params: dict | None = None) -> list[dict]:
        results, page = [], 1
        while True:
            body = self.get_json(path, dict(params or {}, page=page, pageSize=PAGE_SIZE))
            if not isinstance(body.get("results"), list) or not isinstance(body.get("paging"), dict):
                raise FetchError(f"{self.api_url}/{path} answered without 'results' and 'paging'")
            results += body["results"]
            if page >= int(body["paging"].get("totalPages", 1)):
                return results
            page += 1

    def publication(self, title: str) -> dict | None:
        found = self.paged("publications", {"search": title})
        return next((p for p in found if p.get("title", "").strip().casefold() == title.strip().casefold()), None)

    def data_sets(self, publication_id: str) -> list[dict]:
        return self.paged(f"publications/{publication_id}/data-sets")

    def columns(self, data_set_id: str) -> set[str]:
        meta = self.get_json(f"data-sets/{data_set_id}/meta")
        return {i.get("column") for i in meta.get("indicators", []) if isinstance(i, dict)}

    def csv(self, data_set_id: str) -> bytes:
        return self._get(f"data-sets/{data_set_id}/csv").content


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")[:80] or "data_set"


def fetch_latest(api_url: str | None = None, into: Path | None = None,
                 publications: list[str] | None = None) -> Fetched:
    settings = specs.specs().get("fetch", {})
    api_url = api_url or settings.get("api_url")
    folder = Path(into or config.data_dir() / "downloads" / "ees" / dt.date.today().isoformat())
    folder.mkdir(parents=True, exist_ok=True)
    client = Client(api_url)
    wanted = wanted_columns()
    fetched = Fetched(folder=folder, api_url=api_url)
    for title in publications or settings.get("publications", []):
        publication = client.publication(title)
        if publication is None:
            fetched.report.append(f"not found: publication {title!r}")
            continue
        for data_set in client.data_sets(publication["id"]):
            name = data_set.get("title", data_set.get("id"))
            if str(data_set.get("status", "")).casefold() not in USABLE_STATUSES:
                fetched.report.append(f"skipped: {name} ({data_set.get('status')})")
                continue
            if not client.columns(data_set["id"]) & wanted:
                fetched.report.append(f"skipped: {name} (no configured indicator)")
                continue
            target = folder / f"{_slug(publication.get('slug') or title)}__{_slug(name)}.csv"
            target.write_bytes(client.csv(data_set["id"]))
            latest = data_set.get("latestVersion") or {}
            target.with_suffix(".meta.json").write_text(json.dumps({
                "publication": publication.get("title"), "publication_id": publication.get("id"),
                "data_set_id": data_set["id"], "title": name, "version": latest.get("version"),
                "published": latest.get("published"), "api_url": api_url,
            }, indent=2))
            fetched.files.append(target)
            fetched.report.append(f"downloaded: {name} (version {latest.get('version')}, "
                                  f"published {str(latest.get('published', ''))[:10]}) -> {target.name}")
    if not fetched.files:
        raise FetchError("no data set with a configured indicator was found: " + "; ".join(fetched.report or ["nothing"]))
    return fetched
