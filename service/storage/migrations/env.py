"""Alembic environment: always run programmatically on a connection handed over by ``storage.migrate``.

No ``alembic.ini`` and no URL here: the caller owns the connection, its transaction and the lock
that keeps several workers from migrating at once.
"""

from __future__ import annotations

from alembic import context

from service.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
