"""Credentials handed out by the simulator, keyed by access key id.

The task-start phase registers the execution role's session, the credentials endpoint the task role's;
the gateway looks a request's access key up here to learn who signed it. ``label`` is opaque to the
gateway: the runner uses it to tell which task and phase a recorded decision belongs to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from .iam.model import Principal
from .iam.policy import Policy


@dataclass(frozen=True)
class Session:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime | None
    principal: Principal
    label: str = ""
    superuser: bool = False  # the simulator's own admin client: authorised without policies
    # What the session was narrowed to when it was made (AssumeRole's Policy and PolicyArns)
    session_policy: Policy | None = None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expiration is not None and (now or datetime.now(UTC)) >= self.expiration


class SessionRegistry:
    """Thread-safe map access key id -> Session; revoked keys are remembered so they fail as expired."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._revoked: set[str] = set()

    def register(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.access_key_id] = session
            self._revoked.discard(session.access_key_id)

    def lookup(self, access_key_id: str) -> Session | None:
        with self._lock:
            return self._sessions.get(access_key_id)

    def revoke(self, access_key_id: str) -> None:
        with self._lock:
            if self._sessions.pop(access_key_id, None) is not None:
                self._revoked.add(access_key_id)

    def was_revoked(self, access_key_id: str) -> bool:
        with self._lock:
            return access_key_id in self._revoked
