"""The accounts service: customers (accounts), their contacts and buying roles, contact touches.

``domain/`` is the pure core (commands, events, ``decide`` / ``evolve``); the API,
projections and wiring live beside it.
"""
