"""``stretch-coach users ...`` and ``stretch-coach sessions ...``: accounts and the clinic.

Every command that reads or writes clinic data signs in as an account
(``--user``; ``--as-admin`` for account management) and goes through
``sessions.service.Clinic`` / ``sessions.auth.Accounts``, which authorize
every request; the command logs out when it ends. Passwords are read from a
hidden prompt or from the environment, never from the command line:

- ``STRETCH_COACH_PASSWORD``: the acting user's password;
- ``STRETCH_COACH_ADMIN_PASSWORD``: the first admin's password (``create-admin``);
- ``STRETCH_COACH_NEW_PASSWORD``: a new account's password (``users create``).

The database is ``$STRETCH_COACH_DB_URL`` or the default SQLite file.
Exit codes as in ``app/cli.py``: 2 bad arguments, 3 bad input (unreadable
database, output folder missing), 7 authentication failed or access denied.

The commands are split by concern: ``sessions.cli_users`` (``users``),
``sessions.cli_sessions`` (``sessions``), ``sessions.cli_save`` (``analyze --save``:
``AnalysisSaver``, ``prepare_save``) and ``sessions.cli_common`` (exit codes,
``CliError``, signing in); this module re-exports their public names, which
``app/cli.py``, ``app/jobs_cli.py`` and the tests import from here.
"""

from __future__ import annotations

from sessions.cli_common import (
    ENV_ADMIN_PASSWORD,
    ENV_NEW_PASSWORD,
    ENV_PASSWORD,
    EXIT_AUTH,
    EXIT_INPUT,
    EXIT_OUTPUT,
    EXIT_SAFETY,
    EXIT_USAGE,
    CliError,
)
from sessions.cli_save import AnalysisSaver, prepare_save
from sessions.cli_sessions import sessions_group
from sessions.cli_users import users

__all__ = ["ENV_ADMIN_PASSWORD", "ENV_NEW_PASSWORD", "ENV_PASSWORD", "EXIT_AUTH", "EXIT_INPUT",
           "EXIT_OUTPUT", "EXIT_SAFETY", "EXIT_USAGE", "AnalysisSaver", "CliError",
           "prepare_save", "sessions_group", "users"]
