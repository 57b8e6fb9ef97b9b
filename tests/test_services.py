"""The test services are real: replication, read-only replica, lag on demand, local AWS API."""

import uuid

import MySQLdb
import pytest

from tests.harness.plugin import put_json_secret

pytestmark = pytest.mark.usefixtures("mariadb_pair")


@pytest.fixture
def table(mariadb_pair):
    """A fresh table in the app database, created on the primary and replicated."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = mariadb_pair.master_connect(mariadb_pair.primary)
    conn.cursor().execute(f"CREATE TABLE {name} (id INT PRIMARY KEY, v VARCHAR(20))")
    conn.close()
    mariadb_pair.wait_for_replica()
    yield name
    conn = mariadb_pair.master_connect(mariadb_pair.primary)
    conn.cursor().execute(f"DROP TABLE {name}")
    conn.close()


def _insert(pair, table, row_id):
    conn = pair.app_connect(pair.primary)
    conn.cursor().execute(f"INSERT INTO {table} VALUES (%s, 'x')", (row_id,))
    conn.commit()
    conn.close()


def _ids(pair, server, table):
    conn = pair.app_connect(server)
    cursor = conn.cursor()
    cursor.execute(f"SELECT id FROM {table} ORDER BY id")
    ids = [row[0] for row in cursor.fetchall()]
    conn.close()
    return ids


def test_row_written_on_primary_is_read_on_replica(mariadb_pair, table):
    """A committed row on the primary is visible on the replica once it has caught up."""
    _insert(mariadb_pair, table, 1)
    mariadb_pair.wait_for_replica()
    assert _ids(mariadb_pair, mariadb_pair.replica, table) == [1]


def test_app_user_cannot_write_on_replica(mariadb_pair, table):
    """The replica refuses the application user's writes with 1290, as an Aurora reader does."""
    conn = mariadb_pair.app_connect(mariadb_pair.replica)
    with pytest.raises(MySQLdb.OperationalError) as excinfo:
        conn.cursor().execute(f"INSERT INTO {table} VALUES (99, 'no')")
    conn.close()
    assert excinfo.value.args[0] == 1290
    assert mariadb_pair.replica_status()["Slave_SQL_Running"] == "Yes"


def test_lag_hides_new_rows_until_the_sql_thread_runs_again(mariadb_pair, table):
    """With the SQL thread stopped the replica is stale; starting it again catches up."""
    with mariadb_pair.lag():
        _insert(mariadb_pair, table, 2)
        assert _ids(mariadb_pair, mariadb_pair.primary, table) == [2]
        assert _ids(mariadb_pair, mariadb_pair.replica, table) == []
    assert _ids(mariadb_pair, mariadb_pair.replica, table) == [2]


def test_servers_listen_on_loopback_with_gtid_and_time_zones(mariadb_pair):
    """Both servers bind 127.0.0.1, the replica is read-only on GTID, and tz tables are loaded."""
    for server in (mariadb_pair.primary, mariadb_pair.replica):
        (bind, tz) = server.execute(
            "SELECT @@bind_address, CONVERT_TZ('2024-07-01 12:00:00', 'UTC', 'Europe/Paris')"
        )[0]
        assert bind == "127.0.0.1"
        assert str(tz) == "2024-07-01 14:00:00"
    assert mariadb_pair.replica.execute("SELECT @@read_only")[0][0] == 1
    assert mariadb_pair.replica_status()["Using_Gtid"] == "Slave_Pos"


def test_stopped_replica_refuses_connections_and_catches_up_after_start(mariadb_pair, table):
    """Stopping a server makes it unreachable; after a start it replicates what it missed."""
    mariadb_pair.replica.stop()
    with pytest.raises(MySQLdb.OperationalError):
        mariadb_pair.app_connect(mariadb_pair.replica)
    _insert(mariadb_pair, table, 3)
    mariadb_pair.replica.start()  # resumes replicating where it stopped
    mariadb_pair.wait_for_replica()
    assert _ids(mariadb_pair, mariadb_pair.replica, table) == [3]


def test_secret_round_trips_through_the_local_aws_api(secretsmanager, aws_server):
    """A secret put through boto3 at the local endpoint reads back from it."""
    name = f"test/{uuid.uuid4()}"
    arn = put_json_secret(secretsmanager, name, {"username": "app", "password": "p"})
    got = secretsmanager.get_secret_value(SecretId=arn)
    assert got["SecretString"] == '{"username": "app", "password": "p"}'
    assert secretsmanager.meta.endpoint_url == aws_server.endpoint_url
