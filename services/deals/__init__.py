"""The deals service: deals moving through a pipeline, quotes, competitors, win/loss.

``domain/`` is the pure core (commands, events, ``decide`` / ``evolve``); the API,
projections and wiring live beside it.
"""
