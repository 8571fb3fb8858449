"""Credential rules: usernames, the password policy, login-token hashing.

Pure functions, no database: ``sessions.auth.Accounts`` applies them (and
re-exports the public names). The policy itself is described in
``sessions.auth``'s docstring and in ``PASSWORD_RULES``.
"""

from __future__ import annotations

import hashlib
import unicodedata

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MAX_USERNAME",
    "MIN_DISTINCT_CHARS",
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_RULES",
    "PasswordPolicyError",
    "check_password_policy",
    "clean_username",
]

MIN_PASSWORD_LENGTH = 10
MIN_DISTINCT_CHARS = 5
MAX_USERNAME = 150              # the column's length
PASSWORD_RULES = (
    f"Use at least {MIN_PASSWORD_LENGTH} characters with at least two kinds (letters, "
    "digits, spaces or symbols) and some variety; not a common password such as "
    "'password123' or '1234567890', and not your username. A few unrelated words "
    "(e.g. 'copper lamp river 7') are easy to remember and hard to guess.")
# a small list of the most common passwords' letter cores (lower-case, digits and
# symbols removed): "Password1!" and "password12" are refused as "password"
_COMMON_TEXT = (
    "password passw0rd passwort motdepasse contrasena qwerty qwertyuiop qwertz azerty "
    "asdfgh asdfghjkl zxcvbnm letmein welcome admin administrator root login iloveyou "
    "monkey dragon football baseball soccer master sunshine princess shadow superman "
    "batman trustno abc abcdef abcdefg abcdefgh abcdefghij secret changeme default guest "
    "test tester user stretch stretchcoach coach therapist patient clinic hello freedom "
    "whatever starwars")
_COMMON = frozenset(_COMMON_TEXT.split(" "))
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}
MAX_PASSWORD_LENGTH = 1024      # argon2 hashes anything, but not megabytes per attempt


class PasswordPolicyError(ValueError):
    """The password does not meet the policy (the message says why)."""


# Not sessions.checks.clean_text (free text: None is "", length counted before
# trimming, any characters): names must not be empty, are measured trimmed, and
# refuse control, format (bidi overrides, zero-width), private-use and unassigned
# characters so one name cannot display as another; the messages differ too.
def _clean_text(value: str, what: str, max_len: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    value = value.strip()
    if not value and not allow_empty:
        raise ValueError(f"{what} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{what} is too long: {len(value)} characters, at most {max_len}")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{what} must not contain control characters (newlines, tabs...)")
    bad = sorted({f"U+{ord(c):04X}" for c in value
                  if unicodedata.category(c) in _FORBIDDEN_CATEGORIES})
    if bad:
        raise ValueError(f"{what} must not contain invisible or direction-changing characters "
                         f"(found {', '.join(bad[:5])}): they can make a name look like "
                         f"someone else's")
    return value


def _username_key(username: str) -> str:
    return unicodedata.normalize("NFKC", username.strip()).casefold()


def clean_username(username: object) -> str:
    """A username as stored: NFKC-normalised, trimmed, checked (no database access).

    Raises:
        ValueError: not text, empty, longer than ``MAX_USERNAME``, or with control,
            format (bidi overrides, zero-width), private-use or unassigned characters.
    """
    if not isinstance(username, str):
        raise ValueError(f"username must be text, got {type(username).__name__}")
    if len(username) > 4 * MAX_USERNAME:   # before normalising megabytes
        raise ValueError(f"username is too long: {len(username)} characters, at most "
                         f"{MAX_USERNAME}")
    name = _clean_text(unicodedata.normalize("NFKC", username), "username", MAX_USERNAME)
    if len(_username_key(name)) > MAX_USERNAME:
        raise ValueError(f"username is too long once normalised: at most {MAX_USERNAME} "
                         f"characters")
    return name


def _lookup_key(username: object) -> str | None:
    """The key to look ``username`` up by, or None when no account can have that name."""
    try:
        return _username_key(clean_username(username))
    except ValueError:
        return None


def check_password_policy(password: str, username: str = "") -> None:
    """Raise ``PasswordPolicyError`` unless ``password`` is acceptable.

    The policy (``PASSWORD_RULES``): at least 10 characters, at most 1024; not
    only spaces; at least 5 different characters of at least two kinds (letters,
    digits, spaces or symbols); not a common password, also with digits or
    symbols added; not the username.
    """
    if not isinstance(password, str):
        raise PasswordPolicyError("password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password too short: use at least {MIN_PASSWORD_LENGTH} "
                                  f"characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise PasswordPolicyError("password must not be only spaces")
    if username and _username_key(password) == _username_key(username):
        raise PasswordPolicyError("password must not be the username")
    if len(set(password.casefold())) < MIN_DISTINCT_CHARS:
        raise PasswordPolicyError(f"password too repetitive: use at least {MIN_DISTINCT_CHARS} "
                                  f"different characters")
    kinds = {("letter" if c.isalpha() else "digit" if c.isdigit() else "other")
             for c in password}
    if len(kinds) < 2:
        raise PasswordPolicyError("password too simple: mix at least two kinds of characters "
                                  "(letters, digits, spaces or symbols)")
    core = "".join(c for c in unicodedata.normalize("NFKC", password).casefold()
                   if c.isalpha())
    if core in _COMMON or _leet(password) in _COMMON:
        raise PasswordPolicyError("password too common: it is on the list of passwords "
                                  "tried first by attackers")


def _leet(password: str) -> str:
    """Letters of ``password`` with common digit/symbol swaps undone ("p4ssw0rd")."""
    t = password.casefold().strip(" 0123456789!?.,;:-_+=*#%&^~()[]{}<>/\\|'\"")
    t = t.translate(str.maketrans("0134@5$7", "oieaasst"))
    return "".join(c for c in t if c.isalpha())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
