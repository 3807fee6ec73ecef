"""What a market-data source raises when it cannot give usable data at ``asof``.

The services turn a `MarketDataError` into a "no trade / no hedge, because ..." event and an
admin alert; its `problem` says why in words, its `kind` says what class of failure it was.
(These two belong with the `MarketData` port in `bot.ports`; they live here until it exists, so
that the adapters and the services can share them.)
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MarketDataError", "MarketDataProblem"]


class MarketDataProblem(StrEnum):
    """The class of a market-data failure."""

    UNAVAILABLE = "unavailable"
    """No data: network error, HTTP error, no file covering the moment."""
    MALFORMED = "malformed"
    """The source answered with something that is not the expected data."""
    STALE = "stale"
    """The data is older than the source's age limit at ``asof``."""
    FUTURE = "future"
    """The data is time-stamped after ``asof``: a clock error."""
    EMPTY = "empty"
    """Well-formed but nothing usable: no options, or none quoted two-sided."""


class MarketDataError(Exception):
    """A market-data source could not give usable data; the message names source and problem.

    The message reads like ``Cboe delayed quotes options/_SPX.json: HTTP 503 after 3 attempts``.

    Attributes:
        source: The source and resource, e.g. "Cboe delayed quotes options/_SPX.json".
        problem: What was wrong, with the values involved (never a secret).
        kind: The class of failure.
    """

    def __init__(self, source: str, problem: str, kind: MarketDataProblem) -> None:
        self.source = source
        self.problem = problem
        self.kind = kind
        super().__init__(f"{source}: {problem}")
