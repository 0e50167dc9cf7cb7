"""Writes the benchmark's figures into docs/performance.md.

The figures go between two markers; everything outside them (the written analysis of what limits each
figure and what was changed) is kept, so re-running the benchmark refreshes the numbers without losing
the explanation. A new file gets a short heading and how to run the benchmark.
"""
from __future__ import annotations

from pathlib import Path

from bench.report import machine_details

BEGIN = "<!-- benchmark figures: begin (written by python -m bench; edits inside are overwritten) -->"
END = "<!-- benchmark figures: end -->"

NEW_FILE_HEAD = """# Performance

How fast the portal is at county and national scale, measured by the project's own benchmark, and how
that compares with the targets and with what people would use instead.

Run it (about 15 minutes at county scale; national adds the national build):

```
.venv/bin/python -m bench                          # county: build, queries, side by side, load
.venv/bin/python -m bench --scale national --parts build,queries,load,pages --users 1
.venv/bin/python -m bench soak --users 50 --minutes 10
```

"""


def render_figures(findings, options) -> str:
    lines = [BEGIN, "", "## Latest figures", ""]
    lines += ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_details(findings.machine_speed).items()]
    lines += ["", f"Scales: {', '.join(options.scales)}; parts: {', '.join(options.parts)}.", ""]
    for table in findings.tables:
        lines += [table.markdown(), ""]
    lines.append(END)
    return "\n".join(lines)


def write_report(path: Path, findings, options) -> None:
    figures = render_figures(findings, options)
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            before, rest = text.split(BEGIN, 1)
            _, after = rest.split(END, 1)
            text = before + figures + after
        else:
            text = text.rstrip() + "\n\n" + figures + "\n"
    else:
        text = NEW_FILE_HEAD + figures + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
