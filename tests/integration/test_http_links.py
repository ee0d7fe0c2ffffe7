"""Links in check-status bodies: the request's own origin, proxies only when trusted, mounts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from durable import Client
from durable.http import create_app
from durable.stores import MemoryStore
from tests.integration.test_http_support import http_app, served

FORWARDED = {"x-forwarded-proto": "https", "x-forwarded-host": "api.example.com"}


def _start(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/orchestrators/echo/i-1", json=1, headers=headers, timeout=10)


@pytest.fixture
def direct() -> Iterator[str]:
    with served(create_app(Client(MemoryStore(), app=http_app))) as url:
        yield f"{url}/runtime/webhooks/durabletask"


@pytest.fixture
def proxied() -> Iterator[str]:
    api = create_app(Client(MemoryStore(), app=http_app), trust_proxy=True, base_path="/api")
    with served(api) as url:
        yield f"{url}/api"


def test_links_use_the_host_the_client_addressed(direct: str) -> None:
    response = _start(direct, {"host": "durable.internal:8080"})
    assert response.json()["statusQueryGetUri"] == (
        "http://durable.internal:8080/runtime/webhooks/durabletask/instances/i-1"
    )
    assert response.headers["location"] == response.json()["statusQueryGetUri"]


def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(direct: str) -> None:
    response = _start(direct, FORWARDED)
    assert response.json()["statusQueryGetUri"] == f"{direct}/instances/i-1"


def test_forwarded_headers_build_the_links_behind_a_trusted_proxy(proxied: str) -> None:
    response = _start(proxied, {**FORWARDED, "x-forwarded-host": "api.example.com, inner"})
    assert response.json()["terminatePostUri"] == (
        "https://api.example.com/api/instances/i-1/terminate?reason={text}"
    )
    polled = httpx.get(f"{proxied}/instances/i-1?showInput=false", headers=FORWARDED, timeout=10)
    assert (polled.status_code, polled.headers["location"]) == (
        202,
        "https://api.example.com/api/instances/i-1?showInput=false",
    )


def test_a_host_header_that_is_not_a_host_falls_back_to_the_server_address(direct: str) -> None:
    response = _start(direct, {"host": "evil.example/path?x="})
    assert response.json()["id"] == "i-1"
    assert response.json()["statusQueryGetUri"] == f"{direct}/instances/i-1"


def test_ids_are_percent_encoded_in_links(direct: str) -> None:
    response = httpx.post(f"{direct}/orchestrators/echo/a%20b%25c", json=1, timeout=10)
    assert (response.json()["id"], response.json()["statusQueryGetUri"]) == (
        "a b%c",
        f"{direct}/instances/a%20b%25c",
    )
    assert (
        httpx.get(response.json()["statusQueryGetUri"], timeout=10).json()["instanceId"] == "a b%c"
    )


def test_a_mounted_api_links_under_its_mount_path() -> None:
    api = create_app(Client(MemoryStore(), app=http_app), base_path="")
    with served(Starlette(routes=[Mount("/durable", app=api)])) as url:
        response = _start(f"{url}/durable")
        assert (response.status_code, response.json()["statusQueryGetUri"]) == (
            202,
            f"{url}/durable/instances/i-1",
        )
        status = httpx.get(f"{url}/durable/instances/i-1", timeout=10)
        assert (status.status_code, status.json()["runtimeStatus"]) == (202, "Pending")
        missing = httpx.get(f"{url}/durable/nothing", timeout=10)
        assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")
