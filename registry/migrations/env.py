"""Alembic environment: the URL from the config (set by registry.migrate) or the settings."""

from __future__ import annotations

from alembic import context

from registry.db import create_engine
from registry.settings import Settings, normalise_database_url
from registry.tables import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
url = normalise_database_url(url)


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                # SQLite alters tables by copying them; batch mode does that for us.
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
