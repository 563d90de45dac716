"""The console in a real browser: sorting by a column header, the policy form, purge now,
adding and revoking a client."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import in_thread

ROWS = "#applications tbody tr[data-key]"


def keys(driver: Any) -> list[str]:
    return [row.get_attribute("data-key") for row in driver.find_elements(By.CSS_SELECTOR, ROWS)]


def wait_for_url(driver: Any, part: str) -> None:
    WebDriverWait(driver, 10).until(EC.url_contains(part))


def sort_by_hits(driver: Any, admin: str) -> tuple[list[str], list[str]]:
    driver.get(admin + "/")
    assert driver.current_url == admin + "/ui" and "Console" in driver.title
    before = keys(driver)
    driver.find_element(By.ID, "sort-hits").click()
    wait_for_url(driver, "sort=hits&order=desc")
    header = driver.find_element(By.ID, "sort-hits")
    assert header.text == "Hits ▼", header.text
    return before, keys(driver)


def set_max_idle(driver: Any, value: str, screenshot: Path) -> None:
    field = driver.find_element(By.ID, "max_idle_s")
    field.clear()
    field.send_keys(value)
    driver.find_element(By.ID, "save-policy").click()
    wait_for_url(driver, "policy=saved")
    assert "saved and in effect" in driver.find_element(By.ID, "saved").text
    assert driver.find_element(By.ID, "max_idle_s").get_attribute("value") == value
    driver.save_screenshot(str(screenshot))


def purge_now(driver: Any) -> str:
    driver.find_element(By.ID, "purge-now").click()
    wait_for_url(driver, "purged=")
    assert keys(driver) == []
    return driver.find_element(By.ID, "report").text


async def test_operator_sorts_sets_the_policy_and_purges(browser, gw, tmp_path):
    hit, fresh = "validator", 'validator(schema="{}")'
    for header in (hit, hit, hit, fresh):
        assert (await gw.call(header, {})).status == 200
    ka = (await gw.call(hit, {})).headers["Integration-App"]
    kb = (await gw.call(fresh, {})).headers["Integration-App"]

    before, after = await in_thread(sort_by_hits, browser, gw.admin)
    assert before == [kb, ka]  # most recently used first
    assert after == [ka, kb]  # most hits first

    screenshot = tmp_path / "console.png"
    await in_thread(set_max_idle, browser, "0", screenshot)
    assert gw.gateway.applications.policy.max_idle_s == 0
    assert screenshot.stat().st_size > 10_000

    report = await in_thread(purge_now, browser)
    assert report.startswith("Purge report: purged 2 applications, freed"), report
    assert report.endswith("0 remaining."), report
    assert len(gw.gateway.applications) == 0


def sign_in(driver: Any, admin: str) -> dict[str, Any]:
    driver.get(admin + "/ui?token=s3cret")
    assert driver.current_url == admin + "/ui", driver.current_url
    assert driver.find_elements(By.ID, "purge-now")
    cookie = driver.get_cookie("igw_console")
    driver.find_element(By.ID, "purge-now").click()
    wait_for_url(driver, "purged=")
    return cookie


async def test_with_a_token_the_browser_signs_in_by_link_then_by_cookie(
    browser, start_gateway, monkeypatch
):
    monkeypatch.setenv("IGW_ADMIN_TOKEN", "s3cret")
    gw = await start_gateway()
    await gw.call("validator", {})
    cookie = await in_thread(sign_in, browser, gw.admin)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    assert cookie["value"] != "s3cret"


def add_client(driver: Any, admin: str, screenshot: Path) -> tuple[str, str]:
    driver.get(admin + "/ui")
    driver.find_element(By.ID, "client-name").send_keys("billing")
    driver.find_element(By.ID, "client-allow").send_keys("validator\njson_to_*")
    driver.find_element(By.ID, "client-source").send_keys("https://billing.example.com")
    driver.find_element(By.ID, "add-client-button").click()
    box = WebDriverWait(driver, 10).until(EC.visibility_of_element_located((By.ID, "made")))
    assert "not shown again" in box.text
    assert driver.current_url == admin + "/ui/clients#clients-title", driver.current_url
    driver.save_screenshot(str(screenshot))
    made = (driver.find_element(By.ID, i).text for i in ("made-id", "made-secret"))
    return next(made), next(made)


def revoke_after_a_fresh_look(driver: Any, admin: str, client_id: str) -> tuple[str, str]:
    driver.get(admin + "/ui")
    seen = driver.page_source
    driver.find_element(By.ID, f"revoke-{client_id}").click()
    wait_for_url(driver, "revoked=")
    return seen, driver.find_element(By.ID, "revoked").text


async def test_operator_adds_a_client_sees_its_secret_once_and_revokes_it(browser, gw, tmp_path):
    screenshot = tmp_path / "client.png"
    client_id, secret = await in_thread(add_client, browser, gw.admin, screenshot)
    [client] = gw.gateway.clients
    assert client.id == client_id and client.allow == ("validator", "json_to_*")
    assert await gw.gateway.clients.authenticate(
        "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    )
    seen, notice = await in_thread(revoke_after_a_fresh_look, browser, gw.admin, client_id)
    assert client_id in seen and secret not in seen
    assert notice.startswith(f"Client {client_id} is revoked"), notice
    assert len(gw.gateway.clients) == 0
