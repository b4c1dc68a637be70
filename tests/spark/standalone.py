"""A Spark standalone cluster on 127.0.0.1 for tests: one master and workers, started with the
``spark-class`` script shipped in the pyspark package, each a child process of the test (its own
process group), on free ports; every start is bounded in time and :meth:`Cluster.stop` ends the
processes it started (SIGTERM, then SIGKILL), whatever happened."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    port: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, *args: str) -> Path:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(spark_class()), *args], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=self.env, cwd=self.root, start_new_session=True)
        self.processes.append(proc)
        self.logs.append(log)
        return log

    def _wait_for(self, log: Path, text: str, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if text in log.read_text(errors="replace"):
                return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not start within {START_TIMEOUT:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")

    def start(self, workers: int = 2, cores: int = 1, memory: str = "1g") -> "Cluster":
        self.port = free_port()
        log = self._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                          "--port", str(self.port), "--webui-port", str(free_port()))
        self._wait_for(log, "I have been elected leader", "the Spark master")
        for i in range(workers):
            work = self.root / f"worker{i}"
            work.mkdir()
            log = self._start(f"worker{i}", "org.apache.spark.deploy.worker.Worker", self.master_url,
                              "--host", "127.0.0.1", "--cores", str(cores), "--memory", memory,
                              "--webui-port", str(free_port()), "--work-dir", str(work))
            self._wait_for(log, "Successfully registered with master", f"Spark worker {i}")
        return self

    def stop(self) -> None:
        for proc in reversed(self.processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
