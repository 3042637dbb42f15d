"""Shared fixtures for the integration tests: paths to the built binaries and kernelspecs."""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("KG_BUILD_DIR", REPO / ".build" / "debug"))


@pytest.fixture(scope="session")
def build_dir():
    return BUILD
