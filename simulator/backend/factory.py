"""Pick the AWS backend from an option or the environment."""

from __future__ import annotations

import os

from ..errors import InputError
from .base import Backend
from .moto_embedded import DEFAULT_ACCOUNT, DEFAULT_REGION, EmbeddedMoto
from .remote import RemoteEndpoint, localstack_endpoint

BACKEND_ENV = "ECS_SIM_BACKEND"  # moto | localstack | url
ENDPOINT_ENV = "ECS_SIM_BACKEND_URL"  # endpoint URL for kind "url"
KINDS = ("moto", "localstack", "url")


def make_backend(
    kind: str | None = None,
    endpoint_url: str | None = None,
    *,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> Backend:
    """``kind`` None: env ``ECS_SIM_BACKEND`` (default ``moto``); an ``endpoint_url`` alone means ``url``.
    For ``localstack`` the URL defaults to what ``localstack_endpoint()`` finds, for ``url`` to env
    ``ECS_SIM_BACKEND_URL``. The backend is not started."""
    if kind is None:
        kind = os.environ.get(BACKEND_ENV) or ("url" if endpoint_url else "moto")
    kind = kind.strip().lower()
    if kind == "moto":
        if endpoint_url:
            raise InputError("an endpoint URL makes no sense with the embedded moto backend", where="backend")
        return EmbeddedMoto(account=account, region=region)
    if kind == "localstack":
        return RemoteEndpoint(endpoint_url or localstack_endpoint(), region=region, account=account)
    if kind == "url":
        url = endpoint_url or os.environ.get(ENDPOINT_ENV)
        if not url:
            raise InputError(
                f"backend 'url' needs an endpoint URL (option or env {ENDPOINT_ENV})", where="backend"
            )
        return RemoteEndpoint(url, region=region, account=account)
    raise InputError(f"unknown backend {kind!r}; expected one of {', '.join(KINDS)}", where=BACKEND_ENV)
