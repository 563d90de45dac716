"""The console v2 in a real browser, at 1280 and 1920 pixels wide: the traffic panel's
charts after some traffic, filtering, paging and undeploying applications, enabling and
disabling a service, pausing the auto-refresh; no horizontal overflow, nothing the CSP
refuses. Screenshots go to var/screenshots/."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from gateway.console import history, pages
from tests.browser.conftest import SCREENSHOTS, in_thread, screenshot
from tests.conftest import Running

WIDTHS = (1280, 1920)
ROWS = "#applications tbody tr[data-key]"
LONG = (
    'validator(schema="{\\"title\\": \\"an order as the shop sends it\\", \\"type\\": '
    '\\"object\\", \\"required\\": [\\"id\\", \\"lines\\", \\"customer\\"], \\"properties\\": '
    '{\\"id\\": {\\"type\\": \\"string\\", \\"pattern\\": \\"^[A-Z]{2}-[0-9]{8}$\\"}, '
    '\\"lines\\": {\\"type\\": \\"array\\", \\"minItems\\": 1}, \\"customer\\": {\\"type\\": '
    '\\"object\\"}, \\"note\\": {\\"type\\": \\"string\\", \\"maxLength\\": 500}}}") | JSON -> XML'
)


def numbered(i: int) -> str:
    return f'validator(schema="{{\\"title\\": \\"order {i}\\"}}")'


@pytest.fixture
async def console(start_gateway, upstream, monkeypatch) -> Running:
    monkeypatch.setattr(history, "INTERVAL_S", 0.2)  # a chart's points within a second
    monkeypatch.setattr(pages, "REFRESH_S", 3600)  # no reload under a test's clicks
    return await start_gateway(upstream)


async def traffic(gw: Running, rounds: int = 12) -> None:
    """Rounds of hits, misses and problems, a sample apart, for charts with a shape."""
    assert (await gw.call(LONG, {"id": "AB-12345678", "lines": [1], "customer": {}})).status == 200
    for r in range(rounds):
        for i in range(2 * r % 7):
            assert (await gw.call(numbered(r * 10 + i), {})).status == 200
        for _ in range(5 + 3 * (r % 4)):
            assert (await gw.call("validator", {})).status == 200
        for _ in range(r % 3):
            assert (await gw.call("no_such_service", {})).status == 404
        if r % 4 == 1:
            assert (await gw.call("validator | (", {})).status == 400
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


def overflow(driver: Any) -> tuple[int, int]:
    return driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")


def refused_by_csp(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security" in e["message"]]


def look_at_the_traffic(driver: Any, admin: str, width: int) -> dict[str, Any]:
    driver.set_window_size(width, 1000)
    driver.get(admin + "/ui")
    charts = driver.find_elements(By.CSS_SELECTOR, "#traffic svg.chart")
    seen = {
        "charts": len(charts),
        "lines": len(driver.find_elements(By.CSS_SELECTOR, "#chart-requests polyline")),
        "problems": driver.find_element(By.ID, "chart-problems").text,
        "latency": driver.find_element(By.ID, "chart-latency").text,
        "overflow": overflow(driver),
        "refresh": driver.find_element(By.ID, "refresh-state").text,
        "canonical_height": driver.execute_script(
            "return document.querySelector('#applications td.canonical code')"
            ".getBoundingClientRect().height"
        ),
        "line_height": driver.execute_script(
            "return parseFloat(getComputedStyle(document.querySelector("
            "'#applications td.canonical code')).lineHeight)"
        ),
    }
    driver.save_screenshot(str(SCREENSHOTS / f"console-{width}-top.png"))  # what one sees
    seen["screenshot"] = screenshot(driver, f"console-{width}")
    seen["csp"] = refused_by_csp(driver)
    return seen


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_traffic_panel_draws_charts_and_the_page_fits(browser, console, width):
    await traffic(console)
    seen = await in_thread(look_at_the_traffic, browser, console.admin, width)
    assert seen["charts"] == 6 and seen["lines"] >= 1, seen
    assert "service-not-found" in seen["problems"] and "syntax" in seen["problems"], seen
    assert "p50" in seen["latency"] and "p99" in seen["latency"], seen
    scroll, inner = seen["overflow"]
    assert scroll <= inner, f"the page overflows at {width}: {scroll} > {inner}"
    assert seen["canonical_height"] <= 2.5 * seen["line_height"], seen  # two lines at most
    assert seen["refresh"] == "refreshes every 3600 s"  # the script ran
    assert seen["csp"] == []
    assert seen["screenshot"].stat().st_size > 30_000


def filter_page_and_undeploy(driver: Any, admin: str, width: int, key: str) -> dict[str, Any]:
    driver.set_window_size(width, 1000)
    driver.get(admin + "/ui")
    seen: dict[str, Any] = {"first": len(driver.find_elements(By.CSS_SELECTOR, ROWS))}
    seen["page_of"] = driver.find_element(By.ID, "page-of").text
    driver.find_element(By.ID, "page-next").click()
    WebDriverWait(driver, 10).until(EC.url_contains("page=2"))
    seen["second"] = driver.find_element(By.ID, "page-of").text
    driver.find_element(By.ID, "page-last").click()
    WebDriverWait(driver, 10).until(EC.url_contains("page=3"))
    seen["last"] = len(driver.find_elements(By.CSS_SELECTOR, ROWS))
    seen["overflow"] = overflow(driver)

    field = driver.find_element(By.ID, "q")
    field.clear()
    field.send_keys("json_to_xml")
    driver.find_element(By.ID, "filter-button").click()
    WebDriverWait(driver, 10).until(EC.url_contains("q=json_to_xml"))
    seen["by_service"] = len(driver.find_elements(By.CSS_SELECTOR, ROWS))

    field = driver.find_element(By.ID, "q")
    field.clear()
    field.send_keys(key[:10])
    driver.find_element(By.ID, "filter-button").click()
    WebDriverWait(driver, 10).until(EC.url_contains(f"q={key[:10]}"))
    seen["by_key"] = [
        r.get_attribute("data-key") for r in driver.find_elements(By.CSS_SELECTOR, ROWS)
    ]
    driver.find_element(By.ID, f"undeploy-{key}").click()
    WebDriverWait(driver, 10).until(EC.url_contains("undeployed="))
    seen["notice"] = driver.find_element(By.ID, "undeployed").text
    seen["filter_kept"] = driver.find_element(By.ID, "q").get_attribute("value")
    seen["after"] = len(driver.find_elements(By.CSS_SELECTOR, ROWS))
    seen["screenshot"] = screenshot(driver, f"console-undeployed-{width}")
    return seen


@pytest.mark.parametrize("width", WIDTHS)
async def test_filter_paging_and_undeploy_by_clicking(browser, console, width):
    for i in range(115):
        assert (await console.call(numbered(i), {})).status == 200
    for header in ("JSON -> XML", "validator | JSON -> XML"):
        assert (await console.call(header, {"a": 1})).status == 200
    key = (await console.call("JSON -> XML", {"a": 1})).headers["Integration-App"]
    seen = await in_thread(filter_page_and_undeploy, browser, console.admin, width, key)
    assert seen["first"] == 50 and seen["page_of"] == "page 1 of 3", seen
    assert seen["second"] == "page 2 of 3" and seen["last"] == 17, seen
    assert seen["overflow"][0] <= seen["overflow"][1], seen
    assert seen["by_service"] == 2, seen
    assert seen["by_key"] == [key], seen
    assert seen["notice"].startswith(f"Application {key} is undeployed"), seen
    assert seen["filter_kept"] == key[:10] and seen["after"] == 0, seen
    assert key not in {a.key for a in console.gateway.applications}
    assert len(console.gateway.applications) == 116


def disable_then_enable(driver: Any, admin: str, width: int, sid: str) -> dict[str, Any]:
    driver.set_window_size(width, 1000)
    driver.get(admin + "/ui#services-title")
    driver.find_element(By.ID, f"disable-{sid}").click()
    WebDriverWait(driver, 10).until(EC.url_contains("disabled="))
    row = f'#services tr[data-id="{sid}"] .badge'
    seen = {
        "notice": driver.find_element(By.ID, "service-disabled").text,
        "badge": driver.find_element(By.CSS_SELECTOR, row).text,
        "overflow": overflow(driver),
    }
    driver.find_element(By.ID, f"enable-{sid}").click()
    WebDriverWait(driver, 10).until(EC.url_contains("enabled="))
    seen["enabled"] = driver.find_element(By.ID, "service-enabled").text
    seen["badge_after"] = driver.find_element(By.CSS_SELECTOR, row).text
    return seen


@pytest.mark.parametrize("width", WIDTHS)
async def test_disable_and_enable_a_service_by_clicking(browser, console, width):
    sid = "json_to_xml@1.0.0"
    assert (await console.call("JSON -> XML", {"a": 1})).status == 200
    repository = console.gateway.repository
    states = []

    async def watch() -> None:  # the state in between, as the repository has it
        while True:
            states.append(repository.get(sid).enabled)
            await asyncio.sleep(0.05)

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        seen = await in_thread(disable_then_enable, browser, console.admin, width, sid)
    finally:
        watcher.cancel()
    assert seen["notice"].startswith(f"Service {sid} is disabled"), seen
    assert seen["badge"] == "NO" or seen["badge"].lower() == "no", seen
    assert seen["overflow"][0] <= seen["overflow"][1], seen
    assert seen["enabled"].startswith(f"Service {sid} is enabled"), seen
    assert seen["badge_after"].lower() == "yes", seen
    assert False in states and repository.get(sid).enabled
    assert len(console.gateway.applications) == 0  # disabling undeployed its application


def pause_the_refresh(driver: Any, admin: str) -> dict[str, Any]:
    driver.get(admin + "/ui")
    driver.execute_script("window.igwMark = 1")
    time.sleep(2.5)
    seen: dict[str, Any] = {"reloaded": driver.execute_script("return window.igwMark") is None}
    driver.find_element(By.ID, "refresh-toggle").click()
    seen["state"] = driver.find_element(By.ID, "refresh-state").text
    driver.execute_script("window.igwMark = 1")
    time.sleep(2.5)
    seen["kept"] = driver.execute_script("return window.igwMark") == 1
    driver.refresh()
    seen["after_reload"] = driver.find_element(By.ID, "refresh-toggle").text
    driver.find_element(By.ID, "refresh-toggle").click()
    driver.find_element(By.ID, "q").send_keys("valid")  # editing: no reload takes it away
    driver.execute_script("window.igwMark = 1")
    time.sleep(2.5)
    seen["editing"] = driver.find_element(By.ID, "refresh-state").text
    seen["typed_kept"] = driver.find_element(By.ID, "q").get_attribute("value")
    return seen


async def test_the_operator_pauses_the_auto_refresh(browser, console, monkeypatch):
    monkeypatch.setattr(pages, "REFRESH_S", 1)
    seen = await in_thread(pause_the_refresh, browser, console.admin)
    assert seen["reloaded"], seen
    assert seen["state"] == "auto-refresh paused" and seen["kept"], seen
    assert seen["after_reload"] == "Resume", seen  # paused for the tab
    assert seen["editing"].startswith("auto-refresh waits") and seen["typed_kept"] == "valid"
