"""knowledge_base"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("""CREATE TABLE knowledge_base (
        id BIGSERIAL PRIMARY KEY, owner_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
        title TEXT NOT NULL, content TEXT, metadata JSONB, created_at TIMESTAMPTZ NOT NULL DEFAULT now())""")


def downgrade():
    op.execute("DROP TABLE knowledge_base")
