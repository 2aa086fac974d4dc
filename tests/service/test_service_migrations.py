"""The Alembic migrations build exactly the tables the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from jirakit.service.db import make_engine, migrate
from jirakit.service.models import Base


def test_the_migrations_match_the_models(db_url: str):
    engine = make_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
