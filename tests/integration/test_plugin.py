"""The pytest plugin, exercised the way users use it: pytester runs test files in a fresh pytest
(a subprocess, so the plugin loads through its ``pytest11`` entry point), on real Docker and moto."""

from __future__ import annotations

import pytest
from doc_examples import REPO, doc_example

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.docker


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder laid out like the repository root: ``sample_tasks/`` is there."""
    (pytester.path / "sample_tasks").symlink_to(REPO / "sample_tasks")
    return pytester


def test_options_and_marker_are_registered(pytester: pytest.Pytester) -> None:
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "ecs-sim (local Amazon ECS tasks)" in help_text
    assert "--ecs-world" in help_text and "--ecs-launch-type" in help_text
    markers = pytester.runpytest_subprocess("--markers").stdout.str()
    assert "@pytest.mark.ecs_world(world)" in markers


def test_missing_world_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--ecs-world", "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ecs-sim: no such world file*nope.yaml*"])


def test_documented_example_runs_two_tests_in_parallel(project: pytest.Pytester) -> None:
    project.makepyfile(test_task_roles=doc_example("pytest"))
    result = project.runpytest_subprocess("-n", "2", "-v")
    result.assert_outcomes(passed=2)
    # one test on each worker: two simulators, two task networks, at the same time
    result.stdout.fnmatch_lines_random(["*gw0*PASSED*", "*gw1*PASSED*"])


def test_failures_print_the_diagnosis(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.ecs_world("sample_tasks/secret-on-task-role/world.yaml")
        TASKDEF = "sample_tasks/secret-on-task-role/taskdef.json"

        def test_helper(ecs_sim):
            ecs_sim.run_task(TASKDEF).assert_succeeded()

        def test_plain_assert(ecs_sim):
            assert ecs_sim.run_task(TASKDEF).exit_code == 0
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    denial = "*denied in phase execution: secretsmanager:GetSecretValue on arn:aws:secretsmanager:*"
    diagnosis = "*was denied to the task execution role `ecsTaskExecutionRole` at task start*"
    # the helper's AssertionError carries the story
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the task did not succeed (exit code 2)*",
            "*stopCode TaskFailedToStart*",
            denial,
            diagnosis,
        ]
    )
    # a plain assert: the report's "ecs-sim tasks" section tells the same
    result.stdout.fnmatch_lines(["*_ test_plain_assert _*", "*- ecs-sim tasks -*", denial, diagnosis])


ISOLATION_TESTS = """
import pytest

WORLD = {"account": "111122223333", "s3_buckets": {"shared": {"objects": {"seed.txt": "seeded"}}}}
SESSION_SIMS = []


def keys(sim):
    return sorted(o["Key"] for o in sim.client("s3").list_objects_v2(Bucket="shared").get("Contents", []))


def secrets(sim):
    return {s["Name"] for s in sim.client("secretsmanager").list_secrets()["SecretList"]}


def test_1_session_sim(ecs_session_sim, ecs_world):
    assert str(ecs_world).endswith("asm-json-key/world.yaml")  # --ecs-world is the default world
    SESSION_SIMS.append(ecs_session_sim)
    ecs_session_sim.client("secretsmanager").create_secret(Name="made-by-test-1", SecretString="x")
    assert "made-by-test-1" in secrets(ecs_session_sim)


@pytest.mark.parametrize("name", ["first", "second"])
@pytest.mark.ecs_world(WORLD)
def test_2_fresh_world(ecs_sim, name):
    # the session world's account too, yet each test starts from the world as written
    assert keys(ecs_sim) == ["seed.txt"]
    ecs_sim.client("s3").put_object(Bucket="shared", Key=name, Body=b"x")
    assert keys(ecs_sim) == [name, "seed.txt"]


def test_3_session_sim_again(ecs_session_sim):
    assert ecs_session_sim is SESSION_SIMS[0]
    # it made room for test_2's account and started again, seeded afresh
    assert secrets(ecs_session_sim) == {"app/db"}
"""


def test_each_test_gets_a_fresh_world_and_the_session_one_is_shared(project: pytest.Pytester) -> None:
    project.makepyfile(test_isolation=ISOLATION_TESTS)
    # sequentially in one process: same account, state must not leak from one test to the next
    result = project.runpytest_subprocess(
        "-p", "no:xdist", "--ecs-world", "sample_tasks/asm-json-key/world.yaml"
    )
    result.assert_outcomes(passed=4)


def test_world_built_in_a_conftest_fixture(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture
        def ecs_world():
            return {"account": "444455556666", "region": "eu-west-1", "roles": {"app": {"trust": "ecs-tasks"}}}
        """
    )
    project.makepyfile(
        """
        def test_world(ecs_sim):
            assert ecs_sim.world.account == "444455556666"
            role = ecs_sim.client("iam").get_role(RoleName="app")["Role"]
            assert role["Arn"] == "arn:aws:iam::444455556666:role/app"
        """
    )
    project.runpytest_subprocess().assert_outcomes(passed=1)
