"""users"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("""CREATE TABLE users (
        id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT,
        avatar BYTEA, created_at TIMESTAMPTZ NOT NULL DEFAULT now())""")


def downgrade():
    op.execute("DROP TABLE users")
