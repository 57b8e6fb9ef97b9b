"""The bench pair keeps its data between runs (keep_data), and still replicates afterwards."""

import pytest

from tests.harness.mariadb import MariaDBPair, PortClaim

# The smoke's range: claimed, so it never meets the smoke or the full bench (23306/23307).
FIRST_PORT = 23316


@pytest.fixture
def kept_pair():
    claim = PortClaim(FIRST_PORT)
    pair = MariaDBPair(claim.primary_port, claim.replica_port, keep_data=True)
    try:
        yield pair
    finally:
        pair.keep_data = False
        pair.close()  # stops the servers and removes the datadirs
        claim.release()


def _rows(pair, server):
    connection = pair.app_connect(server)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT v FROM kept ORDER BY v")
        return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _insert(pair, value):
    connection = pair.app_connect(pair.primary)
    try:
        connection.cursor().execute("INSERT INTO kept VALUES (%s)", (value,))
        connection.commit()
    finally:
        connection.close()


def test_rows_survive_close_and_replication_resumes(kept_pair):
    """Rows written before close() are there after start(); new writes still reach the replica."""
    kept_pair.start()
    connection = kept_pair.master_connect(kept_pair.primary)
    connection.cursor().execute("CREATE TABLE kept (v INT PRIMARY KEY)")
    connection.close()
    _insert(kept_pair, 1)
    kept_pair.wait_for_replica()
    kept_pair.close()
    assert kept_pair.base_dir.exists()

    kept_pair.start()
    _insert(kept_pair, 2)
    kept_pair.wait_for_replica()
    assert _rows(kept_pair, kept_pair.primary) == [1, 2]
    assert _rows(kept_pair, kept_pair.replica) == [1, 2]
