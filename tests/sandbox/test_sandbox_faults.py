"""Seeded faults and latency: the spec syntax, each fault, reproducibility, a real server."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jirakit.sandbox.faults import (
    FaultLogFilter,
    FaultMiddleware,
    FaultSpec,
    FaultSpecError,
    InjectedConnectionReset,
    parse_latency,
)
from jirakit.sandbox.serve import serve_in_thread

FULL = "429=0.05,500=0.01,502=0.01,503=0.02,reset=0.01,slow=0.05:2000,truncate=0.01"


class Recorder:
    """A tiny app that counts the requests reaching it, and a fake sleep."""

    def __init__(self) -> None:
        self.hits = 0
        self.sleeps: list[float] = []

    async def endpoint(self, request: Request) -> JSONResponse:
        self.hits += 1
        return JSONResponse({"key": "ENG-1", "fields": {"summary": "x" * 40}})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/rest/api/3/{rest:path}", self.endpoint, methods=["GET", "POST"]),
                Route("/oauth/token", self.endpoint, methods=["POST"]),
            ]
        )

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def middleware(
    rec: Recorder, spec: str, seed: int = 1, latency: tuple[float, float] | None = None
) -> FaultMiddleware:
    return FaultMiddleware(
        rec.app(), FaultSpec.parse(spec), seed=seed, latency=latency, sleep=rec.sleep
    )


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for c in made:
        await c.aclose()


def client_for(app: FaultMiddleware, made: list[httpx.AsyncClient]) -> httpx.AsyncClient:
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test")
    made.append(c)
    return c


# -- the spec ------------------------------------------------------------------------


def test_parse_the_full_spec():
    spec = FaultSpec.parse(FULL)
    assert (spec.p429, spec.p500, spec.p502, spec.p503) == (0.05, 0.01, 0.01, 0.02)
    assert (spec.reset, spec.truncate, spec.slow, spec.slow_ms) == (0.01, 0.01, 0.05, 2000.0)
    assert FaultSpec.parse(str(spec)) == spec
    assert FaultSpec.parse(" 503 = 2% , slow=10%:50 ") == FaultSpec(p503=0.02, slow=0.1, slow_ms=50)
    assert FaultSpec.parse("").empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("404=0.1", r"'404=0\.1'.*unknown fault '404'"),
        ("429=lots", r"'429=lots'.*not a probability"),
        ("500=1.5", r"'500=1\.5'.*above 1"),
        ("500", r"'500'.*NAME=PROBABILITY"),
        ("slow=0.1", r"'slow=0\.1'.*slow=PROBABILITY:MILLISECONDS"),
        ("slow=0.1:soon", r"'slow=0\.1:soon'"),
        ("reset=0.1,reset=0.2", r"'reset=0\.2'.*given twice"),
        ("429=0.6,500=0.6", r"add up to 1\.2"),
    ],
)
def test_bad_specs_name_the_bad_token(text: str, message: str):
    with pytest.raises(FaultSpecError, match=message):
        FaultSpec.parse(text)


def test_parse_latency():
    assert parse_latency("50-150") == (50.0, 150.0)
    assert parse_latency("100") == (100.0, 100.0)
    with pytest.raises(FaultSpecError, match="'150-50'"):
        parse_latency("150-50")
    with pytest.raises(FaultSpecError, match="'fast'"):
        parse_latency("fast")


# -- each fault, in-process ----------------------------------------------------------


async def test_429_fault_is_jiras(rec: Recorder, clients: list[httpx.AsyncClient]):
    c = client_for(middleware(rec, "429=1"), clients)
    r = await c.get("/rest/api/3/myself")
    assert r.status_code == 429
    assert r.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert r.headers["retry-after"] == "1"
    assert r.headers["ratelimit-reason"] == "jira-burst-based"
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert r.headers["x-ratelimit-nearlimit"] == "true"
    assert {"x-ratelimit-limit", "x-ratelimit-reset", "x-arequestid"} <= set(r.headers)
    assert rec.hits == 0  # never reached the app


async def test_server_errors(rec: Recorder, clients: list[httpx.AsyncClient]):
    r = await client_for(middleware(rec, "500=1"), clients).get("/rest/api/3/myself")
    assert r.status_code == 500 and r.json()["errorMessages"]
    r = await client_for(middleware(rec, "502=1"), clients).get("/rest/api/3/myself")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    c = client_for(middleware(rec, "503=1"), clients)
    answers = [await c.get("/rest/api/3/myself") for _ in range(20)]
    assert {r.status_code for r in answers} == {503}
    with_wait = [r for r in answers if r.headers.get("retry-after") == "1"]
    assert 0 < len(with_wait) < 20  # only some 503s say when to come back
    assert rec.hits == 0


async def test_reset_in_process_raises_a_transport_error(
    rec: Recorder, clients: list[httpx.AsyncClient]
):
    mw = middleware(rec, "reset=1")
    with pytest.raises(InjectedConnectionReset) as info:
        await client_for(mw, clients).post("/rest/api/3/issue", json={})
    assert isinstance(info.value, httpx.RemoteProtocolError)
    assert rec.hits == 1  # the request was processed: only the answer was lost
    assert mw.injected["reset"] == 1


async def test_truncate_in_process_breaks_the_body(rec: Recorder, clients: list[httpx.AsyncClient]):
    r = await client_for(middleware(rec, "truncate=1"), clients).get("/rest/api/3/issue/ENG-1")
    assert r.status_code == 200
    assert int(r.headers["content-length"]) > len(r.content) > 0
    with pytest.raises(json.JSONDecodeError):
        r.json()


async def test_slow_and_latency_delay_without_sleeping_in_tests(
    rec: Recorder, clients: list[httpx.AsyncClient]
):
    c = client_for(middleware(rec, "slow=1:2000", latency=(50, 150)), clients)
    for _ in range(10):
        assert (await c.get("/rest/api/3/myself")).status_code == 200
    assert len(rec.sleeps) == 10
    assert all(2.05 <= s <= 2.15 for s in rec.sleeps)
    assert len(set(rec.sleeps)) > 1  # the latency is drawn per request


async def test_only_rest_paths_get_faults(rec: Recorder, clients: list[httpx.AsyncClient]):
    c = client_for(middleware(rec, "500=1", latency=(10, 10)), clients)
    assert (await c.post("/oauth/token")).status_code == 200
    assert rec.sleeps == []


async def outcomes(rec: Recorder, spec: str, seed: int, n: int) -> list[object]:
    mw = middleware(rec, spec, seed=seed, latency=(0, 100))
    out: list[object] = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=mw), base_url="http://sandbox.test"
    ) as c:
        for i in range(n):
            try:
                r = await c.get(f"/rest/api/3/issue/ENG-{i}")
                out.append((r.status_code, r.headers.get("retry-after"), len(r.content)))
            except InjectedConnectionReset:
                out.append("reset")
    return [*out, *rec.sleeps]


async def test_same_seed_same_faults():
    spec = "429=0.1,500=0.1,502=0.1,503=0.1,reset=0.1,truncate=0.1,slow=0.2:300"
    first = await outcomes(Recorder(), spec, seed=42, n=100)
    again = await outcomes(Recorder(), spec, seed=42, n=100)
    other = await outcomes(Recorder(), spec, seed=43, n=100)
    assert first == again
    assert first != other
    statuses = {o[0] for o in first[:100] if isinstance(o, tuple)}
    assert statuses == {200, 429, 500, 502, 503}
    assert "reset" in first


async def test_rates_are_roughly_honoured(rec: Recorder, clients: list[httpx.AsyncClient]):
    mw = middleware(rec, "503=0.25", seed=7)
    c = client_for(mw, clients)
    codes = [(await c.get("/rest/api/3/myself")).status_code for _ in range(200)]
    assert 30 <= codes.count(503) <= 70
    assert mw.injected["503"] == codes.count(503)


# -- over a real server (uvicorn) ----------------------------------------------------


@pytest.fixture
def quiet_uvicorn() -> Iterator[None]:
    log = logging.getLogger("uvicorn.error")
    flt = FaultLogFilter()
    log.addFilter(flt)
    yield
    log.removeFilter(flt)


@pytest.mark.parametrize("wiring", ["bare", "starlette-middleware"])
def test_reset_and_truncate_over_uvicorn(quiet_uvicorn: None, wiring: str):
    rec = Recorder()
    spec = FaultSpec(reset=0.5, truncate=0.5)
    app: object
    if wiring == "bare":
        app = mw = FaultMiddleware(rec.app(), spec, seed=3)
    else:  # as the sandbox wires it: inside Starlette's ServerErrorMiddleware
        app = Starlette(
            routes=rec.app().routes, middleware=[Middleware(FaultMiddleware, spec=spec, seed=3)]
        )
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=5) as client:
        seen = set()
        for _ in range(12):
            try:
                client.get("/rest/api/3/issue/ENG-1")
            except httpx.RemoteProtocolError as exc:
                seen.add("reset" if "without sending a response" in str(exc) else "truncate")
        assert seen == {"reset", "truncate"}
    assert rec.hits == 12
    if wiring == "bare":
        assert mw.injected["reset"] + mw.injected["truncate"] == 12
