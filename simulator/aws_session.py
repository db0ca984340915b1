"""botocore/boto3 sessions for the simulator's own AWS calls, sealed off from the host's AWS set-up.

The simulator always passes explicit credentials and regions; a host ``AWS_PROFILE`` naming a missing
profile, or a ``~/.aws`` directory, must neither break it nor leak into what it does.
"""

from __future__ import annotations

import copy
import os
from functools import cache

import boto3
import botocore.loaders
import botocore.session
from botocore.hooks import HierarchicalEmitter

# Session variables that would read the host's profile and config files.
_SEALED_VARIABLES = {
    "profile": (None, None, None, None),
    "config_file": (None, None, os.devnull, None),
    "credentials_file": (None, None, os.devnull, None),
}


@cache
def _builtin_handlers() -> HierarchicalEmitter:
    handlers = HierarchicalEmitter()
    botocore.session.Session(session_vars=_SEALED_VARIABLES, event_hooks=handlers)  # registers them in it
    return handlers


def _sealed_session() -> botocore.session.Session:
    return botocore.session.Session(
        session_vars=_SEALED_VARIABLES,
        # Registering botocore's built-in handlers is most of a new session's cost (20 ms); a copy of a
        # registered set costs 3 ms. botocore gives each client a copy of its session's the same way.
        event_hooks=copy.copy(_builtin_handlers()),
        include_builtin_handlers=False,
    )


@cache
def _shared_loader() -> botocore.loaders.Loader:
    # A fresh loader re-reads service models and endpoint data: about 0.3 s per session.
    return _sealed_session().get_component("data_loader")


def botocore_session() -> botocore.session.Session:
    """A new botocore session that ignores the host's AWS profile and files (sharing one data loader)."""
    core = _sealed_session()
    core.register_component("data_loader", _shared_loader())
    return core


@cache
def model_session() -> botocore.session.Session:
    """The botocore session for reading service models and endpoint data as published, one per process
    (each new one re-lists the services and re-reads what it is asked for). Never make clients with it.

    Creating a client customizes the loader's cached models in place (botocore strips ``{Bucket}``
    from S3 request URIs for virtual-host addressing), so whoever parses requests by the model must not
    share a loader with the clients."""
    return _sealed_session()


def static_session(
    access_key_id: str, secret_access_key: str, region: str | None = None, session_token: str | None = None
) -> boto3.Session:
    """A boto3 session with fixed credentials. Each call gives a new session (boto3 sessions are not
    thread-safe)."""
    return boto3.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        region_name=region,
        botocore_session=botocore_session(),
    )
