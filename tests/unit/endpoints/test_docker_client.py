import docker
import pytest
import requests
import urllib3
from docker.errors import DockerException

from simulator.docker import docker_client
from simulator.errors import EnvironmentProblem


def test_unreachable_engine_is_an_environment_problem_naming_the_address(monkeypatch, tmp_path):
    address = f"unix://{tmp_path}/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", address)
    with pytest.raises(EnvironmentProblem) as raised:
        docker_client()
    message = str(raised.value)
    assert message.startswith(f"Docker engine is not reachable at {address}: ")
    assert message.endswith(". Start it with scripts/setup-docker.sh")


def test_a_socket_this_user_may_not_use_says_so_instead_of_start_it(monkeypatch):
    def refuse():
        try:
            raise requests.ConnectionError(
                urllib3.exceptions.ProtocolError(
                    "Connection aborted.", PermissionError(13, "Permission denied")
                )
            )
        except requests.ConnectionError as err:
            raise DockerException(f"Error while fetching server API version: {err}") from err

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(docker, "from_env", refuse)
    with pytest.raises(EnvironmentProblem) as raised:
        docker_client()
    assert str(raised.value) == (
        "permission denied on the Docker engine at unix:///var/run/docker.sock: add this user to the docker "
        "group (`sudo usermod -aG docker $USER`, then log in again), or run as root"
    )
