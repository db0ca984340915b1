"""Reaper sweeps take turns across processes of one host, and nest within one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

from simulator.docker import exclusive_sweeps

# Takes the sweep turn the way another simulator would: exits 1 when it is held and "now" was asked.
TAKE_TURN = textwrap.dedent(
    """
    import sys
    from simulator.docker import reaper
    if sys.argv[1] == "now":
        import fcntl, os
        descriptor = os.open(reaper._SWEEP_LOCK_PATH, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(1)
    else:
        with reaper.exclusive_sweeps():
            pass
    """
)


def another_process_gets_a_turn(when: str) -> bool:
    return subprocess.run([sys.executable, "-c", TAKE_TURN, when], timeout=60).returncode == 0


def test_another_process_waits_while_a_sweep_turn_is_held():
    with exclusive_sweeps():
        assert not another_process_gets_a_turn("now")
        with exclusive_sweeps():  # a sweep inside the holder's block does not wait for itself
            assert not another_process_gets_a_turn("now")
        assert not another_process_gets_a_turn("now")
    # other test workers' simulators may sweep meanwhile: so it waits for its turn
    assert another_process_gets_a_turn("when free")


def test_threads_of_one_process_take_turns():
    inside = threading.Event()
    release = threading.Event()
    entered_second: list[bool] = []

    def wait_for_turn() -> None:
        with exclusive_sweeps():
            entered_second.append(True)

    def hold() -> None:
        with exclusive_sweeps():
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(10)
    waiter = threading.Thread(target=wait_for_turn)
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not entered_second  # the holder's thread still has the turn
    release.set()
    holder.join(10)
    waiter.join(10)
    assert entered_second == [True]
