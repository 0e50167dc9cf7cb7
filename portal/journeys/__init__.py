"""The logic behind each journey page (summaries, charts, statistics), testable without a browser."""
