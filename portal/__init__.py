"""SEND Insight Portal: linked health, council and school data on children and young people with SEND."""

__version__ = "0.1.0"
