"""The deals HTTP API: thin routers (parse → context → handler → respond), schemas, errors."""
