"""Connection settings for the live video: ICE (STUN/TURN) servers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ice_servers"]


def ice_servers(env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """ICE servers for WebRTC: ``$STRETCH_COACH_ICE_SERVERS`` or a config file, else none.

    The value is a JSON list as in the browser's ``RTCConfiguration.iceServers``, e.g.
    ``[{"urls": ["stun:stun.example.org:3478"]},
    {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]``.
    The file is ``$STRETCH_COACH_ICE_FILE`` or ``<data dir>/ice_servers.json``.
    The default is an explicit empty list: loopback and LAN connections need no
    STUN/TURN server, and an empty *dict* would make streamlit-webrtc fall back
    to a public STUN server.

    Raises:
        ValueError: one line naming the setting when the JSON is not a list of objects.
    """
    env = dict(os.environ if env is None else env)
    raw = env.get("STRETCH_COACH_ICE_SERVERS")
    origin = "STRETCH_COACH_ICE_SERVERS"
    if not raw:
        from sessions.store import default_data_dir

        data = Path(env["STRETCH_COACH_DATA"]) if env.get("STRETCH_COACH_DATA") else \
            default_data_dir()
        path = Path(env.get("STRETCH_COACH_ICE_FILE") or data / "ice_servers.json")
        if not path.is_file():
            return []
        raw = path.read_text(encoding="utf-8")
        origin = str(path)
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{origin}: not valid JSON ({e.msg}); expected a list like "
                         f'[{{"urls": ["stun:host:3478"]}}]') from None
    if not isinstance(servers, list) or not all(
            isinstance(s, dict) and "urls" in s for s in servers):
        raise ValueError(f"{origin}: expected a JSON list of objects with \"urls\", e.g. "
                         f'[{{"urls": ["stun:host:3478"]}}]')
    return servers


