"""Drive Debian's headless Chromium (via /usr/bin/chromedriver and selenium) for the HTML tests.

`open_page` loads a local file with the network emulated offline, so a page that needs a CDN
fails. `chart_status` asks Plotly in the page what it drew. Chromium missing: the tests
fail when the env var CI is set (CI must not pass without running them), skip otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
OUTPUT = Path(__file__).resolve().parent / "output"
INSTALL_HINT = "install it with `bash .ci/install-browser` (apt-get install -y chromium chromium-driver)"

# Per Plotly div: its id, whether Plotly drew it, and per trace of its input data (visible or
# hidden behind a dropdown) the number of points: the longest of x, y, z, counting a
# heatmap's rows × columns. Plotly.py sends numeric arrays base64-encoded
# ({dtype, bdata, shape}); those are measured from their bytes.
CHART_STATUS_JS = """
const count = (v) => {
  if (v == null) return 0;
  if (typeof v === 'object' && typeof v.bdata === 'string') {
    if (v.shape) return String(v.shape).split(',').reduce((a, b) => a * parseInt(b, 10), 1);
    return atob(v.bdata).length / parseInt(String(v.dtype).slice(1), 10);
  }
  if (typeof v.length === 'number') {
    if (v.length > 0 && v[0] != null && typeof v[0] === 'object') {
      let n = 0; for (const row of v) n += count(row); return n;
    }
    return v.length;
  }
  return 0;
};
return Array.from(document.querySelectorAll('.plotly-graph-div')).map((gd) => ({
  id: gd.id,
  rendered: !!gd._fullLayout && gd.querySelector('.main-svg') !== null,
  traces: (gd.data || []).map((t) => ({
    type: t.type || 'scatter', name: t.name || '', visible: t.visible !== false,
    points: Math.max(count(t.z), count(t.y), count(t.x)),
  })),
}));
"""


def require_browser() -> None:
    """Skip (or fail under CI) when chromium / chromedriver / selenium are not installed."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium Python package (pip install -e '.[test]')")
    if missing:
        message = f"browser tests need {', '.join(missing)}: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium session with a fresh profile; console messages are logged."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="macrostack-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver, path: Path, timeout: float = 60.0) -> None:
    """Load a local HTML file with the network off; wait until every Plotly div has drawn."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    driver.set_page_load_timeout(timeout)
    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && Array.from(document.querySelectorAll('.plotly-graph-div'))"
        ".every((gd) => gd._fullLayout && gd.querySelector('.main-svg'))"))


def chart_status(driver) -> list[dict]:
    return driver.execute_script(CHART_STATUS_JS)


def console_errors(driver) -> list[str]:
    """Console messages at level SEVERE (errors, failed loads) since the last call."""
    return [f"{e.get('level')}: {e.get('message')}" for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(driver, name: str) -> Path:
    """A full-page PNG under tests/output/ (the window is resized to the page's height)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(max(width, 1400), min(height + 40, 16000))
    driver.execute_script("return new Promise((r) => setTimeout(r, 300))")
    path = OUTPUT / name
    driver.save_screenshot(str(path))
    return path


def section_screenshots(driver, prefix: str) -> list[Path]:
    """One PNG per <section> (and the header and headline tiles) under tests/output/, named `<prefix>-<id>.png`."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    from selenium.webdriver.common.by import By

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(height + 40, 16000))
    paths = []
    top = [driver.find_element(By.TAG_NAME, "header")] + driver.find_elements(By.CSS_SELECTOR, "div.tiles")
    for el in top + driver.find_elements(By.TAG_NAME, "section"):
        name = el.get_attribute("id") or ("header" if el.tag_name == "header" else "tiles")
        path = OUTPUT / f"{prefix}-{name}.png"
        el.screenshot(str(path))
        paths.append(path)
    return paths


def choose_dropdown(driver, div_id: str, label: str) -> list[bool]:
    """Open the Plotly dropdown of chart `div_id`, click the entry `label` (as a user would);
    returns the traces' visibility afterwards."""
    import time

    from selenium.webdriver.common.by import By

    header = driver.find_element(By.CSS_SELECTOR, f"#{div_id} .updatemenu-header")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
    header.click()
    buttons = driver.find_elements(By.CSS_SELECTOR, f"#{div_id} .updatemenu-dropdown-button")
    labels = [b.get_attribute("textContent") for b in buttons]
    if label not in labels:
        raise AssertionError(f"{div_id}: no dropdown entry {label!r} (entries: {labels})")
    buttons[labels.index(label)].click()
    time.sleep(0.3)  # Plotly.update redraws asynchronously
    return driver.execute_script(f"return document.getElementById('{div_id}').data.map((t) => t.visible !== false)")
