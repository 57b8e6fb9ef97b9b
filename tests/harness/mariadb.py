"""A MariaDB primary + GTID replica on loopback: the stand-in for the Aurora writer and reader.

Each server gets its own datadir, socket and defaults file in one temp dir, binds 127.0.0.1 only
and never reads the machine's own configuration, so a MariaDB already running on 3306 is left
alone. Administration goes over the unix sockets as root; the code under test connects over TCP
as the application user, whose grants are SELECT, INSERT, UPDATE and DELETE on the application
databases only, as on Aurora. The master user (the Aurora master's stand-in: migrations, the test
databases, user management) has everything on those databases, CREATE USER and SELECT on
``mysql.*``, but never ``ALL ON *.*``: that would include READ_ONLY ADMIN and let it write on the
replica, which then breaks replication.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import MySQLdb

from . import process
from .process import ServiceError

PRIMARY_PORT = 13306
REPLICA_PORT = 13307
APP_USER = "app"
APP_PASSWORD = "app-test-password"
APP_DATABASE = "app"
APP_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
MASTER_USER = "admin"
MASTER_PASSWORD = "admin-test-password"
_REPL_USER = "repl"
_REPL_PASSWORD = "repl-test-password"

_COMMON_CONFIG = """\
[mariadbd]
user = {user}
datadir = {datadir}
socket = {socket}
pid-file = {pidfile}
log-error = {errlog}
port = {port}
bind-address = 127.0.0.1
skip-name-resolve
server_id = {server_id}
character-set-server = utf8mb4
collation-server = utf8mb4_unicode_ci
innodb_buffer_pool_size = 256M
innodb_log_file_size = 128M
# Durability is not what these throwaway servers are for; speed is.
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
gtid_strict_mode = ON
max_connections = 300
"""
_PRIMARY_CONFIG = "log_bin = {datadir}/binlog\nbinlog_format = ROW\n"
_REPLICA_CONFIG = "read_only = ON\nrelay_log = {datadir}/relay\n"


@dataclass
class Server:
    """One mariadbd process with its own files under ``root``."""

    name: str
    port: int
    server_id: int
    root: Path
    user: str
    process: subprocess.Popen | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "mariadb.sock"

    @property
    def errlog(self) -> Path:
        return self.root / "error.log"

    @property
    def config(self) -> Path:
        return self.root / "my.cnf"

    @property
    def pidfile(self) -> Path:
        return self.root / "mariadb.pid"

    def write_config(self, extra: str) -> None:
        text = _COMMON_CONFIG.format(
            user=self.user,
            datadir=self.datadir,
            socket=self.socket,
            pidfile=self.pidfile,
            errlog=self.errlog,
            port=self.port,
            server_id=self.server_id,
        )
        self.config.write_text(text + extra.format(datadir=self.datadir))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30) -> None:
        if self.running:
            return
        _check_port_free(self.port)
        self.process = process.start(
            [_binary("mariadbd"), f"--defaults-file={self.config}"],
            ready=self._accepts_connections,
            name=self.name,
            timeout=timeout,
            diagnose=lambda: f":\n{self._log_tail()}",
        )

    def _accepts_connections(self) -> bool:
        try:
            self.admin().close()
            return True
        except MySQLdb.OperationalError:
            return False

    def stop(self, timeout: float = 30) -> None:
        """Shut down cleanly (SIGTERM), killing the process if it does not stop in time."""
        process.stop(self.process, timeout)

    def admin(self) -> MySQLdb.Connection:
        """A root connection over the unix socket, autocommit on."""
        conn = MySQLdb.connect(unix_socket=str(self.socket), user="root", connect_timeout=2)
        conn.autocommit(True)
        return conn

    def execute(self, *statements: str) -> list[tuple]:
        """Run statements as root; return the rows of the last one."""
        conn = self.admin()
        try:
            cursor = conn.cursor()
            for statement in statements:
                cursor.execute(statement)
            return list(cursor.fetchall())
        finally:
            conn.close()

    def _log_tail(self, lines: int = 15) -> str:
        if not self.errlog.exists():
            return "(no error log)"
        return "\n".join(self.errlog.read_text(errors="replace").splitlines()[-lines:])


class MariaDBPair:
    """Primary on 127.0.0.1:13306 (binlog, ROW, GTID) and read-only replica on 127.0.0.1:13307."""

    def __init__(
        self,
        primary_port: int = PRIMARY_PORT,
        replica_port: int = REPLICA_PORT,
        *,
        keep_data: bool = False,
    ):
        # A fixed place per port pair under the temp dir, so a pair left by a killed run is found
        # and stopped, and the benchmarks' pair (other ports) can run beside the tests' pair.
        self.base_dir = Path(tempfile.gettempdir()) / f"employees-mariadb-{primary_port}"
        # keep_data: close() leaves the datadirs and start() reuses a pair that was set up
        # completely, so the benchmarks load their million rows once. Tests always start empty.
        self.keep_data = keep_data
        self._configured_marker = self.base_dir / "configured"
        user = "mysql" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.primary = Server("primary", primary_port, 1, self.base_dir / "primary", user)
        self.replica = Server("replica", replica_port, 2, self.base_dir / "replica", user)

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> MariaDBPair:
        """Install both datadirs, start both servers and set up GTID replication.

        Idempotent: a pair this harness left behind (a killed run) is stopped by its PID first.
        """
        _stop_leftover(self.primary, self.replica)
        if self.keep_data and self._configured_marker.exists() and self._restart_kept():
            return self
        shutil.rmtree(self.base_dir, ignore_errors=True)
        try:
            self._install()
            self.primary.start()
            self.replica.start()
            self._configure()
            self._configured_marker.touch()
        except BaseException:
            self.close()
            raise
        return self

    def _restart_kept(self) -> bool:
        """Start the kept datadirs (replication resumes by itself); False if that fails."""
        try:
            for server, extra in ((self.primary, _PRIMARY_CONFIG), (self.replica, _REPLICA_CONFIG)):
                server.write_config(extra)
                server.start()
            self.wait_for_replica(timeout=60)
            return True
        except ServiceError:
            self.replica.stop()
            self.primary.stop()
            return False

    def close(self) -> None:
        """Stop both servers and remove their files (unless ``keep_data``)."""
        self.replica.stop()
        self.primary.stop()
        if not self.keep_data:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def _install(self) -> None:
        for server, extra in ((self.primary, _PRIMARY_CONFIG), (self.replica, _REPLICA_CONFIG)):
            server.root.mkdir(parents=True, exist_ok=True)
            server.write_config(extra)
        _chown_tree(self.base_dir, self.primary.user)
        result = subprocess.run(
            [
                _binary("mariadb-install-db"),
                f"--defaults-file={self.primary.config}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed:\n{result.stdout}{result.stderr}")
        # Both start from the same empty system tables; the replica then follows the primary's
        # binlog from its first event, so everything done below reaches it by replication.
        shutil.copytree(self.primary.datadir, self.replica.datadir)
        _chown_tree(self.base_dir, self.primary.user)

    def _configure(self) -> None:
        self.primary.execute(
            f"CREATE USER '{_REPL_USER}'@'127.0.0.1' IDENTIFIED BY '{_REPL_PASSWORD}'",
            f"GRANT REPLICATION SLAVE ON *.* TO '{_REPL_USER}'@'127.0.0.1'",
        )
        self.replica.execute(
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={self.primary.port}, "
            f"MASTER_USER='{_REPL_USER}', MASTER_PASSWORD='{_REPL_PASSWORD}', "
            "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            "START SLAVE",
        )
        _load_time_zones(self.primary)
        # The application databases: app, and Django's test databases test_app, test_app_gw0, ...
        databases = (f"`{APP_DATABASE}`", f"`test\\_{APP_DATABASE}%`")
        self.primary.execute(
            f"CREATE DATABASE `{APP_DATABASE}` CHARACTER SET utf8mb4",
            f"CREATE USER '{MASTER_USER}'@'127.0.0.1' IDENTIFIED BY '{MASTER_PASSWORD}'",
            f"GRANT CREATE USER ON *.* TO '{MASTER_USER}'@'127.0.0.1'",
            f"GRANT SELECT ON `mysql`.* TO '{MASTER_USER}'@'127.0.0.1'",
            *(
                f"GRANT ALL ON {db}.* TO '{MASTER_USER}'@'127.0.0.1' WITH GRANT OPTION"
                for db in databases
            ),
            f"CREATE USER '{APP_USER}'@'127.0.0.1' IDENTIFIED BY '{APP_PASSWORD}'",
            *(f"GRANT {APP_PRIVILEGES} ON {db}.* TO '{APP_USER}'@'127.0.0.1'" for db in databases),
        )
        self.wait_for_replica(timeout=60)

    # -- helpers for tests and drills ----------------------------------------------------------

    def wait_for_replica(self, timeout: float = 10) -> None:
        """Block until the replica has applied everything the primary has logged so far."""
        (position,) = self.primary.execute("SELECT @@gtid_binlog_pos")[0]
        (result,) = self.replica.execute(f"SELECT MASTER_GTID_WAIT('{position}', {timeout})")[0]
        if result != 0:
            status = self.replica_status()
            raise ServiceError(
                f"replica did not reach GTID {position} in {timeout}s "
                f"(IO: {status.get('Slave_IO_Running')}, SQL: {status.get('Slave_SQL_Running')}, "
                f"error: {status.get('Last_Error') or status.get('Last_IO_Error') or 'none'})"
            )

    def replica_status(self) -> dict[str, object]:
        conn = self.replica.admin()
        try:
            cursor = conn.cursor(MySQLdb.cursors.DictCursor)
            cursor.execute("SHOW SLAVE STATUS")
            return dict(cursor.fetchone() or {})
        finally:
            conn.close()

    @contextlib.contextmanager
    def lag(self) -> Iterator[None]:
        """Stop applying events on the replica inside the block; catch up on leaving it."""
        self.replica.execute("STOP SLAVE SQL_THREAD")
        try:
            yield
        finally:
            self.replica.execute("START SLAVE SQL_THREAD")
            self.wait_for_replica()

    def app_connect(self, server: Server, database: str = APP_DATABASE) -> MySQLdb.Connection:
        """A TCP connection as the application user, as the site makes it."""
        return self.connect(server, database, user=APP_USER, password=APP_PASSWORD)

    def master_connect(self, server: Server, database: str = APP_DATABASE) -> MySQLdb.Connection:
        """A TCP connection as the master user (DDL, as migrate makes it)."""
        return self.connect(server, database, user=MASTER_USER, password=MASTER_PASSWORD)

    @staticmethod
    def connect(server: Server, database: str, *, user: str, password: str) -> MySQLdb.Connection:
        return MySQLdb.connect(
            host="127.0.0.1",
            port=server.port,
            user=user,
            password=password,
            database=database,
            connect_timeout=2,
            charset="utf8mb4",
        )


def _load_time_zones(server: Server) -> None:
    # Django's date lookups under USE_TZ convert with CONVERT_TZ, which needs these tables.
    tz_sql = subprocess.run(
        [_binary("mariadb-tzinfo-to-sql"), "/usr/share/zoneinfo"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(
        [_binary("mariadb"), f"--socket={server.socket}", "--user=root", "mysql"],
        input=tz_sql,
        check=True,
        capture_output=True,
    )


class PortClaim:
    """A claim on a primary/replica port pair, so concurrent test sessions never share one.

    The first free slot from 13306/13307 up is taken (13316/13317, ...) when another live
    session holds it; a claim whose owner died is taken over, and its leftover servers are then
    stopped by their PIDs when the pair starts. The claim file lives beside the pair's dir.
    """

    SLOTS = 10

    def __init__(self, first_port: int = PRIMARY_PORT):
        for slot in range(self.SLOTS):
            self.primary_port = first_port + 10 * slot
            self.path = Path(tempfile.gettempdir()) / f"employees-mariadb-{self.primary_port}.owner"
            if self._take():
                return
        raise ServiceError(
            f"{self.SLOTS} test sessions already hold MariaDB pairs from port {first_port} on; "
            "wait for one to finish"
        )

    @property
    def replica_port(self) -> int:
        return self.primary_port + 1

    def _take(self) -> bool:
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _alive(self._owner()):
                return False
            self.path.unlink(missing_ok=True)  # its owner died: take it over
            return self._take()
        with os.fdopen(descriptor, "w") as claim:
            claim.write(str(os.getpid()))
        return True

    def _owner(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_leftover(*servers: Server) -> None:
    for server in servers:
        try:
            pid = int(server.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if str(server.config).encode() not in cmdline:
            continue  # the PID was reused by something that is not ours
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def _binary(name: str) -> str:
    for directory in (None, "/usr/sbin", "/usr/bin"):
        found = shutil.which(name, path=directory)
        if found:
            return found
    raise ServiceError(
        f"{name} not found: install mariadb-server and mariadb-client (make test does)"
    )


def _check_port_free(port: int) -> None:
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise ServiceError(
                f"127.0.0.1:{port} is already in use; stop the process listening there "
                f"(a test pair left over from a killed run?) and run again"
            )


def _chown_tree(path: Path, user: str) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for directory, _subdirs, filenames in os.walk(path):
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        for name in filenames:
            os.chown(os.path.join(directory, name), entry.pw_uid, entry.pw_gid)
