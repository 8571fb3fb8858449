"""Accounts, programs, screening, flags, per-rep rows and session details.

Adds the therapist-review tables and new nullable columns on ``sessions``
(existing rows become personal-mode sessions: no patient; ``completion`` is
derived from ``complete``).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("username_key", sa.String(150), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("video_opt_in", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('therapist', 'patient', 'admin')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(["therapist_id"], ["users.id"], ondelete="SET NULL",
                                name="fk_users_therapist_id_users"),
        sa.UniqueConstraint("username_key", name="uq_users_username_key"),
    )
    op.create_index("ix_users_therapist_id", "users", ["therapist_id"])

    op.create_table(
        "login_sessions",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("idle_timeout_s", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_login_sessions_user_id_users"),
        sa.UniqueConstraint("token_hash", name="uq_login_sessions_token_hash"),
    )
    op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])
    op.create_index("ix_login_sessions_expires_at", "login_sessions", ["expires_at"])

    op.create_table(
        "login_throttle",
        sa.Column("username_key", sa.String(150), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", TS, nullable=True),
        sa.Column("locked_until", TS, nullable=True),
    )

    op.create_table(
        "programs",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_programs_patient_id_users"),
        sa.ForeignKeyConstraint(["therapist_id"], ["users.id"], ondelete="SET NULL",
                                name="fk_programs_therapist_id_users"),
    )
    op.create_index("ix_programs_patient_id", "programs", ["patient_id"])

    op.create_table(
        "program_items",
        _id(),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("exercise", sa.String(64), nullable=False),
        sa.Column("sides", sa.String(32), nullable=False),
        sa.Column("sets", sa.Integer(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=False),
        sa.Column("times_per_week", sa.Integer(), nullable=False),
        sa.Column("target_low", sa.Float(), nullable=True),
        sa.Column("target_high", sa.Float(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.CheckConstraint("sets >= 1 AND sets <= 10", name=op.f("ck_program_items_sets")),
        sa.CheckConstraint("reps >= 1 AND reps <= 50", name=op.f("ck_program_items_reps")),
        sa.CheckConstraint("hold_s >= 0 AND hold_s <= 300", name=op.f("ck_program_items_hold_s")),
        sa.CheckConstraint("times_per_week >= 1 AND times_per_week <= 28",
                           name=op.f("ck_program_items_times_per_week")),
        sa.CheckConstraint("(target_low IS NULL AND target_high IS NULL) OR "
                           "(target_low IS NOT NULL AND target_high IS NOT NULL AND "
                           "target_low < target_high)", name=op.f("ck_program_items_target")),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], ondelete="CASCADE",
                                name="fk_program_items_program_id_programs"),
    )
    op.create_index("ix_program_items_program_id", "program_items", ["program_id"])

    op.create_table(
        "screenings",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("pain_before", sa.Integer(), nullable=False),
        sa.Column("red_flag", sa.Boolean(), nullable=False),
        sa.Column("advice", sa.Text(), nullable=False),
        sa.CheckConstraint("pain_before >= 0 AND pain_before <= 10",
                           name=op.f("ck_screenings_pain_before")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_screenings_patient_id_users"),
    )
    op.create_index("ix_screenings_patient_id", "screenings", ["patient_id"])

    # existing session rows stay: new columns are nullable or have a server default
    with op.batch_alter_table("sessions", naming_convention=NAMING) as b:
        b.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("recorded_by", sa.Integer(), nullable=True))
        b.add_column(sa.Column("started_at", TS, nullable=True))
        b.add_column(sa.Column("ended_at", TS, nullable=True))
        b.add_column(sa.Column("completion", sa.String(16), nullable=False,
                               server_default="completed"))
        b.add_column(sa.Column("abandon_reason", sa.Text(), nullable=True))
        b.add_column(sa.Column("pain_before", sa.Integer(), nullable=True))
        b.add_column(sa.Column("pain_after", sa.Integer(), nullable=True))
        b.add_column(sa.Column("comment", sa.Text(), nullable=True))
        b.add_column(sa.Column("screening_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("video_path", sa.Text(), nullable=True))
        b.add_column(sa.Column("target_low", sa.Float(), nullable=True))
        b.add_column(sa.Column("target_high", sa.Float(), nullable=True))
        b.add_column(sa.Column("score_breakdown", sa.JSON(), nullable=True))
        b.create_foreign_key("fk_sessions_patient_id_users", "users", ["patient_id"], ["id"])
        b.create_foreign_key("fk_sessions_recorded_by_users", "users", ["recorded_by"], ["id"])
        b.create_foreign_key("fk_sessions_screening_id_screenings", "screenings",
                             ["screening_id"], ["id"])
        b.create_check_constraint(
            op.f("ck_sessions_completion"),
            "completion IN ('completed', 'interrupted', 'abandoned')")
        b.create_check_constraint(
            op.f("ck_sessions_pain_before"),
            "pain_before IS NULL OR (pain_before >= 0 AND pain_before <= 10)")
        b.create_check_constraint(
            op.f("ck_sessions_pain_after"),
            "pain_after IS NULL OR (pain_after >= 0 AND pain_after <= 10)")
        b.create_index("ix_sessions_patient_created", ["patient_id", "created_at"])
    sessions = sa.table("sessions", sa.column("complete", sa.Boolean()),
                        sa.column("completion", sa.String(16)))
    op.execute(sessions.update().where(sessions.c.complete == sa.false())
               .values(completion="interrupted"))

    op.create_table(
        "session_reps",
        _id(),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("rep_index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=True),
        sa.Column("end_s", sa.Float(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("target_low", sa.Float(), nullable=True),
        sa.Column("target_high", sa.Float(), nullable=True),
        sa.Column("reached_target", sa.Boolean(), nullable=False),
        sa.Column("hold_s", sa.Float(), nullable=True),
        sa.Column("hold_required_s", sa.Float(), nullable=False),
        sa.Column("hold_ok", sa.Boolean(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rom", sa.Float(), nullable=True),
        sa.Column("hold", sa.Float(), nullable=True),
        sa.Column("form", sa.Float(), nullable=True),
        sa.Column("faults", sa.Text(), nullable=False),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)",
                           name=op.f("ck_session_reps_score")),
        sa.CheckConstraint("hold_s IS NULL OR hold_s >= 0", name=op.f("ck_session_reps_hold_s")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_session_reps_session_id_sessions"),
        sa.UniqueConstraint("session_id", "side", "rep_index", name="uq_session_reps_rep"),
    )
    op.create_index("ix_session_reps_session_id", "session_reps", ["session_id"])

    op.create_table(
        "session_faults",
        _id(),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("fault", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("rep_index", sa.Integer(), nullable=True),
        sa.Column("start_s", sa.Float(), nullable=True),
        sa.Column("end_s", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("cue", sa.Text(), nullable=False),
        sa.CheckConstraint("duration_s IS NULL OR duration_s >= 0",
                           name=op.f("ck_session_faults_duration_s")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_session_faults_session_id_sessions"),
    )
    op.create_index("ix_session_faults_session_id", "session_faults", ["session_id"])

    op.create_table(
        "session_series",
        sa.Column("session_id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("encoding", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("kind IN ('primary', 'landmarks')", name=op.f("ck_session_series_kind")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_session_series_session_id_sessions"),
    )

    op.create_table(
        "session_notes",
        _id(),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_session_notes_session_id_sessions"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name="fk_session_notes_author_id_users"),
    )
    op.create_index("ix_session_notes_session_id", "session_notes", ["session_id"])

    op.create_table(
        "flags",
        _id(),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("screening_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('red_flag', 'pain_rise')", name=op.f("ck_flags_kind")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_flags_patient_id_users"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_flags_session_id_sessions"),
        sa.ForeignKeyConstraint(["screening_id"], ["screenings.id"], ondelete="CASCADE",
                                name="fk_flags_screening_id_screenings"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"],
                                name="fk_flags_resolved_by_users"),
    )
    op.create_index("ix_flags_patient_id", "flags", ["patient_id"])


def downgrade() -> None:
    for table in ("flags", "session_notes", "session_series", "session_faults",
                  "session_reps"):
        op.drop_table(table)
    with op.batch_alter_table("sessions", naming_convention=NAMING) as b:
        b.drop_index("ix_sessions_patient_created")
        b.drop_constraint(op.f("ck_sessions_pain_after"), type_="check")
        b.drop_constraint(op.f("ck_sessions_pain_before"), type_="check")
        b.drop_constraint(op.f("ck_sessions_completion"), type_="check")
        b.drop_constraint("fk_sessions_screening_id_screenings", type_="foreignkey")
        b.drop_constraint("fk_sessions_recorded_by_users", type_="foreignkey")
        b.drop_constraint("fk_sessions_patient_id_users", type_="foreignkey")
        for col in ("score_breakdown", "target_high", "target_low", "video_path",
                    "screening_id", "comment", "pain_after", "pain_before",
                    "abandon_reason", "completion", "ended_at", "started_at", "recorded_by",
                    "patient_id"):
            b.drop_column(col)
    for table in ("screenings", "program_items", "programs", "login_throttle",
                  "login_sessions", "users"):
        op.drop_table(table)
