"""dlbook: the small helper package behind the interactive deep-learning book.

Importing it has no side effects: no downloads, no seeding, no renderer changes.
A chapter calls :func:`dlbook.setup` once to seed, pick the device and profile,
and make plotly figures survive the HTML build.
"""

__version__ = "0.1.0"

from dlbook.runtime import device, pick, profile, seed_everything, setup

__all__ = ["__version__", "device", "pick", "profile", "seed_everything", "setup"]
