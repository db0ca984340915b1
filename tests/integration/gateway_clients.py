"""boto3 clients of a session registered with a running Simulator's gateway, for tests that make real calls."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from simulator.api import Simulator
from simulator.sessions import Session


def gateway_client(sim: Simulator, session: Session, service: str) -> Any:
    """A client of the assumed-role session whose calls pass the gateway, as a task's calls do."""
    assert sim.gateway is not None
    return boto3.client(
        service,
        endpoint_url=sim.gateway.url,
        region_name=sim.world.region,
        aws_access_key_id=session.access_key_id,
        aws_secret_access_key=session.secret_access_key,
        aws_session_token=session.session_token,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )


def role_session(sim: Simulator, role: str, prefix: str) -> Session:
    """A fresh session of the world's ``role``, named ``PREFIX-ROLE`` and registered as ``PREFIX/ROLE``."""
    return sim.assume_role(sim.world.role_arn(role), f"{prefix}-{role}", f"{prefix}/{role}")
