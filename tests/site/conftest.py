import pytest
from django.db import connection, connections

from employees_site.employees import paginator


@pytest.fixture(autouse=True)
def nothing_kept():
    """Each test starts without the department list and total an earlier test's pages kept."""
    from employees_site.employees import selectors  # after Django's set-up: it imports models

    selectors.forget_kept()


@pytest.fixture
def stale_row_estimate(mariadb_pair, wait_for_replica, monkeypatch):
    """A function that makes the reader's InnoDB row estimate of the employees table ``rows``.

    A big table's estimate comes from sampled pages and is off by a few percent; a small one's
    is exact. Persistent statistics written on the writer (replicated) and loaded by the reader
    when it restarts give a small table the same kind of stale estimate. The admin's threshold
    for using the estimate is lowered so that a few hundred rows take that path.
    """
    monkeypatch.setattr(paginator, "EXACT_BELOW", 10)

    def make(rows: int) -> None:
        name = connection.settings_dict["NAME"]
        # DDL, so as the server's root: the site's own user has no ALTER.
        mariadb_pair.primary.execute(
            f"ALTER TABLE `{name}`.employees_employee STATS_PERSISTENT=1 STATS_AUTO_RECALC=0"
        )
        mariadb_pair.primary.execute(
            f"UPDATE mysql.innodb_table_stats SET n_rows = {int(rows)} "
            f"WHERE database_name = '{name}' AND table_name = 'employees_employee'"
        )
        wait_for_replica()
        connections["reader"].close()
        mariadb_pair.replica.stop()
        mariadb_pair.replica.start()
        wait_for_replica()
        with connections["reader"].cursor() as cursor:
            cursor.execute("EXPLAIN SELECT * FROM employees_employee")
            assert int(cursor.fetchone()[8]) == rows, "the reader did not load the statistics"

    return make
