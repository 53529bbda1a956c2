"""bench/memory.py: each process is charged its own memory, not the high-water mark it inherits.

On Linux a child's ru_maxrss starts at its parent's peak (at exec, or at fork), so a 40 MB child of a
200 MB parent reports 200 MB; the sampler must not. A fork that allocates little shares its
parent's pages: its RSS is the parent's, its USS is small, and the tree's summed PSS counts the
shared pages once. Short-lived processes must still be caught.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bench.memory import ProcessTreeSampler, label_of, measure

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PARENT_MB, CHILD_MB, FORK_MB = 200, 30, 5

# Allocates PARENT_MB (written, so resident), then runs a child Python allocating CHILD_MB, then forks a
# child that allocates FORK_MB, then runs three 0.15 s processes one after the other.
PARENT = textwrap.dedent(f"""
    import os, subprocess, sys, time
    big = b"x" * ({PARENT_MB} << 20)
    child = "import time; b = b'y' * ({CHILD_MB} << 20); time.sleep(0.4); print('child done')"
    print(subprocess.run([sys.executable, "-c", child, "child"], capture_output=True, text=True).stdout.strip())
    pid = os.fork()
    if pid == 0:
        small = b"z" * ({FORK_MB} << 20)
        time.sleep(0.5)
        os._exit(0)
    os.waitpid(pid, 0)
    for _ in range(3):
        subprocess.run(["sleep", "0.15"], check=True)
    print("parent done")
""")


@pytest.fixture(scope="module")
def measured():
    return measure([sys.executable, "-c", PARENT, "parent"])


def test_the_command_runs_and_is_reported(measured):
    assert measured.returncode == 0, measured.stderr
    assert measured.stdout.split() == ["child", "done", "parent", "done"]
    assert measured.wall_s > 0.9  # 0.4 + 0.5 + 3 x 0.15 s of sleeping
    assert measured.top.label == "python -c parent"
    assert PARENT_MB <= measured.top.peak_rss_mb < PARENT_MB + 60


def test_an_exec_child_is_charged_its_own_memory_not_its_parents(measured):
    (child,) = measured.memory.with_label("python -c child")
    assert not child.forked
    assert child.ppid == measured.top.pid
    # ru_maxrss in the child would say >= PARENT_MB: it inherits the parent's high-water mark
    assert CHILD_MB <= child.peak_rss_mb < CHILD_MB + 40
    assert child.peak_rss_mb < measured.top.peak_rss_mb / 3
    assert child.peak_pss_mb < CHILD_MB + 40


def test_a_fork_is_charged_its_private_pages_and_the_shared_ones_count_once(measured):
    (fork,) = measured.memory.with_label("fork of python -c parent")
    assert fork.forked
    assert fork.peak_rss_mb > PARENT_MB * 0.9  # RSS counts every page it maps, shared or not
    assert fork.peak_uss_mb < FORK_MB + 25  # what the fork alone costs
    assert fork.peak_pss_mb < PARENT_MB / 2 + FORK_MB + 25  # half of what it shares with its parent
    assert measured.memory.peak_tree_rss_mb > 1.8 * PARENT_MB  # summed RSS counts the shared pages twice
    # Summed PSS counts the shared pages about once. Not exactly: a large process's PSS is read less often than
    # every sample, so the parent's and the fork's figures can come from different moments (seen under load).
    assert measured.memory.peak_tree_pss_mb < 0.85 * measured.memory.peak_tree_rss_mb


def test_short_lived_processes_are_caught(measured):
    sleeps = measured.memory.with_label("sleep 0.15")
    assert len(sleeps) == 3
    assert all(not sleep.forked and sleep.peak_rss_mb < 20 for sleep in sleeps)
    # nothing else was seen (in particular no pre-exec copy of the parent)
    assert {p.label for p in measured.memory.processes} == {
        "python -c parent", "python -c child", "fork of python -c parent", "sleep 0.15"}


def test_the_in_process_sampler_sees_children_but_not_itself():
    with ProcessTreeSampler(os.getpid(), include_roots=False) as sampler:
        subprocess.run([sys.executable, "-c", "import time; b = b'q' * (20 << 20); time.sleep(0.3)", "alone"],
                       check=True)
    memory = sampler.result()
    # Not itself; other children of this process (a test worker's multiprocessing helpers) may be seen too.
    assert os.getpid() not in {p.pid for p in memory.processes}
    [alone] = memory.with_label("python -c alone")
    assert 20 <= alone.peak_rss_mb < 70
    assert memory.by_label()["python -c alone"]["processes"] == 1


@pytest.mark.parametrize(("argv", "label"), [
    (["/venv/bin/python3.11", "/venv/bin/dbt", "build", "--exclude-resource-type", "test"], "dbt build"),
    (["/usr/bin/python3", "-u", "-m", "orchestration.run", "--all"], "python -m orchestration.run"),
    (["python", "-X", "dev", "/repo/bench/quality_gate_worker.py", "gate", "/tmp/w.duckdb"],
     "quality_gate_worker.py gate"),
    (["/usr/bin/python", "bench/x_worker.py", "/tmp/only/a/path"], "x_worker.py"),
    (["sleep", "0.15"], "sleep 0.15"),
    (["python3", "-c", "from multiprocessing.resource_tracker import main;main(7)"],
     "python -c from multiprocessing.resource_tracker im..."),
])
def test_labels(argv, label):
    assert label_of(argv) == label
