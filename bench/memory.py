"""Peak memory of every process in a process tree, sampled from /proc (Linux only, no dependencies).

Why not ``resource.getrusage(...).ru_maxrss``: on Linux it is inherited. At exec the kernel keeps
the high-water mark of the memory being replaced, and Python's subprocess starts children with
vfork, where that memory is the parent's own: a worker started by a 1.3 GB benchmark process
reports at least 1.3 GB (measured: 310 MB for a 40 MB child of a process that had peaked at 310 MB).
A fork's mark starts at the parent's RSS at the fork, pages it shares counted in full.
``RUSAGE_CHILDREN`` is the largest of the reaped descendants' (inherited) marks, not one process's
figure. The kernel's per-memory mark (``VmHWM`` in /proc/<pid>/status) starts afresh at exec, so it
is honest for an exec'd process, not for a fork that did not exec.

What is measured instead, every ``interval`` (50 ms), for the roots and all their descendants (found
by walking /proc/*/stat parent ids):
- RSS (``VmRSS``), and ``VmHWM`` at the last sample: for an exec'd process the kernel's exact peak,
  missing only growth after the last sample (a zombie's /proc entry has no memory figures left,
  so the exit-time figure cannot be read; hence polling);
- PSS and USS from /proc/<pid>/smaps_rollup. PSS charges each shared page in equal parts to the
  processes that map it, so after a fork the copy-on-write pages count once across parent and
  child. USS (private pages) is what a process alone costs. smaps_rollup walks the page tables,
  about 12 ms per GB, so one process's PSS is read at most every ``cost / pss_budget`` seconds
  (5% of a core by default) while its RSS is still read at every sample;
- the peak over samples of the tree's summed PSS: the memory the whole tree used at once.
A process that lives 100 ms or more is caught. A child that looks exactly like its parent (same
executable, same arguments) is a fork that did not exec: it is labelled "fork of <parent label>",
and its RSS and VmHWM include the parent's pages, so read its USS or PSS. A fork seen only once
before it exec'd (the instant between vfork and exec shares the parent's memory) is dropped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

MB = 1024  # figures are read in kB

_WORD = re.compile(r"^[\w.:=+-]{1,40}$")  # a subcommand or short argument, not a path or code
_PYTHON = re.compile(r"^python[\d.]*$")
_PYTHON_OPTION_WITH_VALUE = {"-X", "-W", "-Q"}


def label_of(argv: Sequence[str]) -> str:
    """A short readable name for a command line: ``dbt build``, ``python -m orchestration.run``,
    ``quality_gate_worker.py gate``, ``sleep 0.1``."""
    if not argv:
        return "?"
    program, rest = os.path.basename(argv[0]), list(argv[1:])
    if _PYTHON.match(program):
        program = "python"
        while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-c"):
            rest = rest[2:] if rest[0] in _PYTHON_OPTION_WITH_VALUE else rest[1:]
        if rest[:1] == ["-m"]:
            program, rest = " ".join(["python", *rest[:2]]), rest[2:]
        elif rest[:1] == ["-c"]:  # named by its first short argument, else by the start of its code
            word = next((arg for arg in rest[2:] if not arg.startswith("-")), "")
            code = (rest[1] if len(rest) > 1 else "").strip().split("\n")[0]
            shown = word if _WORD.match(word) else code[:40] + "..." * (len(code) > 40)
            return f"python -c {shown}".strip()
        elif rest:  # a script, e.g. a console script's shebang: /venv/bin/python /venv/bin/dbt build
            program, rest = os.path.basename(rest[0]), rest[1:]
    word = next((arg for arg in rest if not arg.startswith("-")), None)
    return f"{program} {word}" if word and _WORD.match(word) else program


@dataclass(frozen=True)
class ProcessPeak:
    """One process (one program: an exec starts a new record) as the sampler saw it. Sizes in MB."""

    pid: int
    ppid: int
    label: str
    forked: bool  # a fork that did not exec: RSS and VmHWM include pages it shares with its parent
    peak_rss_mb: float  # max of sampled RSS and, unless forked, the kernel's VmHWM
    peak_pss_mb: float
    peak_uss_mb: float
    hwm_mb: float  # VmHWM at the last sample
    seen_s: float  # from the first to the last sample that saw it
    samples: int


@dataclass(frozen=True)
class TreeMemory:
    processes: list[ProcessPeak]  # in the order they were first seen
    peak_tree_pss_mb: float  # the tree's summed PSS at its highest sample
    peak_tree_rss_mb: float  # summed RSS at its highest sample: shared pages count in every process
    rounds: int

    def by_label(self, digits: int = 1) -> dict[str, dict[str, float]]:
        """Per label, the largest peaks among the processes with that label, and how many there were."""
        merged: dict[str, dict[str, float]] = {}
        for process in self.processes:
            entry = merged.setdefault(process.label, {"peak_rss_mb": 0.0, "peak_pss_mb": 0.0,
                                                      "peak_uss_mb": 0.0, "processes": 0})
            for key in ("peak_rss_mb", "peak_pss_mb", "peak_uss_mb"):
                entry[key] = max(entry[key], round(getattr(process, key), digits))
            entry["processes"] += 1
        return merged

    def with_label(self, label: str) -> list[ProcessPeak]:
        return [process for process in self.processes if process.label == label]


@dataclass
class _Record:
    pid: int
    ppid: int
    identity: tuple[str, tuple[str, ...]]  # executable and arguments
    label: str
    forked: bool
    first: float
    last: float = 0.0
    samples: int = 0
    rss: int = 0
    hwm: int = 0
    pss: int = 0
    uss: int = 0
    pss_now: int = 0
    rss_now: int = 0
    pss_due: float = 0.0

    def frozen(self) -> ProcessPeak:
        rss = self.rss if self.forked else max(self.rss, self.hwm)
        return ProcessPeak(self.pid, self.ppid, self.label, self.forked, rss / MB, self.pss / MB, self.uss / MB,
                           self.hwm / MB, round(self.last - self.first, 3), self.samples)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:  # gone, or not ours to read
        return None


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks): the start time tells a reused pid apart."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may contain spaces and parentheses
    return int(fields[1]), int(fields[19])


def _identity(pid: int) -> tuple[str, tuple[str, ...]] | None:
    cmdline = _read(f"/proc/{pid}/cmdline")
    if not cmdline:  # gone, a zombie or a kernel thread
        return None
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    return exe, tuple(cmdline.rstrip("\0").split("\0"))


def _status_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, None once it has exited."""
    text = _read(f"/proc/{pid}/status")
    if text is None or "VmRSS:" not in text:
        return None
    values = dict(line.split(":", 1) for line in text.splitlines() if line.startswith(("VmRSS", "VmHWM")))
    return int(values["VmRSS"].split()[0]), int(values["VmHWM"].split()[0])


def _rollup_kb(pid: int) -> tuple[int, int] | None:
    """(PSS, USS) in kB from smaps_rollup."""
    text = _read(f"/proc/{pid}/smaps_rollup")
    if text is None:
        return None
    values = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        if name in ("Pss", "Private_Clean", "Private_Dirty"):
            values[name] = int(rest.split()[0])
    if "Pss" not in values:
        return None
    return values["Pss"], values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)


class ProcessTreeSampler:
    """Samples ``roots`` and all their descendants in a background thread until stopped.

        with ProcessTreeSampler(os.getpid(), include_roots=False) as sampler:
            server = subprocess.Popen([...]); subprocess.run([...]); server.terminate()
        memory = sampler.result()   # per process: label, peak RSS/PSS/USS; the tree's peak PSS

    A process stays tracked once seen, even if its parent exits before it does."""

    def __init__(self, *roots: int, include_roots: bool = True, interval: float = 0.05,
                 pss_budget: float = 0.05) -> None:
        self._roots = list(roots)
        self._include_roots = include_roots
        self._interval = interval
        self._pss_budget = pss_budget
        self._live: dict[tuple[int, int], _Record] = {}
        self._records: list[_Record] = []
        self._tree_pss = self._tree_rss = 0
        self._rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_root(self, pid: int) -> None:
        self._roots.append(pid)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="process-tree-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> TreeMemory:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return self.result()

    def result(self) -> TreeMemory:
        return TreeMemory([record.frozen() for record in self._records], self._tree_pss / MB,
                          self._tree_rss / MB, self._rounds)

    def _run(self) -> None:
        while True:
            began = time.monotonic()
            self.sample()
            if self._stop.wait(max(0.0, self._interval - (time.monotonic() - began))):
                self.sample()  # a last look at whatever is still running
                return

    def sample(self) -> None:
        """One round: find the tree's processes and read their memory."""
        now = time.monotonic()
        stats: dict[int, tuple[int, int]] = {}
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if name.isdigit() and (stat := _stat(name)) is not None:
                stats[int(name)] = stat
                children.setdefault(stat[0], []).append(int(name))
        members, stack = set(), [pid for pid in self._roots if pid in stats]
        while stack:
            pid = stack.pop()
            if pid not in members:
                members.add(pid)
                stack.extend(children.get(pid, ()))
        if not self._include_roots:
            members -= set(self._roots)
        members |= {pid for pid, start in self._live if stats.get(pid, (0, -1))[1] == start}
        identities: dict[int, tuple[str, tuple[str, ...]] | None] = {}

        def identity(pid: int) -> tuple[str, tuple[str, ...]] | None:
            if pid not in identities:
                identities[pid] = _identity(pid)
            return identities[pid]

        alive: dict[tuple[int, int], _Record] = {}
        for pid in sorted(members):
            ppid, start = stats[pid]
            ident, status = identity(pid), _status_kb(pid)
            if ident is None or status is None:
                continue
            record = self._live.get((pid, start))
            if record is not None and record.identity != ident:  # it exec'd: a new program
                if record.forked and record.samples < 2:  # only the pre-exec copy of its parent
                    self._records.remove(record)
                record = None
            if record is None:
                parent = identity(ppid)
                forked = parent == ident
                parent_record = next((r for k, r in [*alive.items(), *self._live.items()] if k[0] == ppid), None)
                parent_label = parent_record.label if parent_record else label_of(parent[1]) if parent else "?"
                record = _Record(pid, ppid, ident, f"fork of {parent_label}" if forked else label_of(ident[1]),
                                 forked, first=now)
                self._records.append(record)
            record.rss_now, hwm = status
            record.rss, record.hwm = max(record.rss, record.rss_now), max(record.hwm, hwm)
            if now >= record.pss_due and (rollup := self._timed_rollup(record, now)) is not None:
                record.pss_now, uss = rollup
                record.pss, record.uss = max(record.pss, record.pss_now), max(record.uss, uss)
            record.samples += 1
            record.last = now
            alive[(pid, start)] = record
        self._live = alive
        counted = [r for r in alive.values() if not r.forked or r.samples >= 2]  # see the docstring on vfork
        self._tree_pss = max(self._tree_pss, sum(r.pss_now for r in counted))
        self._tree_rss = max(self._tree_rss, sum(r.rss_now for r in counted))
        self._rounds += 1

    def _timed_rollup(self, record: _Record, now: float) -> tuple[int, int] | None:
        began = time.monotonic()
        rollup = _rollup_kb(record.pid)
        record.pss_due = now + max(self._interval, (time.monotonic() - began) / self._pss_budget)
        return rollup


@dataclass(frozen=True)
class Measured:
    """One command, measured from outside: wall time and CPU seconds (its own and those of the
    descendants it waited for, from wait4), its output, and the memory of its whole process tree."""

    cmd: list[str]
    wall_s: float
    cpu_s: float
    returncode: int
    stdout: str
    stderr: str
    memory: TreeMemory = field(repr=False)
    pid: int = 0

    @property
    def top(self) -> ProcessPeak:
        """The command's own process (the last program it exec'd, if several)."""
        own = [process for process in self.memory.processes if process.pid == self.pid]
        if not own:
            raise RuntimeError(f"{label_of(self.cmd)} exited before its first sample")
        return own[-1]

    def last_json(self) -> Any:
        """The last line the command printed, as JSON: how the workers report their results."""
        return json.loads(self.stdout.strip().splitlines()[-1])


def measure(cmd: list[str], *, timeout: float | None = None, interval: float = 0.05,
            **popen_kwargs: Any) -> Measured:
    """Run ``cmd`` (``subprocess.Popen`` arguments: cwd, env, ...) to completion and measure it and
    every process it starts. Output is captured as text unless ``stdout``/``stderr`` are given."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        popen_kwargs.setdefault("stdout", out)
        popen_kwargs.setdefault("stderr", err)
        start = time.perf_counter()
        process = subprocess.Popen(cmd, **popen_kwargs)
        with ProcessTreeSampler(process.pid, interval=interval) as sampler:
            try:
                status, usage = _wait(process.pid, timeout)
            except BaseException:  # a timeout or an interrupt: leave nothing running
                process.kill()
                process.wait()
                raise
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        texts = []
        for handle in (out, err):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", errors="replace"))
    return Measured(list(cmd), wall, usage.ru_utime + usage.ru_stime, process.returncode, texts[0], texts[1],
                    sampler.result(), process.pid)


def _wait(pid: int, timeout: float | None) -> tuple[int, Any]:
    """wait4, for the CPU time of the child and the descendants it reaped (its ru_maxrss is not used)."""
    if timeout is None:
        _, status, usage = os.wait4(pid, 0)
        return status, usage
    deadline = time.monotonic() + timeout
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired([str(pid)], timeout)
        time.sleep(0.005)
