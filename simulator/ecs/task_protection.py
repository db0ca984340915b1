"""ECS ``UpdateTaskProtection`` / ``GetTaskProtection`` for one task: the protection state ECS keeps for
it, the expiry, the value check, and the caller's authorization (which the simulator supplies).

Documented behaviour (ECS API reference and the scale-in protection endpoint guide): protection lasts
``expiresInMinutes`` (1 to 2,880) or 120 minutes when none is given; once it lapses ECS reports the task
unprotected; turning protection off drops the expiry. Only a task of a service can be protected: for a
standalone task (RunTask) both calls answer a ``TASK_NOT_VALID`` failure. ECS's wording for an
out-of-range value is not published, so the message below is ecs-sim's own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

UPDATE_ACTION = "ecs:UpdateTaskProtection"
GET_ACTION = "ecs:GetTaskProtection"
MIN_EXPIRES_IN_MINUTES = 1
MAX_EXPIRES_IN_MINUTES = 2880
DEFAULT_EXPIRES_IN_MINUTES = 120

ACCESS_DENIED = "AccessDeniedException"
INVALID_PARAMETER = "InvalidParameterException"
CLIENT_ERROR_STATUS = 400  # ECS (JSON 1.1) answers both of its client errors here with 400
NOT_IN_A_SERVICE = "TASK_NOT_VALID"


@dataclass(frozen=True)
class ProtectedTask:
    """One entry of ``protectedTasks`` in ECS's answer."""

    task_arn: str
    protection_enabled: bool
    expiration_date: datetime | None = None


@dataclass(frozen=True)
class Failure:
    """One entry of ``failures`` in ECS's answer (e.g. ``TASK_NOT_VALID``)."""

    arn: str | None
    reason: str | None
    detail: str | None = None


class EcsError(Exception):
    """ECS refused the call: its error code, message and HTTP status, and the request id it gave."""

    def __init__(self, code: str, message: str, status: int = CLIENT_ERROR_STATUS) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = str(uuid.uuid4())


# (action, request context keys) -> the AccessDeniedException message, or None when the caller may.
Authorize = Callable[[str, Mapping[str, str]], str | None]


@dataclass
class TaskProtection:
    """ECS's protection record of the task ``task_arn`` in cluster ``cluster_arn``. Thread-safe: every
    container of the task reaches the same record through the agent."""

    task_arn: str
    cluster_arn: str
    authorize: Authorize
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    in_service: bool = field(kw_only=True)  # started by a service's scheduler, not by RunTask
    _expires_at: datetime | None = field(default=None, init=False)  # None: not protected
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def update(self, enabled: bool, expires_in_minutes: int | None) -> ProtectedTask | Failure:
        """UpdateTaskProtection for this task; raises :class:`EcsError`."""
        self._authorize(UPDATE_ACTION)
        minutes = DEFAULT_EXPIRES_IN_MINUTES if expires_in_minutes is None else expires_in_minutes
        if not MIN_EXPIRES_IN_MINUTES <= minutes <= MAX_EXPIRES_IN_MINUTES:
            raise EcsError(
                INVALID_PARAMETER,
                f"expiresInMinutes must be between {MIN_EXPIRES_IN_MINUTES} and {MAX_EXPIRES_IN_MINUTES} "
                f"minutes, got {minutes}.",
            )
        if not self.in_service:
            return Failure(self.task_arn, NOT_IN_A_SERVICE)
        with self._lock:
            # ECS answers with epoch seconds to the millisecond.
            now = self.clock().astimezone(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._expires_at = now + timedelta(minutes=minutes) if enabled else None
            return self._state(now)

    def get(self) -> ProtectedTask | Failure:
        """GetTaskProtection for this task; raises :class:`EcsError`."""
        self._authorize(GET_ACTION)
        if not self.in_service:
            return Failure(self.task_arn, NOT_IN_A_SERVICE)
        with self._lock:
            return self._state(self.clock().astimezone(UTC))

    def _authorize(self, action: str) -> None:
        denial = self.authorize(action, {"ecs:cluster": self.cluster_arn})
        if denial is not None:
            raise EcsError(ACCESS_DENIED, denial)

    def _state(self, now: datetime) -> ProtectedTask:
        if self._expires_at is not None and self._expires_at <= now:
            self._expires_at = None  # lapsed: ECS has cleared protectionEnabled
        return ProtectedTask(self.task_arn, self._expires_at is not None, self._expires_at)
