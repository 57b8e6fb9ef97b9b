"""The issue's goals, each read off the results: targets, not assertions."""

from __future__ import annotations

GOALS = (
    ("site_over_blog_way", "site / blog way requests per second", ">= 10"),
    ("site_over_floor", "site / floor requests per second", ">= 0.5"),
    ("html_over_floor", "site's HTML list / floor requests per second", ">= 0.4"),
    ("html_cost_over_api", "site's HTML list / API time per request (same page size)", "<= 1.3"),
    ("secret_calls_per_process", "site's Secrets Manager calls per process (no rotation)", "<= 1"),
    ("blog_way_secret_calls", "blog way's Secrets Manager calls per 1,000 requests", "~1,000"),
    ("reader_share", "share of the site's SELECTs on the replica", ">= 0.99"),
    ("deep_over_first", "keyset deep page / first page (API)", "<= 1.5"),
    ("admin_first_page", "admin changelist median, first page (ms)", "< 300"),
    ("admin_search", "admin changelist median, name-prefix search (ms)", "< 300"),
)


def evaluate(results: dict) -> list[dict]:
    throughput = results["throughput"]
    calls = results["secrets_manager_calls"]
    values = {
        "site_over_blog_way": (throughput["site_over_blog_way"], lambda v: v >= 10),
        "site_over_floor": (throughput["site_over_floor"], lambda v: v >= 0.5),
        "html_over_floor": (throughput["html_over_floor"], lambda v: v >= 0.4),
        "html_cost_over_api": (throughput["html_cost_over_api"], lambda v: v <= 1.3),
        "secret_calls_per_process": (calls["site"]["per_process"], lambda v: v <= 1),
        # The goal describes the blog way (one call per request); met when that is what we saw.
        # wrk stops counting at its deadline while the server finishes the requests in flight,
        # so the count over a timed run is a little above one per counted request.
        "blog_way_secret_calls": (
            calls["blog_way"]["per_1000_requests"],
            lambda v: 950 <= v <= 1050,
        ),
        "reader_share": (results["read_share"]["reader_share"], lambda v: v >= 0.99),
        "deep_over_first": (
            results["deep_pagination"]["api"]["deep_over_first"],
            lambda v: v <= 1.5,
        ),
        "admin_first_page": (results["admin_changelist"]["first_page_ms"], lambda v: v < 300),
        "admin_search": (results["admin_changelist"]["search_ms"], lambda v: v < 300),
    }
    found = []
    for goal_id, description, target in GOALS:
        value, test = values[goal_id]
        found.append(
            {
                "id": goal_id,
                "goal": description,
                "target": target,
                "value": value,
                "met": value is not None and bool(test(value)),
            }
        )
    return found
