"""``python -m tests.bench``: the whole benchmark in one run, figures 1-7, then the two files.

The run starts its own services (the bench pair on 127.0.0.1:23306/23307, a moto server, three
gunicorns) and stops them by PID at the end, even on error. Ratios matter more than absolutes:
every figure compared with another comes from the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tests.harness import mariadb

from . import browse, goals, load, page, report, source
from .services import (
    DB_SECRET_IDS,
    HOST,
    KEY_SECRET_ID,
    ROOT,
    Gunicorn,
    RecordingMoto,
    app_environment,
    com_select,
    manage,
)

API_PATH = "/api/employees/?limit=50"
HTML_PATH = "/?limit=50"  # the public list at the API's page size
APPS = ("site", "blog_way", "floor")
# What each timed run loads: (result key, server, path). The site's HTML list runs in the same
# rounds as its API and the floor, so both ratios share one floor.
TARGETS = (
    ("site", "site", API_PATH),
    ("site_html", "site", HTML_PATH),
    ("blog_way", "blog_way", API_PATH),
    ("floor", "floor", API_PATH),
)
ADMIN_USER = "bench-admin"
ADMIN_CHANGELIST = "/admin/employees/employee/"
SEARCH = "Ada"
# The public search by any word, first pages (medians beside the deep page's, figure 5).
SEARCHES = {
    "surname": "/api/employees/?q=bauer&limit=50",
    "two_words": "/api/employees/?q=ada+b&limit=50",
    "html_surname": "/?q=bauer&limit=50",
}
# What a kept pair's rows hold; another format is seeded again. 2: departments, emails, words.
SEED_FORMAT = 2
DEEP_FRACTION = 0.9  # the deep page starts after 90% of the rows: row 900,000 of a million


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10, help="each timed load run")
    parser.add_argument("--warmup", type=float, default=2, help="load before each timed run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per app, interleaved")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--load-threads", type=int, default=2)
    parser.add_argument("--samples", type=int, default=31, help="sequential requests per median")
    parser.add_argument("--ports", default="23306,23307", help="the bench pair's two ports")
    parser.add_argument("--fresh", action="store_true", help="do not reuse a kept bench pair")
    parser.add_argument("--no-keep", action="store_true", help="remove the pair's data at the end")
    parser.add_argument("--no-lint", action="store_true", help="figure 7 without the lint step")
    parser.add_argument(
        "--profile",
        choices=("missed", "always", "never"),
        default="missed",
        help="profile the requests behind goals that are missed (default), all, or none",
    )
    parser.add_argument("--out", type=Path, default=ROOT, help="where the two files are written")
    parser.add_argument(
        "--commit",
        metavar="REV",
        help="measure a clean export of this commit instead of the working tree",
    )
    parser.add_argument("--exported-commit", help=argparse.SUPPRESS)  # set by --commit's child
    options = parser.parse_args(argv)
    if options.rows < 200:
        parser.error("--rows must be at least 200 (the deep page needs room)")
    return options


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    options = parse_args(argv)
    if options.commit:
        return _run_exported(options, argv)
    wall = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="employees-bench-"))
    bench = Bench(options, work)
    try:
        results = bench.run()
    except BaseException:
        print(f"bench: failed; logs kept in {work}", file=sys.stderr)
        bench.close()
        raise
    bench.close()
    shutil.rmtree(work, ignore_errors=True)
    results["run"]["wall_seconds"] = round(time.monotonic() - wall, 1)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n")
    (options.out / "BENCHMARKS.md").write_text(report.markdown(results))
    print(f"bench: wrote bench-results.json and BENCHMARKS.md in {results['run']['wall_seconds']}s")
    return 0


def _run_exported(options: argparse.Namespace, argv: list[str]) -> int:
    """Run this benchmark from a clean export of ``--commit``, writing to the same ``--out``."""
    tree, sha = source.export(ROOT, options.commit)
    rest, skip = [], False
    for argument in argv:
        if skip:
            skip = False
        elif argument in ("--commit", "--out"):
            skip = True  # and its value
        elif not argument.startswith(("--commit=", "--out=")):
            rest.append(argument)
    try:
        _log(f"measuring commit {sha[:12]} (exported to a temp dir)")
        return subprocess.run(
            [
                *(sys.executable, "-m", "tests.bench", *rest),
                *("--out", str(options.out.resolve()), "--exported-commit", sha),
            ],
            cwd=tree,
            check=False,
        ).returncode
    finally:
        shutil.rmtree(tree, ignore_errors=True)


_STARTED = time.monotonic()


def _log(message: str) -> None:
    print(f"bench [{time.monotonic() - _STARTED:6.1f}s]: {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, options: argparse.Namespace, work: Path):
        self.options = options
        self.work = work
        primary, replica = (int(port) for port in options.ports.split(","))
        self.pair = mariadb.MariaDBPair(primary, replica, keep_data=not options.no_keep)
        self.moto = RecordingMoto(work / "moto-recording.jsonl")
        self.django_key = secrets.token_urlsafe(48)
        self.admin_password = secrets.token_urlsafe(16)
        self.servers: dict[str, Gunicorn] = {}
        self.fingerprint: str | None = None  # of the working tree's measured code, at start

    def env(self, app: str) -> dict[str, str]:
        return app_environment(self.pair, self.moto, app, self.django_key)

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> dict:
        options = self.options
        results: dict = {
            "run": {
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "options": {
                    key: value
                    for key, value in vars(options).items()
                    if key not in ("out", "commit", "exported_commit")
                },
                "source": self.source_at_start(),
            }
        }
        _log("starting the bench pair and the local AWS API")
        if options.fresh:
            self.pair.keep_data = False
            self.pair.start()
            self.pair.keep_data = not options.no_keep
        else:
            self.pair.start()
        self.moto.start()
        self.moto.create_secrets(self.django_key)
        results["machine"] = self.machine()
        results["seed"] = self.seed()
        self.start_servers()
        results["throughput"], results["secrets_manager_calls"], results["read_share"] = (
            self.throughput()
        )
        results["deep_pagination"] = self.deep_pagination()
        results["admin_changelist"] = self.admin_changelist()
        for server in self.servers.values():
            server.stop()
        results["templates"] = self.templates()
        results["goals"] = goals.evaluate(results)
        results["profiles"] = self.profiles(results)
        if not options.exported_commit:
            changed = source.fingerprint(ROOT) != self.fingerprint
            results["run"]["source"]["changed_during_run"] = changed
        return results

    def source_at_start(self) -> dict:
        if self.options.exported_commit:
            return {"commit": self.options.exported_commit, "exported": True}
        self.fingerprint = source.fingerprint(ROOT)
        return {
            "commit": source.head(ROOT),
            "exported": False,
            "uncommitted": source.uncommitted(ROOT),
        }

    # -- diagnosis of extra Secrets Manager calls -------------------------------------------------

    def secret_calls_at_start(self) -> dict:
        """A fresh site, one burst of load: calls per worker with the config's threads and one.

        Tells a worker that fetches the secret more than once (its threads racing on the first
        connection) from workers recycled by ``max_requests``, which fetch once each.
        """
        found = {}
        for label, options in (("config_threads", ()), ("one_thread", ("--threads", "1"))):
            server = Gunicorn("site", self.env("site"), self.work / f"burst-{label}.log", *options)
            before = self.moto.get_secret_value_calls()[DB_SECRET_IDS["site"]]
            server.start()
            try:
                load.run(
                    server.url + API_PATH,
                    seconds=1,
                    connections=self.options.connections,
                    threads=self.options.load_threads,
                    host=HOST,
                )
            finally:
                server.stop()
            calls = self.moto.get_secret_value_calls()[DB_SECRET_IDS["site"]] - before
            workers = server.workers_booted()
            found[label] = {
                "threads": int(options[1]) if options else _gunicorn_settings()["threads"],
                "calls": calls,
                "workers": workers,
                "per_process": round(calls / max(1, workers), 2),
            }
        return found

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.moto.stop()
        self.pair.close()

    # -- machine -------------------------------------------------------------------------------

    def machine(self) -> dict:
        cpu = "unknown"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = 0
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
        wrk = subprocess.run([load.wrk_binary(), "-v"], capture_output=True, text=True)
        wrk_version = re.search(r"wrk (\S+)", wrk.stdout + wrk.stderr)
        return {
            "cpu_model": cpu,
            "cpu_cores": os.cpu_count(),
            "memory_gib": round(memory_kb / 1024 / 1024, 1),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(),
            "mariadb": self.pair.primary.execute("SELECT VERSION()")[0][0],
            "django": metadata.version("django"),
            "gunicorn": metadata.version("gunicorn"),
            "mysqlclient": metadata.version("mysqlclient"),
            "moto": metadata.version("moto"),
            "wrk": wrk_version.group(1) if wrk_version else "unknown",
            "shared": True,  # other work ran on the machine at the same time
        }

    # -- figure 1: a million rows, loaded once ---------------------------------------------------

    def seed(self) -> dict:
        options = self.options
        env = self.env("probe")
        started = time.monotonic()
        manage(env, "migrate", "--noinput")
        migrate_seconds = time.monotonic() - started
        record_path = self.pair.base_dir / "bench-seed.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        present = self._count_rows()
        if (
            present == options.rows
            and record.get("rows") == options.rows
            and (record.get("seed") == options.seed)
            and record.get("format") == SEED_FORMAT
        ):
            _log(f"reusing the {present:,} rows loaded at {record['loaded_at']}")
            return {**record, "reused": True, "migrate_seconds": round(migrate_seconds, 2)}
        if present:
            # The words and departments go too; TRUNCATE of a table a foreign key references
            # needs the checks off (on this connection only). As the master: the app user has
            # no DDL.
            self._master_execute(
                "SET FOREIGN_KEY_CHECKS = 0",
                "TRUNCATE TABLE employees_employeeword",
                "TRUNCATE TABLE employees_employee",
                "TRUNCATE TABLE employees_department",
                "SET FOREIGN_KEY_CHECKS = 1",
            )
        _log(f"seeding {options.rows:,} employees (seed {options.seed})")
        started = time.monotonic()
        manage(env, "seed_employees", "--count", str(options.rows), "--seed", str(options.seed))
        seed_seconds = time.monotonic() - started
        self.pair.wait_for_replica(timeout=1800)
        replicated_seconds = time.monotonic() - started
        self._master_execute("ANALYZE TABLE employees_employee, employees_employeeword")
        self.pair.wait_for_replica(timeout=60)
        record = {
            "rows": options.rows,
            "seed": options.seed,
            "format": SEED_FORMAT,
            "command": f"manage.py seed_employees --count {options.rows} --seed {options.seed}",
            "seconds": round(seed_seconds, 2),
            "rows_per_second": round(options.rows / seed_seconds),
            "seconds_until_on_replica": round(replicated_seconds, 2),
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if self.pair.keep_data:
            record_path.write_text(json.dumps(record))
        return {**record, "reused": False, "migrate_seconds": round(migrate_seconds, 2)}

    def _count_rows(self) -> int:
        # After migrate, so the table exists.
        return int(self._app_execute("SELECT COUNT(*) FROM employees_employee")[0][0])

    def _master_execute(self, *statements: str) -> list[tuple]:
        """DDL and maintenance (TRUNCATE, ANALYZE) as the master user: the app user has none."""
        return self._app_execute(*statements, connect=self.pair.master_connect)

    def _app_execute(
        self, *statements: str, server: mariadb.Server | None = None, connect=None
    ) -> list[tuple]:
        """Run ``statements`` on one connection; the last one's rows."""
        connection = (connect or self.pair.app_connect)(server or self.pair.primary)
        try:
            cursor = connection.cursor()
            for sql in statements:
                cursor.execute(sql)
            rows = list(cursor.fetchall())
            connection.commit()
            return rows
        finally:
            connection.close()

    # -- the three servers -----------------------------------------------------------------------

    def start_servers(self) -> None:
        # Every run: a manifest collected before the site's static files changed would make
        # every page that names a new file fail (the instance build collects every release).
        _log("collecting static files (the instance build does this)")
        manage(self.env("probe"), "collectstatic", "--noinput")
        for app in APPS:
            _log(f"starting gunicorn for {app}")
            self.servers[app] = Gunicorn(app, self.env(app), self.work / f"{app}.log").start()

    # -- figures 2, 3 and 4: throughput, Secrets Manager calls, read share ----------------------

    def throughput(self) -> tuple[dict, dict, dict]:
        options = self.options
        bodies = {app: server.get(API_PATH)[2] for app, server in self.servers.items()}
        same_json = len(set(bodies.values())) == 1
        rounds: dict[str, list[dict]] = {key: [] for key, _, _ in TARGETS}
        calls = {app: 0 for app in APPS}
        requests = {app: 0 for app in APPS}
        selects = {"writer": 0, "reader": 0}
        for number in range(options.rounds):
            for key, app, path in TARGETS:
                server = self.servers[app]
                url = server.url + path
                if options.warmup > 0:
                    load.run(
                        url,
                        seconds=options.warmup,
                        connections=options.connections,
                        threads=options.load_threads,
                        host=HOST,
                    )
                before_calls = self.moto.get_secret_value_calls()[DB_SECRET_IDS[app]]
                before = {
                    "writer": com_select(self.pair.primary),
                    "reader": com_select(self.pair.replica),
                }
                _log(f"round {number + 1}/{options.rounds}: {key} for {options.seconds:g}s")
                result = load.run(
                    url,
                    seconds=options.seconds,
                    connections=options.connections,
                    threads=options.load_threads,
                    host=HOST,
                )
                after = {
                    "writer": com_select(self.pair.primary),
                    "reader": com_select(self.pair.replica),
                }
                after_calls = self.moto.get_secret_value_calls()[DB_SECRET_IDS[app]]
                if result.bad_status:
                    raise RuntimeError(
                        f"{key} answered {result.bad_status} of {result.requests} requests with "
                        f"an error status in a timed run; its log is {server.log}"
                    )
                rounds[key].append(result.as_dict())
                calls[app] += after_calls - before_calls
                requests[app] += result.requests
                if app == "site":
                    for role in selects:
                        selects[role] += after[role] - before[role]
        summary = {}
        for key, _, _ in TARGETS:
            by_rps = sorted(rounds[key], key=lambda item: item["rps"])
            summary[key] = {
                **by_rps[len(by_rps) // 2],
                "rounds_rps": [r["rps"] for r in rounds[key]],
            }
        throughput = {
            "url": API_PATH,
            "html_url": HTML_PATH,
            "seconds_per_run": options.seconds,
            "rounds": options.rounds,
            "connections": options.connections,
            "load_threads": options.load_threads,
            "gunicorn": _gunicorn_settings(),
            "same_json": same_json,
            **summary,
            "site_over_blog_way": _ratio(summary["site"]["rps"], summary["blog_way"]["rps"]),
            "site_over_floor": _ratio(summary["site"]["rps"], summary["floor"]["rps"]),
            "html_over_floor": _ratio(summary["site_html"]["rps"], summary["floor"]["rps"]),
            # Time per request of the HTML list over the API's: the API's rate over the list's.
            "html_cost_over_api": _ratio(summary["site"]["rps"], summary["site_html"]["rps"]),
        }
        totals = self.moto.get_secret_value_calls()
        secret_calls = {}
        for app in ("site", "blog_way", "floor"):
            workers = self.servers[app].workers_booted()
            since_start = totals[DB_SECRET_IDS[app]]
            secret_calls[app] = {
                "calls_during_runs": calls[app],
                "requests_during_runs": requests[app],
                "per_1000_requests": round(1000 * calls[app] / max(1, requests[app]), 3),
                "calls_since_start": since_start,
                "worker_processes": workers,
                "per_process": round(since_start / max(1, workers), 3),
            }
        secret_calls["django_secret_key_calls"] = totals[KEY_SECRET_ID]
        total_selects = selects["writer"] + selects["reader"]
        read_share = {
            "writer_selects": selects["writer"],
            "reader_selects": selects["reader"],
            "site_requests": requests["site"],
            "reader_share": round(selects["reader"] / total_selects, 5) if total_selects else None,
        }
        return throughput, secret_calls, read_share

    # -- figure 5: deep pagination --------------------------------------------------------------

    def deep_pagination(self) -> dict:
        options = self.options
        deep_offset = int(options.rows * DEEP_FRACTION)
        deep_id, deep_name = self._app_execute(
            "SELECT id, name FROM employees_employee ORDER BY name, id "
            f"LIMIT 1 OFFSET {deep_offset - 1}",
            server=self.pair.replica,
        )[0]
        literal_id = deep_offset  # "after id 900,000": ids run 1..rows on a fresh load
        paths = {
            "first": API_PATH,
            "deep": f"/api/employees/?cursor={page.cursor(deep_name, deep_id)}&limit=50",
            "after_literal_id": f"/api/employees/?after={literal_id}&limit=50",
            **SEARCHES,
        }
        _log("deep pagination through the API")
        times = browse.interleaved_medians(self.servers["site"], paths, options.samples)
        api = {
            "first_ms": times["first"],
            "deep_ms": times["deep"],
            "deep_over_first": _ratio(times["deep"], times["first"]),
            "after_literal_id_ms": times["after_literal_id"],
            "after_literal_id_over_first": _ratio(times["after_literal_id"], times["first"]),
            "searches": {key: {"path": path, "ms": times[key]} for key, path in SEARCHES.items()},
        }
        _log("keyset and OFFSET pages in the ORM (and the admin user for figure 6)")
        prepared = self.probe(
            "prepare",
            *("--deep-offset", str(deep_offset), "--deep-id", str(deep_id)),
            *("--samples", str(max(3, options.samples // 3))),
            *("--username", ADMIN_USER, "--password", self.admin_password),
        )
        orm = prepared["pagination"]
        return {
            "rows": options.rows,
            "deep_offset": deep_offset,
            "deep_after_id": deep_id,
            "literal_after_id": literal_id,
            "samples": options.samples,
            "api": api,
            "orm": orm,
        }

    # -- figure 6: the admin at a million rows --------------------------------------------------

    def admin_changelist(self) -> dict:
        # The user was made by the probe in deep_pagination(); logging in reads it on the reader.
        self.pair.wait_for_replica()
        server = self.servers["site"]
        cookies = browse.log_in(server, ADMIN_USER, self.admin_password)
        self.pair.wait_for_replica()  # the session is read from the reader
        header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        paths = {"first_page": ADMIN_CHANGELIST, "search": f"{ADMIN_CHANGELIST}?q={SEARCH}"}
        _log("admin changelist, first page and search")
        times = browse.interleaved_medians(
            server, paths, self.options.samples, header, b"result_list"
        )
        return {
            "rows": self.options.rows,
            "samples": self.options.samples,
            "first_page_ms": times["first_page"],
            "search_ms": times["search"],
            "search_query": SEARCH,
        }

    # -- figure 7: templates ---------------------------------------------------------------------

    def templates(self) -> dict:
        out = self.work / "templates"
        _log("building and linting the templates")
        started = time.monotonic()
        build = subprocess.run(
            [sys.executable, "-m", "infra", "build", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        build_seconds = time.monotonic() - started
        stacks = sorted(path.stem for path in out.glob("*.yaml"))
        result = {
            "stacks": stacks,
            "build_seconds": round(build_seconds, 2),
            "build_ok": build.returncode == 0,
            "lint_seconds": None,
            "lint_ok": None,
            "lint_summary": "skipped (--no-lint)",
        }
        if self.options.no_lint or build.returncode != 0:
            return result
        started = time.monotonic()
        lint = subprocess.run(
            [sys.executable, "-m", "infra", "lint", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        output = (lint.stdout + lint.stderr).strip().splitlines()
        result.update(
            lint_seconds=round(time.monotonic() - started, 2),
            lint_ok=lint.returncode == 0,
            lint_summary=output[-1] if output else "",
        )
        return result

    # -- profiles of missed goals ------------------------------------------------------------------

    def profiles(self, results: dict) -> dict:
        mode = self.options.profile
        if mode == "never":
            return {}
        missed = {goal["id"] for goal in results["goals"] if not goal["met"]}
        if mode == "always" or "secret_calls_per_process" in missed:
            _log("a fresh site under a burst: Secrets Manager calls per worker")
            results["secrets_manager_calls"]["at_start"] = self.secret_calls_at_start()
        targets = []
        if mode == "always" or missed & {"site_over_blog_way", "site_over_floor"}:
            targets.append("api")
        if mode == "always" or "deep_over_first" in missed:
            targets.append("api-deep")
        if mode == "always" or "admin_first_page" in missed:
            targets.append("admin")
        if mode == "always" or "admin_search" in missed:
            targets.append("admin-search")
        if "api" in targets:
            targets.insert(0, "blog-way")  # its steps, next to the site's profile
        if not targets:
            return {}
        _log(f"profiling {', '.join(targets)}")
        return self.probe(
            "profile",
            *("--targets", ",".join(targets), "--samples", str(max(5, self.options.samples // 3))),
            *("--deep-id", str(results["deep_pagination"]["deep_after_id"])),
            *("--username", ADMIN_USER),
        )

    def probe(self, command: str, *args: str) -> dict:
        out = self.work / f"probe-{command}.json"
        completed = subprocess.run(
            [sys.executable, "-m", "tests.bench.probe", command, "--out", str(out), *args],
            cwd=ROOT,
            env=self.env("probe"),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"probe {command} failed:\n{completed.stderr[-3000:]}")
        return json.loads(out.read_text())


# -- helpers ---------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 2) if denominator else None


def _gunicorn_settings() -> dict:
    namespace: dict = {}
    config = ROOT / "employees_site" / "gunicorn.conf.py"
    exec(compile(config.read_text(), str(config), "exec"), namespace)  # noqa: S102 - our config
    return {key: namespace[key] for key in ("workers", "threads", "worker_class", "max_requests")}
