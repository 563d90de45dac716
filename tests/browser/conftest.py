"""A real headless Chromium for the console's browser tests, through Debian's chromedriver;
screenshots go to the project's var/screenshots/ (git-ignored), kept as artifacts."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

T = TypeVar("T")


@pytest.fixture
def browser() -> Iterator[Any]:
    if MISSING:
        pytest.skip(
            f"browser tests need Debian's chromium and chromium-driver: {', '.join(MISSING)} "
            "missing (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="igw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    # The page's console messages, so that a test can see what the CSP refused.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver: selenium-manager never looks for, nor downloads, one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def in_thread(step: Callable[..., T], *args: Any) -> T:
    """Run a blocking WebDriver call off the event loop, which serves the gateway meanwhile."""
    return await asyncio.to_thread(step, *args)


def screenshot(driver: Any, name: str) -> Path:
    """The whole page as var/screenshots/NAME.png (the window stretched to the page's height)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width = driver.execute_script("return window.outerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    before = driver.get_window_size()
    driver.set_window_size(width, min(height + 140, 8000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(before["width"], before["height"])
    return path
