"""Debian's headless chromium through selenium (`make browser` installs both), for the
browser tests (the `browser` fixture of conftest.py) and benchmarks/explorer_speed.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = "Debian's chromium and chromium-driver are needed: run `make browser`"


def chromium(profile: Path) -> Any:
    """A headless chromium driven by chromedriver, its profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never runs (it would try to download one).
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
