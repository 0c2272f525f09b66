"""A throwaway one-node Slurm cluster for tests: its own munge key and socket, its own slurm.conf with
free ports, and state, spool, pid and log files in one temporary folder. munged, slurmctld and
slurmd run in the foreground as children of the test process, so `stop()` ends exactly the daemons
it started (by their process ids), and nothing of the machine's own Slurm or munge is touched.

Needs Debian's slurm-wlm and munge (`make slurm` installs them) and root (slurmd starts jobs as their
owner). `unavailable()` says why a cluster cannot start here, for a skip reason."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo", "srun")
PARTITION = "cpu"  # the name the lab's datatrove export asks for by default


def _which(name: str) -> str | None:
    return shutil.which(name) or next((p for d in ("/usr/sbin", "/sbin") if os.access(p := f"{d}/{name}", os.X_OK)), None)


def unavailable() -> str | None:
    """None when a cluster can start here, else the reason (for pytest.skip)."""
    missing = [n for n in DAEMONS + CLIENTS if not _which(n)]
    if missing:
        return (f"Slurm is not installed ({', '.join(missing)} missing): `make slurm` installs slurm-wlm and munge "
                "with apt-get (as root)")
    if os.geteuid() != 0:
        return "a throwaway Slurm cluster needs root (slurmd starts jobs as their owner)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 * 9 // 10
    return 4096


class SlurmCluster:
    def __init__(self, root: str | os.PathLike, cpus: int | None = None):
        self.root = Path(root)
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket.2"
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def env(self) -> dict[str, str]:
        """What a client (sbatch, the lab's worker) needs to talk to this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def write_config(self) -> None:
        for sub in ("munge", "state", "spool", "log", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        r = self.root
        self.conf.write_text("\n".join([
            "ClusterName=labtest",
            f"SlurmctldHost={self.host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "MpiDefault=none",
            "ReturnToService=2",
            "KillWait=5",
            "InactiveLimit=0",
            "MinJobAge=300",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            f"NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_memory_mb()} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))

    def _start(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **self.env})
        log.close()

    def start(self, timeout: float = 90.0) -> "SlurmCluster":
        self.write_config()
        m = self.root / "munge"
        self._start("munged", [_which("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={m / 'munge.key'}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={self.root / 'log' / 'munged.log'}", f"--seed-file={m / 'munged.seed'}"])
        self._wait(lambda: self.munge_socket.exists(), 20, "munged did not create its socket")
        self._start("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(self._controller_up, timeout / 2, "slurmctld did not answer")
        self._start("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.host])
        self._wait(self._node_idle, timeout / 2, "the node did not become idle")
        return self

    def _run(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), capture_output=True, text=True, env={**os.environ, **self.env}, timeout=30)

    def _controller_up(self) -> bool:
        return self._run("scontrol", "ping").stdout.count("UP") > 0

    def _node_idle(self) -> bool:
        return self._run("sinfo", "-h", "-N", "-o", "%t").stdout.strip() in ("idle", "mix", "alloc")

    def _wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{what}: {', '.join(dead)} exited; logs in {self.root / 'log'}: {self.log_tail()}")
            try:
                if condition():
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{what} within {timeout:.0f} s; logs in {self.root / 'log'}: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            out.append(f"[{path.name}] " + " | ".join(text))
        return " ".join(out)

    def jobs(self) -> list[str]:
        """Ids of the jobs still in the queue."""
        return self._run("squeue", "-h", "-o", "%i").stdout.split()

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons this object started, newest first."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:
                self._run("scancel", "--full", *self.jobs()) if self.jobs() else None
            except subprocess.TimeoutExpired:
                pass
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self.procs.clear()


@contextmanager
def running_cluster(root: str | os.PathLike):
    """A started cluster with SLURM_CONF pointing at it in this process's environment (so the lab's CLI,
    server and workers started from here submit to it, as on a login node); everything stopped after."""
    cluster = SlurmCluster(root)
    saved = os.environ.get("SLURM_CONF")
    try:
        cluster.start()
        os.environ.update(cluster.env)
        yield cluster
    finally:
        cluster.stop()
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running one-node cluster for the test module (skipped, with the reason, where none can start)."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with running_cluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c
