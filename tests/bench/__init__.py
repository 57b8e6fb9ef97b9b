"""Benchmarks: the site against the blog's per-request way and a raw floor, on the bench pair.

``python -m tests.bench`` (``make bench``) writes ``bench-results.json`` and ``BENCHMARKS.md`` at
the repository root. Nothing here asserts on speed; ``test_smoke.py`` only checks that the harness
runs end to end on tiny sizes and writes every figure.
"""
