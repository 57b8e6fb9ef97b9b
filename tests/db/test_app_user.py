"""Two identities: the site connects as an application user without DDL; the master migrates."""

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import MySQLdb
import pytest
from django.db import DatabaseError, connections

from employees_site.db import app_user
from tests.harness import mariadb
from tests.harness.plugin import DB_MIGRATE_SECRET_ID, DB_SECRET_ID, put_json_secret
from tests.harness.site import HOST, Gunicorn

from .conftest import manage

pytestmark = pytest.mark.drill

# Refusals of a statement the user holds no privilege for: table, database, global privilege.
DENIED = {1142, 1044, 1227}


@pytest.fixture
def new_app_user(mariadb_pair, secretsmanager):
    """A secret for an application user that does not exist yet; the user is dropped after."""
    user = f"u{uuid.uuid4().hex[:10]}"
    secret_id = f"test/employees/app-{user}"
    put_json_secret(secretsmanager, secret_id, {"username": user, "password": "first-Pass-1"})
    yield user, secret_id
    mariadb_pair.primary.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    secretsmanager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)


def _grants(pair, user, host="%"):
    """SHOW GRANTS for the account, sorted, with the password hash masked."""
    rows = pair.primary.execute(f"SHOW GRANTS FOR '{user}'@'{host}'")
    return sorted(re.sub(r"PASSWORD '[^']*'", "PASSWORD '<hash>'", row[0]) for row in rows)


def test_migrate_creates_the_app_user_with_data_privileges_only(
    mariadb_pair, empty_database, new_app_user, secretsmanager
):
    """migrate (as the master) creates the app user with exactly DML on the app database,
    changes nothing on a second run, follows a changed secret, and never prints a password."""
    user, secret_id = new_app_user
    env = {"DB_NAME": empty_database, "DB_SECRET_ID": secret_id}
    first = manage("migrate", "--noinput", **env)
    assert first.returncode == 0, first.stderr
    assert f"created '{user}'@'%'" in first.stdout
    escaped = app_user.grant_pattern(empty_database)
    assert _grants(mariadb_pair, user) == [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{escaped}`.* TO `{user}`@`%`",
        f"GRANT USAGE ON *.* TO `{user}`@`%` IDENTIFIED BY PASSWORD '<hash>'",
    ]
    second = manage("migrate", "--noinput", **env)
    assert second.returncode == 0, second.stderr
    assert f"application user '{user}' is up to date" in second.stdout

    put_json_secret(secretsmanager, secret_id, {"username": user, "password": "second-Pass-2"})
    third = manage("migrate", "--noinput", **env)
    assert third.returncode == 0, third.stderr
    assert f"set the password of '{user}' from its secret" in third.stdout
    connection = mariadb_pair.connect(
        mariadb_pair.primary, empty_database, user=user, password="second-Pass-2"
    )
    connection.close()
    for run in (first, second, third):
        for password in ("first-Pass-1", "second-Pass-2", mariadb.MASTER_PASSWORD):
            assert password not in run.stdout + run.stderr


def test_without_a_master_secret_migrate_uses_the_one_secret_and_manages_no_user(
    mariadb_pair, empty_database
):
    """A single-user set-up (no DB_MIGRATE_SECRET_ID): migrate connects with DB_SECRET_ID, here
    a user with DDL, applies the migrations and creates or changes no user."""
    query = "SELECT User, Host FROM mysql.user ORDER BY User, Host"
    users = mariadb_pair.primary.execute(query)
    result = manage(
        "migrate",
        "--noinput",
        DB_NAME=empty_database,
        DB_SECRET_ID=DB_MIGRATE_SECRET_ID,
        DB_MIGRATE_SECRET_ID="",
    )
    assert result.returncode == 0, result.stderr
    assert "Applying employees.0001_initial... OK" in result.stdout
    assert "App user" not in result.stdout
    assert mariadb_pair.primary.execute(
        "SELECT User, Host FROM mysql.user ORDER BY User, Host"
    ) == (users)


def test_migrate_takes_back_privileges_beyond_data(mariadb_pair, empty_database, new_app_user):
    """A DDL privilege the app user was given by hand is revoked by the next migrate."""
    user, secret_id = new_app_user
    env = {"DB_NAME": empty_database, "DB_SECRET_ID": secret_id}
    assert manage("migrate", "--noinput", **env).returncode == 0
    escaped = app_user.grant_pattern(empty_database)
    mariadb_pair.primary.execute(f"GRANT DROP, ALTER ON `{escaped}`.* TO '{user}'@'%'")
    result = manage("migrate", "--noinput", **env)
    assert result.returncode == 0, result.stderr
    assert "revoked ALTER, DROP" in result.stdout
    assert not any("DROP" in grant or "ALTER" in grant for grant in _grants(mariadb_pair, user))


@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE employees_employee",
        "CREATE TABLE intruder (id INT)",
        "CREATE USER 'intruder'@'%' IDENTIFIED BY 'x'",
        "SELECT User, Password FROM mysql.user",
    ],
)
def test_the_web_connection_cannot_change_the_schema_or_read_users(statement):
    """The site's own connections (writer and reader) are refused DDL, user management and
    mysql.*, with a privilege error."""
    for alias in ("default", "reader"):
        with pytest.raises(DatabaseError) as refused, connections[alias].cursor() as cursor:
            cursor.execute(statement)
        assert refused.value.args[0] in DENIED | {1290}, refused.value
    # The site's writer connection is refused for privileges, not only for read-only.
    with pytest.raises(DatabaseError) as refused, connections["default"].cursor() as cursor:
        cursor.execute(statement)
    assert refused.value.args[0] in DENIED


@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
def test_readyz_names_the_identity_not_the_user(client, django_assert_num_queries):
    """/readyz says which secret's identity the site connects with, never the user name."""
    response = client.get("/readyz")
    body = response.json()
    assert body["identity"] == "application user (DB_SECRET_ID)"
    assert mariadb.APP_USER not in json.dumps(body).replace("application", "")


def test_rotation_needs_the_master_secret(db_secret):
    """Without DB_MIGRATE_SECRET_ID the command says what it needs and changes nothing."""
    result = manage("rotate_app_password", DB_MIGRATE_SECRET_ID="")
    assert result.returncode == 1
    assert "DB_MIGRATE_SECRET_ID (the master user)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def rotated_secret(mariadb_pair, secretsmanager, db_secret):
    """After a rotation test: the app user's password and a fresh secret, as before."""
    yield
    mariadb_pair.primary.execute(
        f"ALTER USER '{mariadb.APP_USER}'@'127.0.0.1' IDENTIFIED BY '{mariadb.APP_PASSWORD}'"
    )
    mariadb_pair.wait_for_replica()
    # moto can answer AWSCURRENT with an old value after stage moves: start from a new secret.
    secretsmanager.delete_secret(SecretId=DB_SECRET_ID, ForceDeleteWithoutRecovery=True)
    put_json_secret(
        secretsmanager,
        DB_SECRET_ID,
        {"username": mariadb.APP_USER, "password": mariadb.APP_PASSWORD},
    )


def test_rotation_is_not_due_on_a_fresh_secret(rotated_secret, secretsmanager):
    """With --if-older-than-days, a secret changed today is left alone (the other instances)."""
    before = secretsmanager.get_secret_value(SecretId=DB_SECRET_ID)["SecretString"]
    result = manage("rotate_app_password", "--if-older-than-days", "30")
    assert result.returncode == 0, result.stderr
    assert "Not due" in result.stdout
    assert secretsmanager.get_secret_value(SecretId=DB_SECRET_ID)["SecretString"] == before


@pytest.fixture(scope="module")
def live_site(production_env, static_files, tmp_path_factory):
    """The site under gunicorn with production settings on the test database."""
    env = {**production_env, "DJANGO_HTTPS": "false"}
    server = Gunicorn(env, tmp_path_factory.mktemp("gunicorn-rotation") / "out.log", host=HOST)
    yield server
    server.stop()


def _hammer(site, requests: int, threads: int = 3) -> list[int]:
    def run(_):
        return [site.get("/api/employees/")[0] for _ in range(requests)]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [status for statuses in pool.map(run, range(threads)) for status in statuses]


def _kill_app_connections(pair) -> None:
    for server in (pair.primary, pair.replica):
        ids = server.execute(
            f"SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{mariadb.APP_USER}'"
        )
        for (connection_id,) in ids:
            server.execute(f"KILL CONNECTION {connection_id}")


@pytest.mark.django_db(transaction=True, databases=["default", "reader"])
def test_rotation_under_load_fails_no_request(
    rotated_secret, secretsmanager, mariadb_pair, live_site
):
    """rotate_app_password while gunicorn serves a stream of requests, then new connections
    with the password the site had cached: every response is a 200."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        load = pool.submit(_hammer, live_site, 60)
        result = manage("rotate_app_password")
        during = load.result(timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Rotated the password" in result.stdout
    # Open connections survive the change; a failover-like loss of them forces new connects,
    # which must find the new password (1045 on the cached one, then the secret read again).
    _kill_app_connections(mariadb_pair)
    after = _hammer(live_site, 20)
    assert during and after and set(during + after) == {200}, sorted(set(during + after))
    # By stage, as the site reads it (moto's stageless read lags a stage move; AWS's does not).
    value = secretsmanager.get_secret_value(SecretId=DB_SECRET_ID, VersionStage="AWSCURRENT")
    password = json.loads(value["SecretString"])["password"]
    assert password != mariadb.APP_PASSWORD
    assert password not in result.stdout + result.stderr
    with pytest.raises(MySQLdb.OperationalError):
        mariadb_pair.app_connect(mariadb_pair.primary)  # the old password is refused now
    stages = secretsmanager.describe_secret(SecretId=DB_SECRET_ID)["VersionIdsToStages"]
    assert not any("AWSPENDING" in labels for labels in stages.values())


def test_a_rotation_stopped_after_the_server_took_the_password_is_completed(
    rotated_secret, secretsmanager, mariadb_pair
):
    """A run that died between setting the password and moving AWSCURRENT (the site works on
    through AWSPENDING) is completed by the next run, due or not: AWSCURRENT gets that
    password."""
    stages = secretsmanager.describe_secret(SecretId=DB_SECRET_ID)["VersionIdsToStages"]
    secretsmanager.put_secret_value(
        SecretId=DB_SECRET_ID,
        SecretString=json.dumps({"username": mariadb.APP_USER, "password": "half-way-Pass-3"}),
        VersionStages=["AWSPENDING"],
    )
    mariadb_pair.primary.execute(
        f"ALTER USER '{mariadb.APP_USER}'@'127.0.0.1' IDENTIFIED BY 'half-way-Pass-3'"
    )
    # Finished even where no rotation is due (the secret changed just now).
    result = manage("rotate_app_password", "--if-older-than-days", "30")
    assert result.returncode == 0, result.stderr
    assert "Completed the rotation" in result.stdout
    value = secretsmanager.get_secret_value(SecretId=DB_SECRET_ID, VersionStage="AWSCURRENT")
    assert json.loads(value["SecretString"])["password"] == "half-way-Pass-3"
    after = secretsmanager.describe_secret(SecretId=DB_SECRET_ID)["VersionIdsToStages"]
    assert not any("AWSPENDING" in labels for labels in after.values())
    assert len(after) == len(stages) + 1


def test_a_rotation_stopped_before_the_server_changed_starts_afresh(
    rotated_secret, secretsmanager, mariadb_pair
):
    """A leftover AWSPENDING whose password the server does not take is dropped, and the run
    rotates to a new password of its own."""
    secretsmanager.put_secret_value(
        SecretId=DB_SECRET_ID,
        SecretString=json.dumps({"username": mariadb.APP_USER, "password": "never-set-Pass-4"}),
        VersionStages=["AWSPENDING"],
    )
    result = manage("rotate_app_password")
    assert result.returncode == 0, result.stderr
    assert "Rotated the password" in result.stdout
    value = secretsmanager.get_secret_value(SecretId=DB_SECRET_ID, VersionStage="AWSCURRENT")
    password = json.loads(value["SecretString"])["password"]
    assert password not in ("never-set-Pass-4", mariadb.APP_PASSWORD)
    mariadb_pair.connect(
        mariadb_pair.primary, mariadb.APP_DATABASE, user=mariadb.APP_USER, password=password
    ).close()
