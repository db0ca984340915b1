import pytest

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
