"""Command-line commands, one module per concern (see portal/cli.py)."""
