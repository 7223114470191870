"""Prometheus metrics shared by both services."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "dealtrail_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
APPENDS = Counter("dealtrail_events_appended_total", "Events appended", ["service", "stream_type"])
PROJECTION_APPLIED = Counter(
    "dealtrail_projection_events_applied_total",
    "Events applied by projections",
    ["service", "projection"],
)
PROJECTION_LAG = Gauge(
    "dealtrail_projection_lag_events",
    "Events not yet applied by a projection",
    ["service", "projection"],
)
OLDEST_XACT_AGE = Gauge(
    "dealtrail_oldest_transaction_age",
    "Age (in transactions) of the oldest open writing transaction; it holds the feed back",
    ["service"],
)
