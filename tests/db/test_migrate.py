"""migrate: on the writer only, once under a named lock, schema to the reader by replication."""

import io
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connections

from employees_site.db import locks as migrate_command

from .conftest import ROOT, manage

pytestmark = pytest.mark.drill


def test_concurrent_migrates_apply_each_migration_once(mariadb_pair, empty_database):
    """Three processes migrate at once: all exit 0, each migration is applied by one of them."""
    command = [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"]
    env = {**os.environ, "DB_NAME": empty_database}
    processes = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=180), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    applied = sum(out.count("Applying employees.0001_initial... OK") for _, out, _ in results)
    assert applied == 1
    assert sum("No migrations to apply" in out for _, out, _ in results) == 2
    rows = mariadb_pair.primary.execute(
        f"SELECT app, name, COUNT(*) FROM `{empty_database}`.django_migrations "
        "GROUP BY app, name HAVING COUNT(*) > 1"
    )
    assert rows == []
    # The reader never ran DDL: the schema reached it by replication.
    mariadb_pair.wait_for_replica()
    tables = mariadb_pair.replica.execute(f"SHOW TABLES FROM `{empty_database}`")
    assert ("employees_employee",) in tables


def test_migrate_refuses_the_reader_alias(db_secret):
    """migrate --database reader is refused with a message saying why, and changes nothing."""
    result = manage("migrate", "--database", "reader")
    assert result.returncode == 1
    assert "run on the writer ('default') only" in result.stderr
    assert "Traceback" not in result.stderr


def test_lock_timeout_gives_a_clear_error(mariadb_pair, empty_database):
    """While another session holds the lock, migrate with a short timeout fails clearly."""
    holder = mariadb_pair.app_connect(mariadb_pair.primary, database=empty_database)
    try:
        lock = migrate_command.lock_name(empty_database)
        holder.cursor().execute("SELECT GET_LOCK(%s, 0)", [lock])
        result = manage("migrate", "--noinput", "--lock-timeout", "1", DB_NAME=empty_database)
    finally:
        holder.close()
    assert result.returncode == 1
    assert "has held the lock" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_waiting_for_the_lock_outlasts_the_connections_read_timeout(mariadb_pair):
    """migrate waits for the lock longer than the request-sized read timeout, then succeeds."""
    connection = connections["default"]
    options = connection.settings_dict["OPTIONS"]
    holder = mariadb_pair.app_connect(mariadb_pair.primary, connection.settings_dict["NAME"])
    lock = migrate_command.lock_name(connection.settings_dict["NAME"])
    holder.cursor().execute("SELECT GET_LOCK(%s, 0)", [lock])
    releaser = threading.Timer(2.5, holder.close)
    connection.close()
    connection.settings_dict["OPTIONS"] = {**options, "read_timeout": 1}
    started = time.monotonic()
    try:
        releaser.start()
        out = io.StringIO()
        call_command("migrate", "--noinput", lock_timeout=30, stdout=out)
    finally:
        releaser.join()
        connection.close()
        connection.settings_dict["OPTIONS"] = options
    assert time.monotonic() - started >= 2.4
    assert "No migrations to apply" in out.getvalue()


def test_a_migrate_on_another_database_of_the_server_does_not_block(mariadb_pair, empty_database):
    """The lock is per database: while a migrate of another database on the same server holds
    its lock, this database migrates at once (a 1-second lock timeout is enough)."""
    other = f"test_app_{uuid.uuid4().hex[:8]}"
    assert migrate_command.lock_name(other) != migrate_command.lock_name(empty_database)
    holder = mariadb_pair.app_connect(mariadb_pair.primary, database=empty_database)
    try:
        holder.cursor().execute("SELECT GET_LOCK(%s, 0)", [migrate_command.lock_name(other)])
        result = manage("migrate", "--noinput", "--lock-timeout", "1", DB_NAME=empty_database)
    finally:
        holder.close()
    assert result.returncode == 0, result.stderr
    assert "Applying employees.0001_initial... OK" in result.stdout


def test_lock_names_fit_the_servers_limit():
    """A database name of MySQL's maximum length (64) still gives a lock name of at most 64
    characters, distinct per database."""
    long_a, long_b = "a" * 64, "a" * 63 + "b"
    assert len(migrate_command.lock_name(long_a)) <= 64
    assert migrate_command.lock_name(long_a) != migrate_command.lock_name(long_b)
