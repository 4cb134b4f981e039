from alembic import context
from sqlalchemy import create_engine

from app import settings

if context.is_offline_mode():
    # `alembic upgrade a:b --sql`: the SQL of the revisions, without a database (claw-ops lints it).
    context.configure(url=settings.DATABASE_URL, target_metadata=None, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(settings.DATABASE_URL)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
