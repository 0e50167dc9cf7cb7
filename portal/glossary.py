"""The glossary (docs/glossary.yaml): plain-English meanings the pages and the Help centre show.

    from portal import glossary
    glossary.entries()                      # every Entry, A to Z
    glossary.lookup("IMD")                  # an Entry by its term or any of its other names
    glossary.markdown(["EHCP", "Median"])   # a bullet list for a page's "Words used here" panel
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from portal import config

GLOSSARY_FILE = config.REPO_ROOT / "docs" / "glossary.yaml"


@dataclass(frozen=True)
class Entry:
    term: str
    definition: str
    also: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def entries() -> tuple[Entry, ...]:
    raw = yaml.safe_load(GLOSSARY_FILE.read_text()) or {}
    found = []
    for term, body in raw.items():
        if not isinstance(body, dict) or not str(body.get("definition", "")).strip():
            raise ValueError(f"glossary entry {term!r} needs a definition")
        found.append(Entry(str(term), " ".join(str(body["definition"]).split()),
                           tuple(str(name) for name in body.get("also", []))))
    return tuple(sorted(found, key=lambda entry: entry.term.lower()))


def lookup(name: str) -> Entry:
    wanted = name.strip().lower()
    for entry in entries():
        if wanted == entry.term.lower() or wanted in (alias.lower() for alias in entry.also):
            return entry
    raise KeyError(f"{name!r} is not in the glossary ({GLOSSARY_FILE.name})")


def markdown(names) -> str:
    """A Markdown bullet list of the named entries, each once, in the order given."""
    seen, lines = set(), []
    for name in names:
        entry = lookup(name)
        if entry.term not in seen:
            seen.add(entry.term)
            lines.append(f"- **{entry.term}**: {entry.definition}")
    return "\n".join(lines)
