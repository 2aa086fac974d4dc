"""Fixtures for the client tests (doubles live in client_doubles.py)."""

from __future__ import annotations

import pytest
from client_doubles import FakeSleep, Router


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()
