"""`make demo`'s command leaves no process behind: not after Ctrl-C, not after SIGTERM, not even when it is
killed with SIGKILL (its django-q2 cluster and the cluster's workers go with it)."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from solana_payments.processes import die_with_parent
from tests.support.demo import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def chain_and_web_ports() -> tuple[int, int]:
    """A free port for the chain whose next port (its websocket endpoint) is free too, and a web port."""
    chain = free_port(span=2)
    return chain, free_port(avoid=(chain, chain + 1))


def marked_processes(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment carries `mark`: the demo and everything it started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"SP_PROCESS_MARK={mark}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


@pytest.fixture
def demo(tmp_path):
    """Start the demo (no seeded shop, to be quick) with its worker; yield (process, mark, log path)."""
    mark = uuid.uuid4().hex
    chain, web = chain_and_web_ports()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="demo.settings",
        SOLANA_PAYMENTS_DEMO_DIR=str(tmp_path),
        SOLANA_PAYMENTS_RPC_URL=f"http://127.0.0.1:{chain}",
        PYTHONUNBUFFERED="1",
        SP_PROCESS_MARK=mark,
    )
    log_path = tmp_path / "demo.log"
    log = open(log_path, "w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "solana_payments_demo",
            "--no-seed",
            "--addr",
            f"127.0.0.1:{free_port()}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def ready():
        assert process.poll() is None, log_path.read_text()
        return "The demo is ready" in log_path.read_text()

    def cluster_running():
        # the demo, the cluster's main process, its sentinel, monitor, pusher and at least one worker
        return len(marked_processes(mark)) >= 5

    try:
        wait_for(ready, 120, "the demo to start")
        wait_for(cluster_running, 60, "the django-q2 cluster to start its workers")
        yield process, mark, log_path
    finally:
        for pid in marked_processes(mark):  # never leave a stray process to the next test
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def assert_all_gone(mark: str, within: float) -> None:
    deadline = time.monotonic() + within
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not marked_processes(mark), [
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") for pid in marked_processes(mark)
    ]


def test_ctrl_c_stops_the_demo_and_its_cluster(demo):
    process, mark, log_path = demo
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the demo's process group
    assert_all_gone(mark, within=30)
    process.wait(timeout=5)
    output = log_path.read_text()
    assert "django-q2 cluster stopped." in output and "Stopped. The chain was saved" in output, output[-2000:]


def test_sigterm_stops_the_demo_and_its_cluster(demo):
    process, mark, log_path = demo
    process.terminate()
    assert_all_gone(mark, within=30)
    assert "django-q2 cluster stopped." in log_path.read_text()


def test_sigkill_of_the_demo_takes_its_workers_down(demo):
    process, mark, log_path = demo
    cluster_pid = int(re.search(r"django-q2 cluster started \(pid (\d+)\)", log_path.read_text()).group(1))
    assert cluster_pid in marked_processes(mark)
    process.kill()  # no clean-up code runs: the kernel alone must take the cluster down
    process.wait()
    assert_all_gone(mark, within=30)


def test_a_forked_child_dies_with_its_parent():
    """The building block, on its own: a child that asked for it is killed when its parent exits."""
    read_end, write_end = os.pipe()
    parent = os.fork()
    if parent == 0:  # the middle process: fork a grandchild tied to it, report its pid, then exit
        try:
            os.close(read_end)
            me = os.getpid()
            child = os.fork()
            if child == 0:
                die_with_parent(me)
                time.sleep(60)
                os._exit(0)
            os.write(write_end, str(child).encode())
            time.sleep(0.5)  # give the grandchild time to ask
        finally:
            os._exit(0)
    os.close(write_end)
    grandchild = int(os.read(read_end, 32))
    os.close(read_end)
    os.waitpid(parent, 0)

    def dead():
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state in ("Z", "X")

    wait_for(dead, 10, "the grandchild to die with its parent")
