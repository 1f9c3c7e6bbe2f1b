"""Storage edge: SQLAlchemy tables, migrations and the repositories built on them."""
