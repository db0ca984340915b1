"""One simulator's CA, certificates and name server for ``--aws-hostnames`` (see the package)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from docker.types import Mount

from . import BUNDLE_IN_CONTAINER
from .certificates import HostCertificates
from .dns import AwsNameServer


class AwsHostnames:
    """The CA, its certificates and the name server of one simulator; :meth:`close` removes them."""

    def __init__(self, endpoint_ip: str) -> None:
        self._endpoint_ip = endpoint_ip
        self._name_server: AwsNameServer | None = None
        self._directory = Path(tempfile.mkdtemp(prefix="ecs-sim-aws-hostnames-"))  # mode 0700: keys
        try:
            self.certificates = HostCertificates(self._directory)
        except BaseException:
            self.close()
            raise

    def serve_names(self, bind_ip: str) -> int:
        """Start answering DNS on ``bind_ip``; returns the UDP port."""
        self._name_server = AwsNameServer(bind_ip, self._endpoint_ip)
        self._name_server.start()
        return self._name_server.port

    @property
    def dns_servers(self) -> list[str]:
        """What a container that owns its network namespace names as its DNS server."""
        return [self._endpoint_ip]

    def mount(self) -> Mount:
        return Mount(BUNDLE_IN_CONTAINER, str(self.certificates.bundle_path), type="bind", read_only=True)

    def close(self) -> None:
        if self._name_server is not None:
            self._name_server.stop()
            self._name_server = None
        with contextlib.suppress(OSError):
            shutil.rmtree(self._directory)
