"""Real headless Chromium for page tests, driven by Selenium with the system chromedriver.

Selenium is only ever given explicit paths and SE_OFFLINE is set, so Selenium Manager never
tries to download a browser or a driver. Without Chromium here, tests skip with a reason;
CI installs it (apt-get install chromium chromium-driver).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "images"


def skip_without_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(f"headless browser tests need {' and '.join(missing)} (apt-get install chromium chromium-driver)",
                    allow_module_level=True)
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")


@contextlib.contextmanager
def chromium(width: int = 1300, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must not go online
    profile = tempfile.mkdtemp(prefix="metta-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def save_screenshot(driver, name: str) -> Path | None:
    """A full-page screenshot into docs/images/ when METTA_SAVE_SCREENSHOTS=1."""
    if os.environ.get("METTA_SAVE_SCREENSHOTS") != "1":
        return None
    height = driver.execute_script("return document.documentElement.scrollHeight")
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight")  # bars around the page
    driver.set_window_size(driver.get_window_size()["width"], min(max(height + chrome + 24, 600), 2600))
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    driver.save_screenshot(str(path))
    return path
