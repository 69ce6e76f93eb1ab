"""Alembic scripts, shipped inside the ``authreg`` package so that ``authreg init`` works from a wheel."""
