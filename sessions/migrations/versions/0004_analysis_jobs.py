"""Video analyses as jobs: the ``analysis_jobs`` table (state, progress, result).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "analysis_jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("batch", sa.String(64), nullable=True),
        sa.Column("video_path", sa.Text(), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("side", sa.String(16), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("save", sa.String(16), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("heartbeat_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("frames_done", sa.Integer(), nullable=False),
        sa.Column("frames_total", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed', 'cancelled')",
                           name=op.f("ck_analysis_jobs_state")),
        sa.CheckConstraint("save IN ('none', 'personal', 'patient')",
                           name=op.f("ck_analysis_jobs_save")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_analysis_jobs_patient_id_users"),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], ondelete="SET NULL",
                                name="fk_analysis_jobs_submitted_by_users"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="SET NULL",
                                name="fk_analysis_jobs_session_id_sessions"),
    )
    op.create_index("ix_analysis_jobs_batch", "analysis_jobs", ["batch"])
    op.create_index("ix_analysis_jobs_patient_id", "analysis_jobs", ["patient_id"])
    op.create_index("ix_analysis_jobs_state_created", "analysis_jobs", ["state", "created_at"])


def downgrade() -> None:
    op.drop_table("analysis_jobs")
