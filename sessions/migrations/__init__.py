"""Alembic migrations of the Stretch Coach database (run by ``sessions.db.upgrade``)."""
