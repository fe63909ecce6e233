"""What an installed dlbook needs beside its modules is package data, so that the book's
extension works from a wheel too, not only from an editable checkout."""

from fnmatch import fnmatch

import pytest

from conftest import ROOT

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")


def test_every_static_file_and_checkpoint_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["dlbook"]
    package = ROOT / "dlbook"
    shipped = [*(package / "static").iterdir(), *(package / "weights").iterdir()]
    missing = [
        str(p.relative_to(package))
        for p in shipped
        if not any(fnmatch(p.relative_to(package).as_posix(), g) for g in patterns)
    ]
    assert shipped and not missing, f"add to [tool.setuptools.package-data]: {missing}"
