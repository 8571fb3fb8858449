"""Saved stretch sessions (reports) and where they are kept."""

from sessions.store import SessionStore, StoredSession, default_data_dir, default_url

__all__ = ["SessionStore", "StoredSession", "default_data_dir", "default_url"]
