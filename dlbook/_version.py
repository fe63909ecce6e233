"""The package version, importable without torch (the Sphinx extension reads it)."""

__version__ = "0.2.0"
