"""The host helper container's failures: each is one clear EnvironmentProblem, and nothing is left."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import APIError, ImageNotFound

from simulator.docker.host_helper import HELPER_IMAGE, HostHelper
from simulator.errors import EnvironmentProblem


class Containers:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.created: list[Any] = []

    def create(self, image: str, command: list[str], **options: Any) -> Any:
        if self.error is not None:
            raise self.error
        container = Container(options)
        self.created.append(container)
        return container


class Container:
    id = "helper-id"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.removed = False

    def start(self) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the helper starts

    def remove(self, force: bool = False) -> None:
        self.removed = force


class Api:
    def attach_socket(self, container_id: str, params: dict[str, int]) -> object:
        return object()


class Client:
    def __init__(self, error: Exception | None = None) -> None:
        self.containers = Containers(error)
        self.api = Api()


def test_a_missing_image_names_it_and_the_script_that_builds_it() -> None:
    helper = HostHelper(Client(ImageNotFound("No such image")))  # type: ignore[arg-type]
    with pytest.raises(
        EnvironmentProblem,
        match=f"needs the image {HELPER_IMAGE} for its host helper: build it with scripts/setup-docker.sh",
    ):
        helper.run("iptables -S")


def test_a_refusal_by_docker_is_named() -> None:
    helper = HostHelper(Client(APIError("conflict", explanation="name in use")))  # type: ignore[arg-type]
    with pytest.raises(EnvironmentProblem, match="Docker could not create the host helper container"):
        helper.run("iptables -S")


def test_ctrl_c_while_it_starts_removes_it() -> None:
    client = Client()
    helper = HostHelper(client)  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        helper.run("iptables -S")
    [container] = client.containers.created
    assert container.removed
    # The helper is the host's network namespace, NET_ADMIN and the host's root, and goes by itself.
    assert container.options["network_mode"] == "host" and container.options["cap_add"] == ["NET_ADMIN"]
    assert container.options["volumes"]["/"] == {"bind": "/host", "mode": "ro"}
    assert container.options["stdin_open"] and container.options["auto_remove"]
