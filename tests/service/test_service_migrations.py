"""The Alembic migrations build exactly the tables the models declare."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jirakit.service.db import make_engine, migrate
from jirakit.service.models import Base


def _ours(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    # The database may hold tables that are not the service's: the webhook inbox keeps
    # its own in the service's database by default (`jirakit.webhooks.store`), and the
    # session's Postgres is shared by every test. Compare the service's tables only.
    return not (kind == "table" and reflected and compare_to is None)


def test_the_migrations_match_the_models(db_url: str):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _ours})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
