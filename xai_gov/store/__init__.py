"""Persistence: SQLAlchemy ORM, Alembic migrations, repositories returning domain objects."""
