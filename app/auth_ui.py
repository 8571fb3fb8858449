"""Sign-in for the app: who is using this browser tab, and what they may open.

Two modes, decided by the accounts database (``sessions.auth.Accounts``):

- **Personal mode**: no accounts exist. The app works as a personal stretch coach
  without any sign-in (live coach, analyse, library, my sessions), exactly as
  before accounts existed.
- **Clinic mode**: accounts exist. Clinical pages need a signed-in user; patients'
  sessions are saved into their own record; therapists see only their patients.

The sign-in token lives in ``st.session_state`` and is checked against the
database (``Accounts.resume``) on every run, so signing out, an expired token or
a disabled account take effect at once. So that a reload (a new Streamlit
session) keeps the sign-in, the token is also kept in a cookie of this browser
(``COOKIE_NAME``: ``SameSite=Strict``, ``Secure`` over HTTPS, ``Path=/``, expiring
after ``COOKIE_MAX_AGE_S``), read back with ``st.context.cookies``. Streamlit cannot
send ``Set-Cookie`` headers from a page, so the cookie is written by a two-line
script (``st.html``), which also means it is not ``HttpOnly``. The cookie holds only
the random login token (``secrets.token_urlsafe(32)``); the database keeps its
SHA-256 with an idle expiry, so a copied cookie stops working at sign-out, after
8 h unused, or when the account is disabled. Signing out revokes the token in
the database and deletes the cookie. (Cookie components such as
extra-streamlit-components' ``CookieManager`` or streamlit-cookies-controller also
write ``document.cookie`` from a script, so they add a dependency without making it
``HttpOnly``; a true ``HttpOnly`` cookie needs an HTTP route, e.g. Streamlit's
experimental Starlette ``App`` with a one-time code handed from the page to the
route: not done.)

Nothing here decides who may see what: ``Accounts`` and ``Clinic`` do; this
module only asks them.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

import streamlit as st

from sessions.auth import PASSWORD_RULES, Accounts, AuthError, Principal
from sessions.db import database_url, ensure_schema, get_engine
from sessions.service import Clinic

__all__ = [
    "COOKIE_MAX_AGE_S",
    "COOKIE_NAME",
    "ROLE_TEXT",
    "TOKEN_KEY",
    "accounts",
    "change_password_form",
    "clinic",
    "clinic_mode",
    "current_principal",
    "database_problem",
    "engine",
    "login_form",
    "md",
    "require_principal",
    "run_page",
    "sign_out",
    "sync_login_cookie",
]

log = logging.getLogger(__name__)

#: Where the sign-in token of this browser tab is kept.
TOKEN_KEY = "auth-token"
#: The cookie that keeps the sign-in across reloads, and its lifetime (seconds): a
#: working day; the database also ends the login after 8 h unused.
COOKIE_NAME = "stretch_coach_login"
COOKIE_MAX_AGE_S = 12 * 3600
_COOKIE_OP = "auth-cookie-op"            # pending: ("set", token) or ("clear", "")
_COOKIE_DEAD = "auth-cookie-dead"        # a cookie token the database refused
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,100}")

ROLE_TEXT = {"admin": "administrator", "therapist": "therapist", "patient": "patient"}

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=$:&])")


def md(text: object) -> str:
    """``text`` escaped for ``st.markdown`` and widget labels: shown exactly as typed.

    User-supplied text (names, notes, comments) must never become markup: ``<b>x</b>``
    or ``**x**`` in a display name is shown as those characters.
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")


# --------------------------------------------------------------------------- backend objects


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Any:
    eng = get_engine(url)
    ensure_schema(eng)  # create or migrate the tables once per server and database
    return eng


def engine() -> Any:
    """The SQLAlchemy engine of the current database (``$STRETCH_COACH_DB_URL`` or default)."""
    return _engine_for(database_url())


def accounts() -> Accounts:
    """The accounts service on the current database."""
    return Accounts(engine())


def clinic(principal: Principal) -> Clinic:
    """The clinic service acting as ``principal`` (it checks every access itself)."""
    return Clinic(principal, engine())


def database_problem(e: BaseException) -> None:
    """Say plainly that the database can't be used (one calm box), then stop the page.

    Never a traceback, SQL or the URL's password; the details go to the server log.
    Never "no accounts": an unreachable database says nothing about accounts.
    """
    from sessions.checks import one_line
    from sessions.errors import describe_db_error

    try:
        url = database_url()
    except Exception:  # the data path itself is the problem
        url = None
    # one line for the server's log: the driver's message, never a traceback or the SQL
    log.error("database problem: %s: %s", type(e).__name__, one_line(e))
    problem = describe_db_error(e, url)
    what = problem.message if problem is not None else "it did not answer as expected"
    end = "" if what.endswith((".", "?", "!")) else "."
    st.error(f"**Stretch Coach can't use its database right now:** {what[0].upper()}"
             f"{what[1:]}{end} Nothing was changed and nothing is lost; please try again later, "
             "or tell whoever runs Stretch Coach here.", icon=":material/database:")
    st.stop()


def run_page(page: Any) -> None:
    """Run the page ``st.navigation`` chose; a database failure it did not handle itself
    is said in one plain sentence (``database_problem``), never as a traceback or SQL.
    Other errors go on to Streamlit, which shows no details (``client.showErrorDetails``
    is ``none`` in ``.streamlit/config.toml``)."""
    from sessions.errors import is_database_error

    try:
        page.run()
    except Exception as e:
        try:
            url = database_url()
        except Exception:
            url = None
        if not is_database_error(e, url):
            raise
        database_problem(e)


def clinic_mode() -> bool:
    """True once any account exists (then clinical pages need a sign-in).

    Fails closed: when the database can't be read, the page says so and stops
    (it never falls back to personal mode or offers to create an administrator).
    """
    try:
        return bool(accounts().any_accounts())
    except Exception as e:
        database_problem(e)
        raise   # not reached: database_problem stops the page


# --------------------------------------------------------------------------- the signed-in user


def _cookie_token() -> str | None:
    """The login token in this browser's cookie (as sent when the page was loaded)."""
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser context (e.g. a script run outside a server)
        return None
    if not token or not _TOKEN_RE.fullmatch(token) \
            or token == st.session_state.get(_COOKIE_DEAD):
        return None
    return token


def current_principal() -> Principal | None:
    """The user signed in in this browser, or None (token missing, expired or revoked).

    The tab's token first; else the browser's login cookie (a reload, a new tab),
    which is adopted by this tab when the database still accepts it.
    """
    token = st.session_state.get(TOKEN_KEY)
    from_cookie = False
    if not token:
        token = _cookie_token()
        from_cookie = token is not None
    if not token:
        return None
    try:
        principal = accounts().resume(token)
    except AuthError:
        st.session_state.pop(TOKEN_KEY, None)
        if from_cookie:   # signed out elsewhere or expired: forget the cookie
            st.session_state[_COOKIE_DEAD] = token
            st.session_state[_COOKIE_OP] = ("clear", "")
        return None
    except Exception as e:
        database_problem(e)
        raise
    if from_cookie:
        st.session_state[TOKEN_KEY] = token
    return principal


def sync_login_cookie() -> None:
    """Write (after a sign-in) or delete (after a sign-out) the browser's login cookie.

    Call once per run, after the sign-in state may have changed (``app/Home.py``);
    does nothing when nothing is pending.
    """
    op = st.session_state.pop(_COOKIE_OP, None)
    if not op:
        return
    kind, token = op
    if kind == "set" and _TOKEN_RE.fullmatch(token):
        value, age = token, COOKIE_MAX_AGE_S
    else:
        value, age = "", 0
    # the token is URL-safe base64 (checked above): nothing in it can break the script
    st.html(f"""<script>(function() {{
  var secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "{COOKIE_NAME}={value}; Max-Age={age}; Path=/; SameSite=Strict" + secure;
}})();</script>""", unsafe_allow_javascript=True, width=1)


def login_form(key: str = "login", *, intro: str | None = None) -> None:
    """The sign-in form; on success the token is kept for this tab and the page reruns.

    Errors are one calm line (wrong username or password, or locked until a time).
    """
    with st.container(key=f"{key}-box"):
        st.subheader("Sign in")
        if intro:
            st.write(intro)
        with st.form(key, clear_on_submit=False, border=True):
            username = st.text_input("Username", key=f"{key}-username",
                                     autocomplete="username")
            password = st.text_input("Password", type="password", key=f"{key}-password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            try:
                principal = accounts().login(username.strip(), password)
            except AuthError as e:
                st.error(_as_sentence(e), icon=":material/lock:")
                return
            except Exception as e:
                database_problem(e)
                raise
            st.session_state[TOKEN_KEY] = principal.token
            st.session_state[_COOKIE_OP] = ("set", principal.token)
            st.session_state.pop(f"{key}-password", None)
            st.rerun()


def sign_out() -> None:
    """End this browser's sign-in: the token is revoked in the database and the login
    cookie deleted."""
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        with contextlib.suppress(AuthError):
            accounts().logout(token)
    # forget everything this tab held (reports, analyses, answers): the next person
    # at this computer starts clean
    for k in list(st.session_state):
        value = st.session_state.pop(k, None)
        close = getattr(value, "close", None)  # e.g. the live coach: release its model
        if callable(close):
            with contextlib.suppress(Exception):
                close()
    # the cookie this page was loaded with (if any) is dead now; delete it in the browser
    st.session_state[_COOKIE_DEAD] = _cookie_token() or token or ""
    st.session_state[_COOKIE_OP] = ("clear", "")


def change_password_form(principal: Principal, key: str = "change-password") -> None:
    """The signed-in user changes their own password (their other sign-ins end)."""
    with st.form(key, clear_on_submit=True, border=False):
        old = st.text_input("Current password", type="password", key=f"{key}-old",
                            autocomplete="current-password")
        new = st.text_input("New password (at least 10 characters)", type="password",
                            key=f"{key}-new", autocomplete="new-password",
                            help=PASSWORD_RULES)
        again = st.text_input("New password again", type="password", key=f"{key}-again",
                              autocomplete="new-password")
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return
    if new != again:
        st.error("The two new passwords are not the same.")
        return
    try:
        accounts().change_password(principal, old, new)
    except (AuthError, ValueError) as e:
        st.error(_as_sentence(e))
    else:
        st.success("Password changed.")


def require_principal(roles: Collection[str] | None = None, *,
                      intro: str | None = None) -> Principal:
    """The signed-in user of this tab, or show the sign-in form and stop the page.

    Args:
        roles: roles allowed on the page (None: any signed-in user).
        intro: a line above the form saying why signing in is needed.
    """
    principal = current_principal()
    if principal is None:
        login_form(intro=intro or "This page is part of your clinic's records. "
                                  "Please sign in.")
        st.stop()
    assert principal is not None
    if roles is not None and principal.role not in roles:
        wanted = " or ".join(ROLE_TEXT.get(r, r) + "s" for r in roles)
        st.info(f"This page is for {wanted}. You are signed in as "
                f"{md(principal.display_name or principal.username)} "
                f"({ROLE_TEXT.get(principal.role, principal.role)}).",
                icon=":material/badge:")
        st.stop()
    return principal


_UTC_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d) UTC")


def _local_time(m: re.Match[str]) -> str:
    t = datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M")
    local = t.replace(tzinfo=timezone.utc).astimezone()
    today = datetime.now().astimezone().date()
    return local.strftime("%H:%M" if local.date() == today else "%Y-%m-%d %H:%M")


def _as_sentence(e: BaseException) -> str:
    """The service's message as one sentence; times shown in this computer's local time."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else "sign-in failed"
    text = _UTC_TIME.sub(_local_time, text)
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
