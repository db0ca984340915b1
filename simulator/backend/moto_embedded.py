"""moto's server running in this process on 127.0.0.1, on a free port (the default backend).

How moto picks the account of a request (moto 5, ``BaseResponse.get_current_account``): env
``MOTO_ACCOUNT_ID`` first, then the ``x-moto-account-id`` header, then the account that owns the
request's access key in moto's IAM (``moto.iam.models.get_account_id_from``), else 123456789012.
STS ``AssumeRole`` registers the keys it issues in the role's account, so sessions of world roles land
in the world's account by themselves. The admin credentials are made the same way: a temporary access
key created directly in the account's IAM backend, so no process-wide setting is needed.

moto's HTTP server serves clients that use ``endpoint_url`` (admin clients, seeding); the gateway calls
moto's WSGI application in-process instead (``transport()``), which saves a connection and werkzeug's
request parsing per forwarded call.

moto keeps its state in module globals: every ``EmbeddedMoto`` in one process shares it. Instances for
different accounts are isolated; instances for the same account at the same time share that account.
An account's state is wiped when the first instance using it starts and when the last one stops.
Starting one also makes moto's KMS create key pairs lazily (see ``_LazyPrivateKey``), and moto read
service models through one kept loader and look regions up in a sealed session (see
``_one_model_loader``, ``_sealed_region_lookups``), and import SSM's models without EC2's
(``_ssm_without_ec2``), process-wide.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import sys
import threading
import types
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
import moto.core.utils as moto_core_utils
import moto.kms.models as moto_kms_models
from moto.core.base_backend import AccountSpecificBackend, BackendDict, backend_lock
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from moto.iam.access_control import PermissionResult
from moto.iam.models import AWSManagedPolicy, IAMBackend, iam_backends
from moto.s3.models import FakeBucket
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app

from ..aws_session import botocore_session, static_session
from ..errors import EnvironmentProblem
from ..gateway.in_process import Environ, InProcess
from ..gateway.upstream import Transport
from ..startstop import StartStop
from ..world.aws_managed import aws_managed_policies

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

_accounts_lock = threading.Lock()
_accounts_in_use: Counter[str] = Counter()


def _wipe_account(account: str) -> None:
    """Drop every service's state for ``account``. Only S3 is reset first, to free its bucket names
    (a global namespace); resetting IAM would reload the managed policies of every partition."""
    with backend_lock:
        for backend_dict in list(BackendDict._instances):
            account_backend = backend_dict.pop(account, None)
            if account_backend is not None and backend_dict.service_name == "s3":
                account_backend.reset()


def _load_aws_managed_policies(iam: IAMBackend) -> None:
    """Give one account's IAM the AWS managed policies (AmazonECSTaskExecutionRolePolicy ...) from
    moto's bundled data, as ``MOTO_IAM_LOAD_MANAGED_POLICIES`` would, but for this account and the
    ``aws`` partition only: moto's switch loads them (~0.2 s) into every partition of every account
    it touches, which ``get_account_id_from`` does on each request with an unknown key."""
    if iam.aws_managed_policies:
        return
    policies = [
        AWSManagedPolicy.from_data(name, iam.account_id, iam.region_name, data)
        for name, data in aws_managed_policies().items()
    ]
    iam.aws_managed_policies = policies
    iam.managed_policies.update({policy.arn: policy for policy in policies})


class _LazyPrivateKey:
    """moto makes an RSA-2048 key pair for every KMS key, symmetric ones too (about 0.5 s each on a
    small machine); only Sign/Verify/GetPublicKey of asymmetric keys use it. Make it on first use."""

    def __init__(self, make: Callable[[str], Any], key_spec: str) -> None:
        self._make = make
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._key is None:
                self._key = self._make(self._key_spec)
        return getattr(self._key, name)


def _defer_kms_key_pairs() -> None:
    if getattr(moto_kms_models.generate_private_key, "ecs_sim_lazy", False):
        return
    make = moto_kms_models.generate_private_key

    def lazy(key_spec: str) -> Any:
        return _LazyPrivateKey(make, key_spec)

    lazy.ecs_sim_lazy = True  # type: ignore[attr-defined]
    moto_kms_models.generate_private_key = lazy


def _one_model_loader() -> None:
    """moto reads a service's model (to parse its requests and shape its errors) through a loader made
    for that one read, which first lists every service directory of botocore and moto: 40-100 ms per
    service on its first call. One loader, kept, lists them once."""
    if not hasattr(moto_core_utils.create_loader, "cache_info"):
        moto_core_utils.create_loader = cache(moto_core_utils.create_loader)


def _sealed_region_lookups() -> None:
    """moto lists a service's regions for each account it serves with a ``boto3.Session()`` of its own,
    which parses the endpoint data again (50-100 ms) and reads the host's AWS set-up (an ``AWS_PROFILE``
    naming a missing profile failed the lookup; moto's other ``Session()`` calls still read it). A sealed
    session sharing the clients' data loader answers instead."""
    AccountSpecificBackend.get_session = classmethod(_region_session)  # type: ignore[method-assign,assignment]


@cache
def _region_session(_: type) -> botocore.session.Session:
    return botocore_session()


class _EC2BackendsOnFirstUse:
    """Stands in for ``moto.ec2.ec2_backends`` in moto's SSM models: the real one, imported on first use."""

    def __getitem__(self, account: str) -> Any:
        from moto.ec2 import ec2_backends

        return ec2_backends[account]


def _ssm_without_ec2() -> None:
    """moto's SSM models import all of EC2's (instance types, AMIs, regions: 0.9 s, the largest cost of a
    cold start with SSM parameters) for maintenance-window targets and ``aws:ec2:image`` parameters
    only. They are imported here, before any request, against a stand-in ``moto.ec2`` that reaches the
    real EC2 backends when SSM first needs them; anything importing ``moto.ec2`` afterwards gets the real
    one."""
    if "moto.ssm.models" in sys.modules or "moto.ec2" in sys.modules:
        return
    stand_in = types.ModuleType("moto.ec2")
    stand_in.ec2_backends = _EC2BackendsOnFirstUse()  # type: ignore[attr-defined]
    sys.modules["moto.ec2"] = stand_in
    try:
        importlib.import_module("moto.ssm.models")
    finally:
        if sys.modules.get("moto.ec2") is stand_in:
            del sys.modules["moto.ec2"]


def _leave_bucket_policies_to_the_gateway() -> None:
    """moto refuses an object request (a bare 403) when any statement of the bucket policy denies its
    action, whatever the statement's Principal and Condition say: a policy denying plain HTTP, or denying
    everyone but one role, would refuse every call. The gateway has decided the request with the whole
    policy before moto sees it, so moto's own judgement is turned off, process-wide."""
    FakeBucket.get_permission = _no_bucket_verdict  # type: ignore[method-assign]


def _no_bucket_verdict(self: FakeBucket, action: str, resource: str) -> PermissionResult:
    return PermissionResult.NEUTRAL


def _check_host_profile() -> None:
    """moto, running in this process, makes boto3 sessions of its own (SSM's defaults, its error pages),
    and those read the host's AWS_PROFILE: one naming a profile that does not exist turns moto's answers
    into 500s. ecs-sim needs no host profile; say so before anything starts."""
    variable = next((v for v in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(v)), None)
    if variable is None:  # only a named profile can be missing; reading the config costs ~14 ms a start
        return
    try:
        botocore.session.Session().get_scoped_config()
    except botocore.exceptions.ProfileNotFound as err:
        raise EnvironmentProblem(
            f"{variable}: {err} (the embedded moto backend reads it; ecs-sim itself needs no AWS profile): "
            f"unset {variable} or name a profile that exists"
        ) from None


def _check_port_free(host: str, port: int) -> None:
    # ThreadedMotoServer.start() waits forever when its thread fails to bind
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise EnvironmentProblem(f"cannot start moto on {host}:{port}: {err.strerror}") from None


def _stop_promptly(server: ThreadedMotoServer, url: str) -> None:
    """``server.stop()`` waits for the serve loop to notice, up to its 0.5 s poll interval; a connection
    wakes the loop at once, so poke it until the stop is done."""
    stopper = threading.Thread(target=server.stop, name="ecs-sim-moto-stop")
    stopper.start()
    host, port = url.removeprefix("http://").rsplit(":", 1)
    while stopper.is_alive():
        with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=0.2):
            pass
        stopper.join(0.02)


def _keep_metadata_underscores(environ: Environ, headers: Sequence[tuple[str, str]]) -> None:
    """What moto's HTTP server (``MotoRequestHandler``) adds to werkzeug's environ: S3 metadata headers
    whose names hold underscores (``x-amz-meta-my_key``), which werkzeug drops, with their names as sent,
    unless a header spelled with dashes takes the same environ key."""
    dashed = {environ_key_for_header(name) for name, _ in headers if "_" not in name}
    names: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for name, value in headers:
        key = environ_key_for_header(name)
        if should_preserve_original_header_name(name) and key not in dashed:
            names.setdefault(key, name)
            values.setdefault(key, []).append(value.replace("\r\n", ""))
    for key, found in values.items():
        environ[key] = ",".join(found)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names


class EmbeddedMoto(StartStop):
    def __init__(
        self,
        *,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        host: str = "127.0.0.1",
        port: int = 0,
        load_managed_policies: bool = True,
    ) -> None:
        self.account = account
        self.region = region
        self._host = host
        self._port = port
        self._load_managed_policies = load_managed_policies
        self._server: ThreadedMotoServer | None = None
        # moto's WSGI application for in-process calls; its state is moto's, shared with the server's
        self._app: DomainDispatcherApplication | None = None
        self._admin_key: tuple[str, str] | None = None
        self.endpoint_url = ""

    def start(self) -> None:
        if self._server is not None:
            return
        forced = os.environ.get("MOTO_ACCOUNT_ID")
        if forced and forced != self.account:
            raise EnvironmentProblem(
                f"MOTO_ACCOUNT_ID={forced} is set: moto would put everything in that account, "
                f"not in the world's account {self.account}; unset it"
            )
        _check_host_profile()
        _defer_kms_key_pairs()
        _one_model_loader()
        _sealed_region_lookups()
        _leave_bucket_policies_to_the_gateway()
        _ssm_without_ec2()
        if self._port:  # before the account is claimed: a failed start must not keep its state alive
            _check_port_free(self._host, self._port)
        with _accounts_lock:
            if not _accounts_in_use[self.account]:
                _wipe_account(self.account)
            _accounts_in_use[self.account] += 1
        # werkzeug logs every request at INFO on stderr
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server = server
        server.start()
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._app = DomainDispatcherApplication(create_backend_app)
        iam = iam_backends[self.account]["aws"]
        if self._load_managed_policies:
            _load_aws_managed_policies(iam)
        key = iam.create_temp_access_key()
        self._admin_key = (key.access_key_id, key.secret_access_key)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        _stop_promptly(server, self.endpoint_url)
        with _accounts_lock:
            _accounts_in_use[self.account] -= 1
            if not _accounts_in_use[self.account]:
                del _accounts_in_use[self.account]
                _wipe_account(self.account)
        self._admin_key = None
        self._app = None

    def transport(self) -> Transport:
        if self._app is None:
            raise RuntimeError("EmbeddedMoto.transport() called before start()")
        return InProcess(self._app, self.endpoint_url.removeprefix("http://"), _keep_metadata_underscores)

    def admin_session(self) -> boto3.Session:
        if self._admin_key is None:
            raise RuntimeError("EmbeddedMoto.admin_session() called before start()")
        key_id, secret = self._admin_key
        return static_session(key_id, secret, self.region)

    def __repr__(self) -> str:
        return f"EmbeddedMoto(account={self.account!r}, region={self.region!r}, url={self.endpoint_url!r})"
