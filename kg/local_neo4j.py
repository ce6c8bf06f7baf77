"""A real Neo4j Community server on this machine, without Docker.

The server's jars come from Maven Central (resolved once with `mvn` from the pom kept in
`kg/localserver/`, then cached in the state folder so later starts need no network), and
it is launched through Neo4j's own Community entry point with a home, configuration and
data folder of ours. Several named instances can live side by side: `main` holds the
user's graph, `test` is wiped by the test suite, `eval` by `sopkg eval`; they share jars.

Security: it listens on 127.0.0.1 only, authentication is on, and the password is
generated on first start and kept in the instance folder (mode 0600).
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

from kg.allocator import child_env
from kg.errors import ConfigError, Neo4jServerError
from kg.settings import Settings

USER = "neo4j"
_ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
_JVM_FLAGS = [
    "-XX:+UseG1GC",
    # The JIT's code cache, sized and split as the JVM does by default with its tiered
    # compilers. With the client JIT alone (-XX:TieredStopAtLevel=1, which the test suite
    # and some operators choose) it would get one 48 MB heap, which Neo4j filled within
    # two minutes of searches; then a method handle could not be linked and a vector query
    # failed with "Out of space in CodeCache for method handle intrinsic" (a 500).
    "-XX:ReservedCodeCacheSize=240m",
    "-XX:+SegmentedCodeCache",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]


@dataclass(frozen=True)
class ServerStatus:
    instance: str
    running: bool
    pid: int | None
    uri: str | None
    version: str
    home: Path

    def describe(self) -> str:
        if self.running:
            return (
                f"neo4j[{self.instance}] running: pid {self.pid}, {self.uri}, Neo4j {self.version}"
            )
        return f"neo4j[{self.instance}] stopped (home {self.home})"


@dataclass(frozen=True)
class StartResult:
    uri: str
    pid: int
    already_running: bool
    downloaded_jars: bool
    seconds: float


class LocalNeo4j:
    def __init__(
        self,
        settings: Settings,
        instance: str = "main",
        heap: str | None = None,
        pagecache: str | None = None,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", instance):
            raise ConfigError(f"bad Neo4j instance name {instance!r}")
        self.settings = settings
        self.instance = instance
        self.version = settings.neo4j_version
        self.heap = heap or settings.neo4j_heap
        self.pagecache = pagecache or settings.neo4j_pagecache
        self.lib_dir = settings.state_dir / "neo4j-lib" / self.version
        self.home = settings.state_dir / "neo4j" / instance

    # --- paths ------------------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "neo4j.log"

    @property
    def console_log(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def _pid_file(self) -> Path:
        return self.home / "neo4j.pid"

    @property
    def _port_file(self) -> Path:
        return self.home / "bolt-port"

    @property
    def _password_file(self) -> Path:
        return self.home / "password"

    # --- public operations --------------------------------------------------------------
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self._port()}"

    def password(self) -> str:
        if not self._password_file.exists():
            raise Neo4jServerError(
                f"neo4j[{self.instance}] has no password yet: run `sopkg neo4j start` first"
            )
        return self._password_file.read_text().strip()

    def status(self) -> ServerStatus:
        pid = self._live_pid()
        return ServerStatus(
            instance=self.instance,
            running=pid is not None,
            pid=pid,
            uri=self.uri() if pid is not None else None,
            version=self.version,
            home=self.home,
        )

    def start(self) -> StartResult:
        t0 = time.monotonic()
        pid = self._live_pid()
        if pid is not None:
            self._wait_for_bolt(pid, deadline=t0 + self.settings.neo4j_start_timeout)
            return StartResult(self.uri(), pid, True, False, time.monotonic() - t0)
        downloaded = self.ensure_jars()
        self._check_java()
        self._release_taken_port()
        self._write_config()
        pid = self._launch()
        self._wait_for_bolt(pid, deadline=t0 + self.settings.neo4j_start_timeout)
        self._ensure_password()
        return StartResult(self.uri(), pid, False, downloaded, time.monotonic() - t0)

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop cleanly (SIGTERM, then SIGKILL after `timeout`). False if it was not running."""
        pid = self._live_pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        self._pid_file.unlink(missing_ok=True)
        return True

    def ensure_jars(self) -> bool:
        """Resolve the server's jars into the cache; True when Maven had to run."""
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return False
        mvn = shutil.which(self.settings.mvn)
        if mvn is None:
            raise ConfigError(
                f"Maven (`{self.settings.mvn}`) is needed once to fetch Neo4j {self.version} "
                "from Maven Central; install it (apt-get install maven)"
            )
        work = self.settings.state_dir / "neo4j-lib" / f".resolve-{self.version}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        pom = resources.files("kg").joinpath("localserver/pom.xml").read_text(encoding="utf-8")
        (work / "pom.xml").write_text(pom, encoding="utf-8")
        tmp_lib = work / "lib"
        cmd = [
            mvn, "-B", "-q", f"-Dneo4j.version={self.version}",
            "dependency:copy-dependencies", f"-DoutputDirectory={tmp_lib}",
        ]  # fmt: skip
        proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not any(tmp_lib.glob("neo4j-*.jar")):
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
            raise Neo4jServerError(f"Maven could not resolve Neo4j {self.version}:\n{tail}")
        shutil.rmtree(self.lib_dir, ignore_errors=True)
        self.lib_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp_lib.rename(self.lib_dir)
        shutil.rmtree(work, ignore_errors=True)
        marker.write_text(self.version)
        return True

    # --- internals --------------------------------------------------------------------
    def _check_java(self) -> None:
        java = shutil.which(self.settings.java)
        if java is None:
            raise ConfigError(
                "Java 17 or newer is needed to run Neo4j 5 (apt-get install openjdk-17-jre-headless)"
            )
        out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
        m = re.search(r'version "(\d+)', out.stderr + out.stdout)
        if not m or int(m.group(1)) < 17:
            raise ConfigError(
                f"Neo4j 5 needs Java 17 or newer; `{java} -version` says: {out.stderr.strip()}"
            )

    def _release_taken_port(self) -> None:
        """Forget a remembered port that another process listens on now (another local
        instance started at the same moment may have drawn the same free port): without
        this, our server would fail to bind while the other one answered in its place."""
        if not self._port_file.exists() or (
            self.settings.neo4j_bolt_port and self.instance == "main"
        ):
            return
        port = self._port()
        if _is_ephemeral(port):
            # Remembered by an older release. While the server is down, a client retrying
            # a port of the ephemeral range can be given that very port as its own source
            # port and connect to itself (TCP simultaneous open): the driver then waits on
            # its own handshake, and the restarted server finds its port taken.
            self._port_file.unlink()
            return
        if not _bindable(port):
            self._port_file.unlink()

    def _port(self) -> int:
        if self.settings.neo4j_bolt_port and self.instance == "main":
            return self.settings.neo4j_bolt_port
        if self._port_file.exists():
            return int(self._port_file.read_text().strip())
        port = _free_port_below_ephemeral()
        self.home.mkdir(parents=True, exist_ok=True)
        self._port_file.write_text(str(port))
        return port

    def _write_config(self) -> None:
        for sub in ("conf", "data", "logs", "plugins", "import", "run"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        conf = f"""# Written by sopkg for the local instance `{self.instance}`; rewritten at every start.
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:{self._port()}
server.bolt.tls_level=DISABLED
server.http.enabled=false
server.https.enabled=false
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
server.memory.heap.initial_size={self.heap}
server.memory.heap.max_size={self.heap}
server.memory.pagecache.size={self.pagecache}
db.tx_log.rotation.retention_policy=2 files
server.directories.data={self.home / "data"}
server.directories.logs={self.home / "logs"}
server.directories.plugins={self.home / "plugins"}
server.directories.import={self.home / "import"}
server.directories.run={self.home / "run"}
server.directories.lib={self.lib_dir}
# Bolt's shutdown waits 5 s for its thread pool and 5 s more for its connections, after
# the databases have already stopped and checkpointed: 10 s of every stop (backup and
# restore stop the server) for nothing left to do.
internal.server.bolt.thread_pool_shutdown_wait_time=1s
internal.server.bolt.connection_shutdown_wait_time=1s
"""
        (self.conf_dir / "neo4j.conf").write_text(conf, encoding="utf-8")

    def _launch(self) -> int:
        cmd = [
            shutil.which(self.settings.java) or self.settings.java,
            f"-Xms{self.heap}", f"-Xmx{self.heap}", *_JVM_FLAGS,
            *self.settings.neo4j_java_opts.split(),
            "-cp", f"{self.lib_dir}/*",
            _ENTRY_POINT, f"--home-dir={self.home}", f"--config-dir={self.conf_dir}",
        ]  # fmt: skip
        # A short-lived shell backgrounds the JVM and prints its pid, so the server is
        # re-parented to init: it outlives us like a daemon and is never our zombie.
        launcher = 'log="$1"; shift; "$@" >>"$log" 2>&1 </dev/null & echo $!'
        out = subprocess.run(
            ["sh", "-c", launcher, "sh", str(self.console_log), *cmd],
            cwd=self.home,
            capture_output=True,
            text=True,
            check=True,
            start_new_session=True,
            env=child_env(os.environ),
        )
        pid = int(out.stdout.strip())
        self._pid_file.write_text(str(pid))
        return pid

    def _live_pid(self) -> int | None:
        """The server's pid if our server for this home is running (guards pid reuse)."""
        if not self._pid_file.exists():
            return None
        try:
            pid = int(self._pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (ValueError, OSError):
            return None
        if _ENTRY_POINT in cmdline and str(self.home) in cmdline and _alive(pid):
            return pid
        return None

    def _wait_for_bolt(self, pid: int, deadline: float) -> None:
        port = self._port()
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise Neo4jServerError(
                    f"neo4j[{self.instance}] exited during start-up.\n{self._log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise Neo4jServerError(
            f"neo4j[{self.instance}] did not answer on Bolt port {port} within "
            f"{self.settings.neo4j_start_timeout:.0f} s.\n{self._log_tail()}"
        )

    def _ensure_password(self) -> None:
        """On first start, replace the initial password with a generated one."""
        uri = self.uri()
        if self._password_file.exists():
            self._check_auth(uri, self.password())
            return
        new = secrets.token_urlsafe(24)
        pending = self.home / "password.pending"
        pending.write_text(new)  # kept before the change, so a crash cannot lose it
        pending.chmod(0o600)
        for attempt in range(40):
            try:
                with GraphDatabase.driver(uri, auth=(USER, "neo4j")) as drv:
                    drv.execute_query(
                        "ALTER CURRENT USER SET PASSWORD FROM $old TO $new",
                        old="neo4j",
                        new=new,
                        database_="system",
                    )
                break
            except ServiceUnavailable:
                # Bolt socket is open slightly before the system database is ready.
                time.sleep(0.5 if attempt < 39 else 0)
            except AuthError:
                # A previous start changed it but died before renaming the file.
                self._check_auth(uri, new)
                break
        else:
            raise Neo4jServerError(f"could not set the initial password.\n{self._log_tail()}")
        pending.rename(self._password_file)

    def _check_auth(self, uri: str, password: str) -> None:
        last: Exception | None = None
        for _ in range(60):
            try:
                with GraphDatabase.driver(uri, auth=(USER, password)) as drv:
                    drv.verify_connectivity()
                return
            except ServiceUnavailable as e:
                last = e
                time.sleep(0.5)
            except (AuthError, Neo4jError) as e:
                raise Neo4jServerError(
                    f"neo4j[{self.instance}] rejected the stored password ({e}); "
                    f"remove {self.home} to start over"
                ) from e
        raise Neo4jServerError(f"neo4j[{self.instance}] is not ready: {last}")

    def _log_tail(self, lines: int = 25) -> str:
        chunks = []
        for path in (self.log_file, self.console_log):
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                chunks.append(f"--- {path} (last lines) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(chunks) or "(no log written)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10000


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(x) for x in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
    return low, high


def _is_ephemeral(port: int) -> bool:
    low, high = _ephemeral_range()
    return low <= port <= high


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As Neo4j binds: connections of our own previous run still in TIME_WAIT must not
        # count as "taken" (a restart would move to a new port under its clients).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port_below_ephemeral() -> int:
    """A free port under the ephemeral range, so that no client connection is ever given it
    as its source port (see `_release_taken_port`); random, so that instances started at
    the same moment draw different ones."""
    low, _ = _ephemeral_range()
    if low - _LOWEST_PORT >= 1000:
        rng = random.SystemRandom()
        for _ in range(100):
            port = rng.randrange(_LOWEST_PORT, low)
            if _bindable(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
