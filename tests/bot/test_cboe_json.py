"""The Cboe delayed-quotes adapter, fed only recorded responses through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bot.adapters.market_data.cboe_json import (
    DEFAULT_BASE_URL,
    CboeDelayedQuotes,
    parse_options_json,
)
from bot.adapters.market_data.errors import MarketDataError, MarketDataProblem
from core.calendar import NEW_YORK
from core.chain import QualityCode, Severity

LIVE = Path(__file__).resolve().parents[2] / "data" / "live_samples"
INTRADAY = "spx_options_cboe_2026-09-04_intraday_246rows.json"
PREMARKET = "spx_options_cboe_2026-06-10_premarket_28rows.json"
POSTCLOSE = "spx_options_cboe_2026-07-14_postclose_sample.json"
VIX = "vix_quote_cboe_2026-10-06_intraday.json"
OPTIONS_PATH = "/api/global/delayed_quotes/options/_SPX.json"
SPX_QUOTE_PATH = "/api/global/delayed_quotes/quotes/_SPX.json"
VIX_QUOTE_PATH = "/api/global/delayed_quotes/quotes/_VIX.json"

#: 2026-09-04 18:18:34 UTC, the intraday response's timestamp.
INTRADAY_AT = datetime(2026, 9, 4, 14, 18, 34, tzinfo=NEW_YORK)

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ny(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


def recorded(name: str) -> bytes:
    return (LIVE / name).read_bytes()


def document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(recorded(name))
    return loaded


def as_bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def spx_quote() -> bytes:
    """A quotes/_SPX.json response derived from the intraday options one (none was recorded)."""
    doc = document(INTRADAY)
    del doc["data"]["options"]
    return as_bytes(doc)


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeCboe:
    """Serves queued replies per path; the last reply of a path repeats."""

    def __init__(self, routes: dict[str, Iterable[Reply]]) -> None:
        self.routes = {path: list(replies) for path, replies in routes.items()}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        replies = self.routes.get(request.url.path)
        if not replies:
            return httpx.Response(404, text="not found")
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)


def ok(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_source(sleeps):
    clients: list[httpx.AsyncClient] = []

    def make(
        routes: dict[str, Iterable[Reply]], **kwargs: Any
    ) -> tuple[CboeDelayedQuotes, FakeCboe]:
        fake = FakeCboe(routes)
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        clients.append(client)
        return CboeDelayedQuotes(client=client, sleep=sleeps, **kwargs), fake

    yield make
    for client in clients:
        assert client.is_closed is False  # the source does not close a client it was given
        await client.aclose()


# --- the recorded responses -----------------------------------------------------------------


async def test_chain_from_recorded_intraday_response(make_source):
    source, fake = make_source({OPTIONS_PATH: [ok(recorded(INTRADAY))]})

    chain = await source.chain(INTRADAY_AT + timedelta(minutes=2))

    assert len(chain) == 246
    assert chain.underlying == "SPX"
    assert chain.spot == pytest.approx(7708.8301)
    # Cboe's delayed pages are 15 minutes behind the response time during the session.
    assert chain.quote_time == ny(2026, 9, 4, 14, 3, 34)
    assert "options/_SPX.json" in chain.source
    assert [(r, f"{e:%Y-%m-%d}") for r, e in chain.expiries()] == [
        ("SPXW", "2026-09-04"),
        ("SPX", "2026-09-18"),
        ("SPXW", "2026-09-18"),
        ("SPX", "2026-10-16"),
        ("SPXW", "2026-10-16"),
        ("SPX", "2027-06-17"),
    ]
    assert not [i for i in chain.issues if i.severity is Severity.ERROR]
    assert [str(r.url) for r in fake.requests] == [f"{DEFAULT_BASE_URL}/options/_SPX.json"]
    assert fake.requests[0].extensions["timeout"]["read"] == 20.0


async def test_chain_greeks_agree_with_cboes_own_near_the_money(make_source):
    source, _ = make_source({OPTIONS_PATH: [ok(recorded(INTRADAY))]})

    chain = await source.chain(INTRADAY_AT)

    near = (np.abs(chain.strike - chain.spot) < 30) & (chain.cboe_iv > 0)
    assert near.sum() > 50
    assert np.nanmax(np.abs(chain.delta[near] - chain.cboe_delta[near])) < 0.01
    assert np.nanmax(np.abs(chain.iv[near] - chain.cboe_iv[near])) < 0.006


async def test_chain_before_the_open_uses_overnight_quotes_and_reports_the_stale_spot(make_source):
    source, _ = make_source({OPTIONS_PATH: [ok(recorded(PREMARKET))]})

    chain = await source.chain(ny(2026, 6, 10, 5, 10))

    assert chain.quote_time == ny(2026, 6, 10, 4, 52, 11)  # GTH quotes, 15 min delayed
    codes = {i.code for i in chain.issues}
    assert QualityCode.SPOT_MISMATCH in codes  # the index print is the prior close
    assert QualityCode.ZERO_QUOTE in codes  # the two 0/0 2027 rows are kept and reported


async def test_chain_after_the_close_reports_the_expired_same_day_expiry(make_source):
    source, _ = make_source({OPTIONS_PATH: [ok(recorded(POSTCLOSE))]})

    chain = await source.chain(ny(2026, 7, 14, 23, 58))

    assert len(chain) == 40
    assert chain.spot == pytest.approx(7543.5898)
    expired = [i for i in chain.issues if i.code is QualityCode.EXPIRED]
    assert [(i.root, f"{i.expiry:%Y-%m-%d}") for i in expired] == [("SPXW", "2026-07-14")]


async def test_spx_last_returns_price_and_print_time(make_source):
    source, fake = make_source({SPX_QUOTE_PATH: [ok(spx_quote())]})

    price, at = await source.spx_last(INTRADAY_AT + timedelta(minutes=1))

    assert price == pytest.approx(7708.8301)
    assert at == ny(2026, 9, 4, 14, 3, 32)
    assert fake.requests[0].url.path == SPX_QUOTE_PATH


async def test_index_last_reads_the_recorded_vix_quote(make_source):
    source, _ = make_source({VIX_QUOTE_PATH: [ok(recorded(VIX))]})

    quote = await source.index_last("VIX", ny(2026, 10, 6, 14, 0))

    assert quote.symbol == "VIX"
    assert quote.price == pytest.approx(15.1)
    assert quote.at == ny(2026, 10, 6, 13, 41, 31)
    assert quote.captured_at == ny(2026, 10, 6, 13, 56, 38)
    assert quote.open == pytest.approx(15.4)  # the session's opening print, as recorded


async def test_an_index_quote_without_a_usable_open_has_none(make_source):
    doc = document(VIX)
    for value in (None, 0.0):  # null, or 0 before the day's first print
        doc["data"]["open"] = value
        source, _ = make_source({VIX_QUOTE_PATH: [ok(as_bytes(doc))]})
        quote = await source.index_last("VIX", ny(2026, 10, 6, 14, 0))
        assert quote.open is None


def test_parse_options_json_keeps_cboe_iv_and_delta_as_reported():
    snapshot = parse_options_json(recorded(INTRADAY), source="test")

    first = snapshot.quotes[0]
    assert (first.root, f"{first.expiry}", first.strike, first.is_call) == (
        "SPX",
        "2026-09-18",
        7710.0,
        True,
    )
    assert (first.bid, first.ask, first.cboe_iv, first.cboe_delta) == (65.7, 66.2, 0.106, 0.5168)
    assert sum(1 for q in snapshot.quotes if q.cboe_iv == 0.0) == 17  # Cboe's "not computed"


# --- HTTP failures --------------------------------------------------------------------------


async def test_http_500_is_retried_then_reported(make_source, sleeps):
    source, fake = make_source({OPTIONS_PATH: [httpx.Response(500)]})

    with pytest.raises(MarketDataError) as exc:
        await source.chain(INTRADAY_AT)

    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert str(exc.value) == (
        "Cboe delayed quotes options/_SPX.json: HTTP 500 Internal Server Error (3 attempts)"
    )
    assert len(fake.requests) == 3
    assert sleeps == [1.0, 2.0]


async def test_transient_503_then_success(make_source, sleeps):
    source, fake = make_source({OPTIONS_PATH: [httpx.Response(503), ok(recorded(INTRADAY))]})

    chain = await source.chain(INTRADAY_AT)

    assert len(chain) == 246
    assert len(fake.requests) == 2
    assert sleeps == [1.0]


async def test_429_waits_for_retry_after(make_source, sleeps):
    limited = httpx.Response(429, headers={"Retry-After": "7"})
    source, _ = make_source({OPTIONS_PATH: [limited, ok(recorded(INTRADAY))]})

    await source.chain(INTRADAY_AT)

    assert sleeps == [7.0]


async def test_429_with_a_long_retry_after_fails_at_once(make_source, sleeps):
    limited = httpx.Response(429, headers={"Retry-After": "3600"})
    source, _ = make_source({OPTIONS_PATH: [limited]})

    with pytest.raises(MarketDataError, match="Retry-After 3600 s"):
        await source.chain(INTRADAY_AT)

    assert sleeps == []


async def test_404_is_not_retried_and_names_the_url(make_source, sleeps):
    source, fake = make_source({})

    with pytest.raises(MarketDataError) as exc:
        await source.chain(INTRADAY_AT)

    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert "HTTP 404 Not Found from https://cdn.cboe.com/" in str(exc.value)
    assert len(fake.requests) == 1
    assert sleeps == []


async def test_timeout_is_retried_then_reported(make_source, sleeps):
    source, fake = make_source(
        {OPTIONS_PATH: [httpx.ReadTimeout("read timed out")]}, timeout_seconds=5, retries=1
    )

    with pytest.raises(MarketDataError) as exc:
        await source.chain(INTRADAY_AT)

    assert str(exc.value) == (
        "Cboe delayed quotes options/_SPX.json: timed out after 5 s (2 attempts)"
    )
    assert len(fake.requests) == 2
    assert fake.requests[0].extensions["timeout"]["read"] == 5.0


async def test_connection_error_is_reported(make_source):
    source, _ = make_source({OPTIONS_PATH: [httpx.ConnectError("name resolution failed")]})

    with pytest.raises(MarketDataError, match=r"connection failed \(ConnectError: name resolution"):
        await source.chain(INTRADAY_AT)


async def test_own_client_is_created_and_closed():
    async with CboeDelayedQuotes() as source:
        client = source._client
        assert client.headers["User-Agent"].startswith("condorbot/")
    assert client.is_closed


# --- malformed responses --------------------------------------------------------------------


async def expect_error(make_source, body: bytes, kind: MarketDataProblem, asof=INTRADAY_AT):
    source, _ = make_source({OPTIONS_PATH: [ok(body)]})
    with pytest.raises(MarketDataError) as exc:
        await source.chain(asof)
    assert exc.value.kind is kind
    assert str(exc.value).startswith("Cboe delayed quotes options/_SPX.json: ")
    return str(exc.value)


async def test_html_instead_of_json_is_malformed(make_source):
    message = await expect_error(
        make_source, b"<html><body>Access Denied</body></html>", MarketDataProblem.MALFORMED
    )

    assert "is not JSON" in message
    assert "'<html><body>Access Denied" in message


async def test_truncated_json_is_malformed(make_source):
    message = await expect_error(
        make_source, recorded(INTRADAY)[:5000], MarketDataProblem.MALFORMED
    )

    assert "is not JSON" in message


async def test_missing_data_object_is_malformed(make_source):
    message = await expect_error(
        make_source, b'{"timestamp": "2026-09-04 18:18:34"}', MarketDataProblem.MALFORMED
    )

    assert "'data': expected an object, got NoneType" in message


def with_row(change: Callable[[dict[str, Any]], None], index: int = 0) -> bytes:
    doc = document(INTRADAY)
    change(doc["data"]["options"][index])
    return as_bytes(doc)


async def test_non_numeric_bid_names_the_row_and_field(make_source):
    body = with_row(lambda row: row.update(bid="abc"), index=4)

    message = await expect_error(make_source, body, MarketDataProblem.MALFORMED)

    assert (
        "option row 5 (SPX260918C07715000), field 'bid': expected a number or null, got 'abc'"
        in (message)
    )


async def test_bad_option_symbol_is_malformed(make_source):
    body = with_row(lambda row: row.update(option="SPXW 260904C7710"))

    message = await expect_error(make_source, body, MarketDataProblem.MALFORMED)

    assert "option row 1, field 'option': expected an OCC option symbol" in message


async def test_bad_timestamp_is_malformed(make_source):
    doc = document(INTRADAY)
    doc["timestamp"] = "yesterday"

    message = await expect_error(make_source, as_bytes(doc), MarketDataProblem.MALFORMED)

    assert "'timestamp': expected a UTC time like '2026-09-04 18:18:34', got 'yesterday'" in message


async def test_missing_index_price_is_malformed(make_source):
    doc = document(INTRADAY)
    doc["data"]["current_price"] = None

    message = await expect_error(make_source, as_bytes(doc), MarketDataProblem.MALFORMED)

    assert "'data.current_price': expected a positive number, got null" in message


async def test_options_of_another_index_are_refused(make_source):
    body = with_row(lambda row: row.update(option="NDXP260904C07710000"))

    message = await expect_error(make_source, body, MarketDataProblem.MALFORMED)

    assert "options of SPX must have roots ['SPX', 'SPXW'], got ['NDXP', 'SPX', 'SPXW']" in message


async def test_contract_quoted_twice_differently_is_malformed(make_source):
    doc = document(INTRADAY)
    twin = dict(doc["data"]["options"][0], bid=1.0)
    doc["data"]["options"].append(twin)

    message = await expect_error(make_source, as_bytes(doc), MarketDataProblem.MALFORMED)

    assert "is quoted twice with different values" in message


async def test_empty_options_list_is_empty(make_source):
    doc = document(INTRADAY)
    doc["data"]["options"] = []

    message = await expect_error(make_source, as_bytes(doc), MarketDataProblem.EMPTY)

    assert "'data.options' is empty" in message


async def test_no_two_sided_quote_is_empty(make_source):
    doc = document(INTRADAY)
    for row in doc["data"]["options"]:
        row["bid"] = 0.0

    message = await expect_error(make_source, as_bytes(doc), MarketDataProblem.EMPTY)

    assert "none of the 246 options is quoted two-sided" in message


async def test_crossed_and_null_quotes_are_reported_not_hidden(make_source):
    doc = document(INTRADAY)
    rows = doc["data"]["options"]
    rows[0].update(bid=70.0, ask=66.2)  # SPX 2026-09-18 7710 C crossed
    rows[1].update(bid=None)  # a null bid
    source, _ = make_source({OPTIONS_PATH: [ok(as_bytes(doc))]})

    chain = await source.chain(INTRADAY_AT)

    assert len(chain) == 246
    codes = {i.code: i for i in chain.issues}
    assert QualityCode.CROSSED in codes
    assert "7710" in codes[QualityCode.CROSSED].detail
    assert QualityCode.NAN_FIELD in codes


# --- time checks ----------------------------------------------------------------------------


async def test_stale_response_timestamp_is_reported(make_source):
    message = await expect_error(
        make_source,
        recorded(INTRADAY),
        MarketDataProblem.STALE,
        asof=INTRADAY_AT + timedelta(hours=1),
    )

    assert "response time-stamped 2026-09-04 14:18 ET is 60 min old at 2026-09-04 15:18 ET" in (
        message
    )
    assert "(limit 30 min): a stale cached copy?" in message


async def test_response_from_the_future_is_reported(make_source):
    message = await expect_error(
        make_source,
        recorded(INTRADAY),
        MarketDataProblem.FUTURE,
        asof=INTRADAY_AT - timedelta(minutes=10),
    )

    assert "is after asof 2026-09-04 14:08:34 ET by 10 min: clock skew?" in message


async def test_small_clock_skew_is_tolerated(make_source):
    source, _ = make_source({OPTIONS_PATH: [ok(recorded(INTRADAY))]})

    chain = await source.chain(INTRADAY_AT - timedelta(seconds=90))

    assert len(chain) == 246


async def test_quotes_frozen_at_the_weekend_are_stale(make_source):
    doc = document(INTRADAY)
    doc["timestamp"] = "2026-09-05 16:00:00"  # Saturday noon ET: quotes froze Friday 16:15
    source, _ = make_source({OPTIONS_PATH: [ok(as_bytes(doc))]})

    with pytest.raises(MarketDataError) as exc:
        await source.chain(ny(2026, 9, 5, 12, 5))

    assert exc.value.kind is MarketDataProblem.STALE
    assert "option quotes from 2026-09-04 16:15 ET are 19.8 h old at 12:05 ET" in str(exc.value)
    assert "the market is closed" in str(exc.value)


async def test_index_price_stale_during_the_session(make_source):
    doc = document(VIX)
    doc["timestamp"] = "2026-10-06 18:30:00"  # 14:30 ET, fresh; the last print is 13:41
    source, _ = make_source({VIX_QUOTE_PATH: [ok(as_bytes(doc))]})

    with pytest.raises(MarketDataError) as exc:
        await source.index_last("VIX", ny(2026, 10, 6, 14, 31))

    assert exc.value.kind is MarketDataProblem.STALE
    assert "last VIX print 15.1 at 13:41 ET is 49 min old during the session" in str(exc.value)


async def test_index_price_after_the_close_is_returned_with_its_time(make_source):
    doc = document(VIX)
    doc["timestamp"] = "2026-10-06 22:00:00"  # 18:00 ET
    doc["data"]["last_trade_time"] = "2026-10-06T16:14:59"
    source, _ = make_source({VIX_QUOTE_PATH: [ok(as_bytes(doc))]})

    quote = await source.index_last("VIX", ny(2026, 10, 6, 18, 1))

    assert quote.at == ny(2026, 10, 6, 16, 14, 59)


async def test_quote_of_the_wrong_index_is_malformed(make_source):
    source, _ = make_source({SPX_QUOTE_PATH: [ok(recorded(VIX))]})

    with pytest.raises(MarketDataError, match="expected a quote of SPX, got VIX") as exc:
        await source.spx_last(ny(2026, 10, 6, 14, 0))

    assert exc.value.kind is MarketDataProblem.MALFORMED


async def test_naive_asof_is_refused(make_source):
    source, fake = make_source({OPTIONS_PATH: [ok(recorded(INTRADAY))]})

    with pytest.raises(ValueError, match="asof must be timezone-aware"):
        await source.chain(datetime(2026, 9, 4, 14, 20))  # noqa: DTZ001 - the point of the test

    assert fake.requests == []
