"""The seeded synthetic ICB (see generator.py)."""
from portal.synth.generator import SCALES, as_of_for, generate

__all__ = ["SCALES", "as_of_for", "generate"]
