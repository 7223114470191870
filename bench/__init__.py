"""Benchmarks, run by ``make bench`` (``python -m bench [NAME ...]``), never by the tests.

Each benchmark module exposes ``NAME`` and ``async def run(url: str) -> dict``;
:mod:`bench.__main__` starts a PostgreSQL for it (an embedded one in a temporary
folder, or ``BENCH_DATABASE_URL``), awaits ``run`` and prints the returned
document as JSON on stdout. Progress goes to stderr.
"""
