"""The named-query runner: every number a page shows comes through here.

Interface::

    from portal import queries
    result = queries.run("people_by_locality", user, filters, **params)
    result.df                # pandas; aggregate output already suppressed for the user's role
    result.suppressed_cells  # bool frame, same shape: which cells were hidden (see portal/suppression.py)
    result.suppressed        # True if any cell was hidden
    result.query             # the QuerySpec: title, description, indicator {meaning, source_feeds, caveats}
    result.version           # the store.MartVersion read (manifest: built_at, as_of, ...)
    result.as_of             # the data's snapshot date
    result.feed_refresh      # {feed: last received date} for the query's source feeds
    result.display_df()      # the frame tables and downloads show (hidden cells as "*")

Errors are ``QueryError`` subclasses whose message is safe to show a user: ``UnknownQuery``,
``ForbiddenQuery`` (role not allowed, or account lacks its scope), ``ScopeViolation`` (a caller tried to
choose the practice/service/locality of a scoped query), ``BadParameter``, ``MartsUnavailable``,
``QueryFailed``.

A query file (``queries/<name>.yaml``, format in docs/architecture.md) declares its parameters, roles,
output kind (``aggregate``, ``record`` = pseudonymous rows, ``identifiable`` = with NHS number, name, date
of birth), the global filters it honours, how suppression applies, and its role scope. The runner:

1. checks the user's role against ``roles``;
2. validates every parameter against its declaration (type, allowed values, range, length), refuses
   undeclared ones, and binds them as ``$name`` values; no value is ever formatted into SQL;
3. replaces ``{{ filters }}`` with fixed predicates for the declared global filters (column names from
   the allow-list :data:`FILTER_COLUMNS`), bound as ``$f_<filter>``, and ``$period_start``/``$period_end``;
4. replaces ``{{ scope }}`` with the scope predicate built from the server-side ``User``
   (``practice_code = $scope_practice_code`` for ``scope: practice``; ``service = $scope_service AND
   locality = $scope_locality`` for ``scope: service_locality``);
5. for ``output: identifiable`` (gp only, always practice-scoped) makes ``identifiable_persons`` available
   as a view on that query's cursor only, and writes an ``identifiable_query`` audit event before returning
   any row (if the audit cannot be written, nothing is returned); ``output: published`` (national
   statistics, public already) is never suppressed;
6. suppresses aggregate output unless the role sees unsuppressed aggregates (analysts);
7. caches results keyed by query, parameters, role and scope, and mart version, so a publish is seen at
   once. Identifiable results are never cached, so identifiers do not linger in memory.

Always-available bind values: ``$period_start``, ``$period_end`` (from the filters) and ``$as_of`` (the mart
version's snapshot date).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import duckdb
import pandas as pd
import yaml

from portal import config, memo, sqltext, store, suppression
from portal.filters import FILTER_COLUMNS, Filters, allowed_values, as_of_date, default_filters, from_values
from portal.roles import CLINICIAN, GP, ROLES, User

log = logging.getLogger(__name__)

OUTPUTS = ("aggregate", "record", "identifiable", "published")  # published: national statistics, public already
SCOPES = {
    None: (),
    "practice": ("practice_code",),
    "service_locality": ("service", "locality"),
}
SCOPE_ROLE = {"practice": GP, "service_locality": CLINICIAN}
# Parameter names a caller may never supply to a scoped query: the scope comes from the account.
SCOPE_PARAM_NAMES = frozenset({"practice", "practice_code", "service", "locality", "scope"})
PARAM_TYPES = ("str", "int", "float", "bool", "date", "list")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_BIND_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COLUMN_RE = re.compile(r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$")
_TOP_KEYS = {
    "title", "description", "roles", "output", "filters", "period_column", "filter_table", "params",
    "suppress", "scope", "scope_columns", "indicator", "sql",
}
MAX_TEXT_LENGTH = 100
CACHE_SIZE = 512


# ----------------------------------------------------------------------------------------------- errors
class QueryError(Exception):
    """A query could not be run; the message is written for the person using the portal."""


class UnknownQuery(QueryError):
    pass


class ForbiddenQuery(QueryError):
    pass


class ScopeViolation(ForbiddenQuery):
    pass


class BadParameter(QueryError):
    pass


class MartsUnavailable(QueryError):
    pass


class QueryFailed(QueryError):
    pass


class QueryDefinitionError(ValueError):
    """A query file is malformed (a developer's mistake, caught by the tests that load every file)."""


# ------------------------------------------------------------------------------------------------ specs
@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str = "str"
    allowed: tuple | None = None
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int = MAX_TEXT_LENGTH
    label: str | None = None

    def coerce(self, raw: Any) -> Any:
        """The validated value, or BadParameter. Strings (from the CLI or a URL) are converted."""
        if raw is None:
            if self.required:
                raise BadParameter(f"Please choose a value for {self.display}.")
            return self.default
        try:
            value = _COERCE[self.type](raw, self)
        except BadParameter:
            raise
        except (TypeError, ValueError):
            raise BadParameter(f"{self.display} must be {_TYPE_WORDS[self.type]}; {_show(raw)} is not.")
        if self.allowed is not None:
            values = value if self.type == "list" else [value]
            for item in values:
                if item not in self.allowed:
                    choices = ", ".join(str(a) for a in self.allowed)
                    raise BadParameter(f"{self.display} must be one of: {choices}; {_show(item)} is not.")
        if self.type in ("int", "float"):
            if self.min is not None and value < self.min:
                raise BadParameter(f"{self.display} must be at least {self.min}.")
            if self.max is not None and value > self.max:
                raise BadParameter(f"{self.display} must be at most {self.max}.")
        return value

    @property
    def display(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


def _to_str(raw, spec: ParamSpec) -> str:
    if not isinstance(raw, str):
        raise TypeError
    if len(raw) > spec.max_length or any(ord(ch) < 32 for ch in raw):
        raise BadParameter(f"{spec.display} is too long or holds characters that are not allowed.")
    return raw


def _to_int(raw, spec: ParamSpec) -> int:
    if isinstance(raw, bool):
        raise TypeError
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,12}", raw.strip()):
        return int(raw)
    raise ValueError


def _to_float(raw, spec: ParamSpec) -> float:
    if isinstance(raw, bool):
        raise TypeError
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,12}(\.\d{1,12})?", raw.strip()):
        value = float(raw)
    else:
        raise ValueError
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    return value


def _to_bool(raw, spec: ParamSpec) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "1"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "no", "0"):
        return False
    raise ValueError


def _to_date(raw, spec: ParamSpec) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        return dt.date.fromisoformat(raw.strip())
    raise ValueError


def _to_list(raw, spec: ParamSpec) -> list[str]:
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    if not isinstance(raw, (list, tuple)) or len(raw) > 50:
        raise TypeError
    return [_to_str(item, spec) for item in raw]


_COERCE = {"str": _to_str, "int": _to_int, "float": _to_float, "bool": _to_bool, "date": _to_date, "list": _to_list}
_TYPE_WORDS = {
    "str": "text", "int": "a whole number", "float": "a number", "bool": "yes or no",
    "date": "a date (YYYY-MM-DD)", "list": "a list of choices",
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


@dataclass(frozen=True)
class QuerySpec:
    name: str
    title: str
    description: str
    roles: tuple[str, ...]
    output: str
    sql: str
    filters: tuple[str, ...] = ()
    period_column: str | None = None
    filter_table: str | None = None
    params: dict[str, ParamSpec] = field(default_factory=dict)
    suppress: suppression.SuppressionSpec | None = None
    scope: str | None = None
    scope_columns: dict[str, str] = field(default_factory=dict)
    indicator: dict = field(default_factory=dict)
    digest: str = ""

    @property
    def aggregate(self) -> bool:
        return self.output == "aggregate"

    @property
    def source_feeds(self) -> list[str]:
        return list(self.indicator.get("source_feeds") or [])


def queries_dir() -> Path:
    return config.QUERIES_DIR


def list_queries() -> list[str]:
    return sorted(p.stem for p in queries_dir().glob("*.yaml"))


_spec_cache: dict[tuple[str, float], QuerySpec] = {}


def load_query(name: str) -> QuerySpec:
    """Load and check ``queries/<name>.yaml`` (re-read when the file changes)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise UnknownQuery("There is no query with that name.")
    path = queries_dir() / f"{name}.yaml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise UnknownQuery(f"There is no query named {name!r}.") from None
    key = (str(path), mtime)
    if key not in _spec_cache:
        text = path.read_text()
        _spec_cache[key] = parse_query(name, text)
    return _spec_cache[key]


def parse_query(name: str, text: str) -> QuerySpec:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QueryDefinitionError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise QueryDefinitionError(f"{name}: a query file must be a mapping")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise QueryDefinitionError(f"{name}: unknown keys {sorted(unknown)}")
    for key in ("title", "roles", "output", "sql"):
        if not doc.get(key):
            raise QueryDefinitionError(f"{name}: '{key}' is required")

    roles = tuple(doc["roles"])
    if not set(roles) <= set(ROLES):
        raise QueryDefinitionError(f"{name}: unknown roles {sorted(set(roles) - set(ROLES))}")
    output = doc["output"]
    if output not in OUTPUTS:
        raise QueryDefinitionError(f"{name}: output must be one of {OUTPUTS}")

    filters = tuple(doc.get("filters") or ())
    unknown_filters = set(filters) - set(FILTER_COLUMNS) - {"period"}
    if unknown_filters:
        raise QueryDefinitionError(f"{name}: unknown filters {sorted(unknown_filters)}")
    period_column = doc.get("period_column")
    if "period" in filters and not period_column:
        raise QueryDefinitionError(f"{name}: filter 'period' needs period_column")
    filter_table = doc.get("filter_table")
    for column in [c for c in (period_column, filter_table) if c]:
        if not _COLUMN_RE.match(column):
            raise QueryDefinitionError(f"{name}: {column!r} is not a plain column name")

    scope = doc.get("scope")
    if scope not in SCOPES:
        raise QueryDefinitionError(f"{name}: scope must be one of {list(SCOPES)}")
    scope_columns = {c: c for c in SCOPES[scope]}
    scope_columns.update(doc.get("scope_columns") or {})
    if set(scope_columns) != set(SCOPES[scope]) or not all(_COLUMN_RE.match(c) for c in scope_columns.values()):
        raise QueryDefinitionError(f"{name}: scope_columns must map {SCOPES[scope]} to plain column names")
    if scope and set(roles) != {SCOPE_ROLE[scope]}:
        raise QueryDefinitionError(f"{name}: scope {scope} is for the {SCOPE_ROLE[scope]} role only")
    if scope == "service_locality" and "locality" in filters:
        raise QueryDefinitionError(f"{name}: a service_locality query takes its locality from the account")
    if output == "identifiable" and (set(roles) != {GP} or scope != "practice"):
        raise QueryDefinitionError(f"{name}: identifiable output is for the gp role, scoped to the practice")

    params = {}
    for pname, pdecl in (doc.get("params") or {}).items():
        if not _NAME_RE.match(pname) or pname.startswith(("f_", "scope_")) or pname in (
                "period_start", "period_end", "as_of") or pname in FILTER_COLUMNS:
            raise QueryDefinitionError(f"{name}: parameter name {pname!r} is reserved or not a plain name")
        if scope and pname in SCOPE_PARAM_NAMES:
            raise QueryDefinitionError(f"{name}: a scoped query cannot take {pname!r} as a parameter")
        pdecl = dict(pdecl or {})
        ptype = pdecl.pop("type", "str")
        if ptype not in PARAM_TYPES:
            raise QueryDefinitionError(f"{name}: parameter {pname}: type must be one of {PARAM_TYPES}")
        allowed = pdecl.pop("allowed", None)
        try:
            spec = ParamSpec(name=pname, type=ptype, allowed=tuple(allowed) if allowed is not None else None, **pdecl)
            if spec.default is not None:
                object.__setattr__(spec, "default", spec.coerce(spec.default))
        except (TypeError, BadParameter) as exc:
            raise QueryDefinitionError(f"{name}: parameter {pname}: {exc}") from exc
        params[pname] = spec

    sql = doc["sql"]
    if filters and "{{ filters }}" not in sql:
        raise QueryDefinitionError(f"{name}: declares filters but its SQL has no {{{{ filters }}}}")
    if bool(scope) != ("{{ scope }}" in sql):
        raise QueryDefinitionError(f"{name}: {{{{ scope }}}} must appear in the SQL exactly when scope is set")
    known_binds = set(params) | {"period_start", "period_end", "as_of"}
    stray = set(_BIND_RE.findall(sql)) - known_binds
    if stray:
        raise QueryDefinitionError(f"{name}: SQL binds undeclared parameters {sorted(stray)}")

    block = doc.get("suppress")
    if output != "aggregate" and block:
        raise QueryDefinitionError(f"{name}: only aggregate output is suppressed")
    if output == "aggregate" and not (block and block.get("counts")):
        raise QueryDefinitionError(f"{name}: aggregate output must declare suppress.counts")
    try:
        suppress = suppression.SuppressionSpec.from_yaml(block) if output == "aggregate" else None
    except ValueError as exc:
        raise QueryDefinitionError(f"{name}: {exc}") from exc

    indicator = doc.get("indicator") or {}
    if not indicator.get("meaning") or not indicator.get("source_feeds"):
        raise QueryDefinitionError(f"{name}: indicator.meaning and indicator.source_feeds are required")
    unknown = set(indicator) - {"meaning", "source_feeds", "caveats", "columns"}
    if unknown:
        raise QueryDefinitionError(f"{name}: unknown indicator keys {sorted(unknown)}")
    columns = indicator.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise QueryDefinitionError(f"{name}: indicator.columns maps output columns to their meaning")

    return QuerySpec(
        name=name, title=doc["title"], description=doc.get("description", ""), roles=roles, output=output,
        sql=sql, filters=filters, period_column=period_column, filter_table=filter_table, params=params,
        suppress=suppress, scope=scope, scope_columns=scope_columns, indicator=indicator,
        digest=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


# ----------------------------------------------------------------------------------------------- result
@dataclass
class QueryResult:
    name: str
    query: QuerySpec
    df: pd.DataFrame
    suppressed_cells: pd.DataFrame
    version: store.MartVersion
    params: dict[str, Any]
    filters: Filters
    feed_refresh: dict[str, str]

    @property
    def suppressed(self) -> bool:
        return suppression.any_hidden(self.suppressed_cells)

    @property
    def as_of(self) -> dt.date:
        return as_of_date(self.version)

    def display_df(self) -> pd.DataFrame:
        """What tables and downloads show: the same rows, hidden cells as the suppression marker."""
        return suppression.for_display(self.df, self.suppressed_cells)


# ------------------------------------------------------------------------------------------------ cache
_cache = memo.LRU(CACHE_SIZE)
cache_stats = {"hits": 0, "misses": 0}


def clear_cache() -> None:
    _cache.clear()


# ------------------------------------------------------------------------------------------------- run
def run(name: str, user: User, filters: Filters | Mapping | None = None, **params) -> QueryResult:
    """Run a named query as ``user``; see the module docstring."""
    if not isinstance(user, User):
        raise ForbiddenQuery("Please sign in to see this.")
    spec = load_query(name)
    if user.role not in spec.roles:
        raise ForbiddenQuery(f"Your role ({user.role}) cannot see '{spec.title}'.")
    if spec.scope:
        offered = SCOPE_PARAM_NAMES & set(params)
        if offered:
            raise ScopeViolation(
                f"'{spec.title}' always shows your own {_scope_words(spec.scope)}; "
                f"it cannot be chosen ({', '.join(sorted(offered))})."
            )
    undeclared = set(params) - set(spec.params)
    if undeclared:
        raise BadParameter(f"'{spec.title}' has no setting called {', '.join(sorted(map(_show, undeclared)))}.")

    try:
        version = store.reader().version()
    except store.NoMartsError as exc:
        raise MartsUnavailable("The data has not been built yet. Please ask your administrator.") from exc
    except store.MartsUnavailableError as exc:
        log.error("marts unavailable: %s", exc)
        raise MartsUnavailable("The data is being updated or is unavailable. Please try again shortly.") from exc

    filters = _as_filters(filters, version)
    bound = {pname: pspec.coerce(params.get(pname)) for pname, pspec in spec.params.items()}
    scope_values = _scope_values(spec, user)
    sql, binds = _render(spec, filters, bound, scope_values, as_of_date(version))

    unsuppressed = user.sees_unsuppressed or not spec.aggregate
    # The role matters only through suppression and scope, so roles that see the same figures share them.
    cache_key = (spec.name, spec.digest, _freeze(binds), _freeze(scope_values), unsuppressed, str(version.path))
    cached = None if spec.output == "identifiable" else _cache.get(cache_key)
    if cached is not None:
        cache_stats["hits"] += 1
        shown, hidden = cached
    else:
        cache_stats["misses"] += 1
        raw = _execute(spec, sql, binds, version)
        if spec.aggregate and not unsuppressed:
            try:
                shown, hidden = suppression.suppress(raw, spec.suppress)
            except ValueError as exc:
                log.error("suppression of %s failed: %s", spec.name, exc)
                raise QueryFailed("These figures cannot be shown right now.") from exc
        else:
            shown = suppression.whole_counts(raw, spec.suppress) if spec.suppress else raw.reset_index(drop=True)
            hidden = pd.DataFrame(False, index=shown.index, columns=shown.columns)
        if spec.output != "identifiable":
            _cache.put(cache_key, (shown, hidden))
        else:
            _audit_identifiable(spec, user, binds, len(shown))
    return QueryResult(
        name=spec.name, query=spec, df=shown.copy(), suppressed_cells=hidden.copy(), version=version,
        params=bound, filters=filters, feed_refresh=feed_refresh_dates(version, spec.source_feeds),
    )


def _as_filters(filters: Filters | Mapping | None, version: store.MartVersion) -> Filters:
    """Filters as given, or built from URL-style values (strictly: a bad value is refused, not dropped)."""
    if filters is None:
        return default_filters(version)
    if isinstance(filters, Filters):
        return filters
    if isinstance(filters, Mapping):
        unknown = set(filters) - set(FILTER_COLUMNS) - {"period"}
        if unknown:
            raise BadParameter(f"There is no filter called {', '.join(sorted(map(_show, unknown)))}.")
        built, problems = from_values(filters, allowed_values(version), as_of_date(version))
        if problems:
            raise BadParameter(problems[0].split(";")[0] + ".")
        return built
    raise BadParameter("The filters could not be read.")


def _audit_identifiable(spec: QuerySpec, user: User, binds: dict, rows: int) -> None:
    """Every run of an identifiable query is logged before any identifier is returned (fail closed)."""
    try:
        from portal import ops

        ops.audit("identifiable_query", user.username, {
            "query": spec.name, "rows": rows, "practice": user.practice_code,
            "binds": {k: v for k, v in binds.items() if not k.startswith("scope_")},
        })
    except Exception as exc:
        log.exception("audit of identifiable query %s failed", spec.name)
        raise QueryFailed("This list cannot be shown because its access could not be recorded. "
                          "Please try again or tell your administrator.") from exc


def _scope_words(scope: str) -> str:
    return {"practice": "practice", "service_locality": "service and locality"}[scope]


def _scope_values(spec: QuerySpec, user: User) -> dict[str, str]:
    if spec.scope == "practice":
        if not user.practice_code:
            raise ForbiddenQuery("Your account is not linked to a GP practice. Please ask your administrator.")
        return {"scope_practice_code": user.practice_code}
    if spec.scope == "service_locality":
        if not (user.service and user.locality):
            raise ForbiddenQuery("Your account has no service and locality set. Please ask your administrator.")
        return {"scope_service": user.service, "scope_locality": user.locality}
    return {}


def _render(spec: QuerySpec, filters: Filters, bound: dict, scope_values: dict, as_of: dt.date):
    """The final SQL text (built only from the query file and allow-listed names) and its bind values."""
    prefix = f"{spec.filter_table}." if spec.filter_table else ""
    predicates, binds = [], {}
    for fname in spec.filters:
        if fname == "period":
            predicates.append(f"({spec.period_column} BETWEEN $period_start AND $period_end)")
            continue
        column = FILTER_COLUMNS[fname]
        predicates.append(f"($f_{fname} IS NULL OR {prefix}{column} = $f_{fname})")
        binds[f"f_{fname}"] = getattr(filters, fname)
    sql = spec.sql.replace("{{ filters }}", " AND ".join(predicates) or "TRUE")
    if spec.scope == "practice":
        sql = sql.replace("{{ scope }}", f"({spec.scope_columns['practice_code']} = $scope_practice_code)")
    elif spec.scope == "service_locality":
        sql = sql.replace(
            "{{ scope }}",
            f"({spec.scope_columns['service']} = $scope_service AND {spec.scope_columns['locality']} = $scope_locality)",
        )
    binds.update(bound)
    binds.update(scope_values)
    binds.update(period_start=filters.period_start, period_end=filters.period_end, as_of=as_of)
    used = set(_BIND_RE.findall(sql))
    return sql, {k: v for k, v in binds.items() if k in used}


def _execute(spec: QuerySpec, sql: str, binds: dict, version: store.MartVersion) -> pd.DataFrame:
    try:
        if spec.output == "identifiable":
            # Its own cursor, closed afterwards: the view of identifiable persons must not outlive the query.
            with contextlib.closing(store.reader().cursor(version)[0]) as cur:
                persons = config.identifiable_dir() / "persons.parquet"
                if not persons.exists():
                    raise MartsUnavailable("The practice list is not available. Please ask your administrator.")
                cur.execute(f"CREATE TEMP VIEW identifiable_persons AS SELECT * FROM read_parquet("
                            f"{sqltext.path_literal(persons)})")  # a server path from config, never user input
                return cur.execute(sql, binds).df()
        with store.reader().pooled_cursor(version) as (cur, _):
            return cur.execute(sql, binds).df()
    except (store.NoMartsError, store.MartsUnavailableError) as exc:
        log.error("marts unavailable for %s: %s", spec.name, exc)
        raise MartsUnavailable("The data is being updated or is unavailable. Please try again shortly.") from exc
    except duckdb.Error as exc:
        log.error("query %s failed on %s: %s", spec.name, version.name, exc)
        raise QueryFailed("These figures could not be produced from the current data.") from exc


def _freeze(values: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


_feed_dates: dict[str, dict[str, str]] = {}  # by version folder (names repeat across data directories)


def feed_refresh_dates(version: store.MartVersion, feeds: list[str]) -> dict[str, str]:
    """When each source feed last arrived: from the manifest if it says, else from the feed_status mart."""
    key = str(version.path)
    if key not in _feed_dates:
        dates: dict[str, str] = {}
        manifest_feeds = version.manifest.get("feeds")
        if isinstance(manifest_feeds, dict):
            for feed, info in manifest_feeds.items():
                if isinstance(info, dict):
                    stamp = info.get("received_at") or info.get("last_received") or info.get("refreshed_at")
                else:
                    stamp = info
                if stamp:
                    dates[feed] = str(stamp)[:10]
        if (version.path / "feed_status.parquet").exists():  # the manifest's dates win; feed_status fills gaps
            try:
                with store.reader().pooled_cursor(version) as (cur, _):
                    rows = cur.execute("SELECT feed, max(received_at) FROM feed_status GROUP BY feed").fetchall()
                dates = {str(feed): str(stamp)[:10] for feed, stamp in rows if stamp is not None} | dates
            except (duckdb.Error, store.MartsUnavailableError) as exc:
                log.warning("feed_status unreadable in %s: %s", version.name, exc)
        _feed_dates[key] = dates
    known = _feed_dates[key]
    return {feed: known.get(feed, "not recorded") for feed in feeds}
