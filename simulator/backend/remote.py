"""A backend that is already running somewhere: LocalStack or any AWS-compatible endpoint URL."""

from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from localstack_client.config import get_service_endpoint

from ..aws_session import static_session
from ..errors import EnvironmentProblem
from ..gateway.upstream import Transport, Upstream
from ..startstop import StartStop

# LocalStack (and this class) treat a 12-digit access key id as "act in this account".
_SECRET = "test"


class RemoteEndpoint(StartStop):
    def __init__(self, url: str, *, region: str = "us-east-1", account: str = "123456789012") -> None:
        self.endpoint_url = url.rstrip("/")
        self.region = region
        self.account = account

    def admin_session(self) -> boto3.Session:
        return static_session(self.account, _SECRET, self.region)

    def transport(self) -> Transport:
        return Upstream(self.endpoint_url)

    def start(self) -> None:
        """Check the endpoint answers and acts in our account; nothing is started."""
        sts = self.admin_session().client(
            "sts",
            endpoint_url=self.endpoint_url,
            config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 1}),
        )
        try:
            account = sts.get_caller_identity()["Account"]
        except (BotoCoreError, ClientError) as err:
            raise EnvironmentProblem(f"AWS backend at {self.endpoint_url} is not reachable: {err}") from None
        if account != self.account:
            raise EnvironmentProblem(
                f"AWS backend at {self.endpoint_url} acts in account {account}, not {self.account} "
                "(it must map a 12-digit access key id to that account, as LocalStack does)"
            )

    def stop(self) -> None:
        """Nothing to stop: the endpoint belongs to someone else."""

    def __repr__(self) -> str:
        return f"RemoteEndpoint({self.endpoint_url!r}, region={self.region!r}, account={self.account!r})"


def localstack_endpoint() -> str:
    """LocalStack's edge URL as the ``localstack-client`` package finds it: ``AWS_ENDPOINT_URL``, else
    ``LOCALSTACK_HOST`` (host[:port], default localhost:4566), https when ``USE_SSL`` is set."""
    url = get_service_endpoint("sts")
    if not url:  # the package maps every service it knows to the edge port
        raise EnvironmentProblem("localstack-client did not return an endpoint for LocalStack")
    return url
