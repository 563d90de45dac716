"""`fetch_wsdl_hosts` (SPEC §2): a host allows all its ports, `host:port` only that one."""

from __future__ import annotations

import pytest

from repository.fetch import FetchPolicy, FetchRefused

POLICY = FetchPolicy.only(
    ["127.0.0.1:8090", "Example.COM", "[::1]:8443", "::2"], max_bytes=1, timeout_s=1
)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8090/x",
        "http://example.com/a",
        "https://example.com:4443/a",
        "http://[::1]:8443/x",
        "http://[::2]:9/x",
    ],
)
def test_allowed(url: str) -> None:
    POLICY.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8091/x",
        "http://127.0.0.1/x",  # port 80 is not 8090
        "http://[::1]:8444/x",
        "http://example.org/a",
        "http://user@example.com/a",
        "file:///etc/passwd",
    ],
)
def test_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        POLICY.check(url)
