"""Programs run between dates; items say how often a day and the rest between sets.

``programs.starts_on`` (a date, required: existing programs start on the day they
were set, their ``created_at`` in UTC) and ``programs.ends_on`` (a date, NULL = no
end; never before ``starts_on``). ``program_items.times_per_day`` (1-6, existing
items 1) and ``program_items.rest_between_sets_s`` (0-600 s, existing items 30).
``times_per_week`` is kept: on how many days of a week the item is done.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: the rest between sets of items prescribed before this revision (seconds)
DEFAULT_REST_S = 30


def _backfill_starts_on() -> None:
    """``starts_on`` = the (UTC) date of ``created_at`` for every existing program."""
    bind = op.get_bind()
    programs = sa.table("programs", sa.column("id", sa.Integer()),
                        sa.column("created_at", sa.DateTime(timezone=True)),
                        sa.column("starts_on", sa.Date()))
    if bind.dialect.name == "postgresql":
        # timestamptz -> the date in UTC, whatever the session's time zone
        bind.execute(programs.update().values(
            starts_on=sa.cast(sa.func.timezone("UTC", programs.c.created_at), sa.Date())))
        return
    # SQLite stores the UTC text "YYYY-MM-DD HH:MM:SS[.ffffff][+00:00]": its first 10
    # characters are the UTC date
    bind.execute(programs.update().values(
        starts_on=sa.func.substr(programs.c.created_at, 1, 10)))


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
    _backfill_starts_on()
    with op.batch_alter_table("programs") as batch:
        batch.alter_column("starts_on", existing_type=sa.Date(), nullable=False)
        batch.create_check_constraint(
            op.f("ck_programs_ends_on"), "ends_on IS NULL OR ends_on >= starts_on")

    with op.batch_alter_table("program_items") as batch:
        batch.add_column(sa.Column("times_per_day", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("rest_between_sets_s", sa.Integer(), nullable=False,
                                   server_default=str(DEFAULT_REST_S)))
    with op.batch_alter_table("program_items") as batch:
        # the defaults were for the existing rows; new rows always name both
        batch.alter_column("times_per_day", existing_type=sa.Integer(), server_default=None)
        batch.alter_column("rest_between_sets_s", existing_type=sa.Integer(),
                           server_default=None)
        batch.create_check_constraint(op.f("ck_program_items_times_per_day"),
                                      "times_per_day >= 1 AND times_per_day <= 6")
        batch.create_check_constraint(op.f("ck_program_items_rest_between_sets_s"),
                                      "rest_between_sets_s >= 0 AND rest_between_sets_s <= 600")


def downgrade() -> None:
    with op.batch_alter_table("program_items") as batch:
        batch.drop_constraint(op.f("ck_program_items_rest_between_sets_s"), type_="check")
        batch.drop_constraint(op.f("ck_program_items_times_per_day"), type_="check")
        batch.drop_column("rest_between_sets_s")
        batch.drop_column("times_per_day")
    with op.batch_alter_table("programs") as batch:
        batch.drop_constraint(op.f("ck_programs_ends_on"), type_="check")
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
