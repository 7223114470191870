"""dealtrail's shared library: event store, projections, HTTP conventions, auth, settings."""
