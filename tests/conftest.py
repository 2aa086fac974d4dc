"""Suite-wide: per-machine state (the progress files of running syncs) goes to a folder of
the test session's own, never the user's ~/.local/state (subprocesses inherit it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("JIRAKIT_STATE_DIR")
    os.environ["JIRAKIT_STATE_DIR"] = str(tmp_path_factory.mktemp("jirakit-state"))
    yield
    if previous is None:
        os.environ.pop("JIRAKIT_STATE_DIR", None)
    else:
        os.environ["JIRAKIT_STATE_DIR"] = previous
