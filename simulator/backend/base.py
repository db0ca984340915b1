"""What every AWS backend offers the rest of the simulator: an endpoint URL, admin credentials, and the
transport the gateway forwards authorized requests with.

The backend only serves the AWS APIs; it never decides permissions (that is the gateway's job), so
``admin_session()`` credentials reach it directly and are accepted for everything.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

import boto3

if TYPE_CHECKING:
    from ..gateway.upstream import Transport


@runtime_checkable
class Backend(Protocol):
    endpoint_url: str
    region: str
    account: str

    def admin_session(self) -> boto3.Session:
        """A boto3 session whose clients act in ``account`` on the backend, bypassing the gateway.
        Pass ``endpoint_url`` to every client (``session.client("s3", endpoint_url=b.endpoint_url)``)."""
        ...

    def transport(self) -> Transport:
        """A new way for the gateway to send requests to this started backend (the caller closes it):
        the cheapest one there is, in-process where the backend lives in this process."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
