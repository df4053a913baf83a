"""The agent dashboard in a real headless browser (Debian's chromium driven by Selenium and chromedriver) against a
live emulator: pick the documented agent, filter, compare with direct Web API queries, sort, open details, and
watch a simulated conversation arrive. Set DASHBOARD_SCREENSHOT=docs/dashboard.png to refresh the README image."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests

from emulator.app import create_app
from emulator.simulation import for_app
from emulator.store.seed import DOC_AGENT_ID, DOC_AGENT_NAME

from .conftest import API, NOW, LiveServer, make_emulator

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FV = "@OData.Community.Display.V1.FormattedValue"
PREFER = {"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
          "Authorization": "Bearer e2e"}
WAIT = 20  # seconds a condition may take to become true (the page refreshes every 3 s)


def _install_browser() -> str | None:
    """Debian's chromium and chromedriver, installed with apt-get when missing; a reason when that is impossible."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    if not shutil.which("apt-get"):
        return "chromium is not installed and this machine has no apt-get to install it"
    if os.geteuid() != 0:
        return "chromium is not installed and installing it needs root (apt-get install chromium chromium-driver)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        except subprocess.TimeoutExpired:
            return f"'{' '.join(command)}' did not finish in 15 minutes"
        if done.returncode:
            return f"'{' '.join(command)}' failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None if CHROMIUM.exists() and CHROMEDRIVER.exists() else "apt-get ran but chromium is still missing"


@pytest.fixture(scope="module")
def browser():
    reason = _install_browser()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--window-size=1280,900", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live emulator of its own (default data, frozen clock) with its simulator, stepped by the tests."""
    emulator = make_emulator(tmp_path_factory.mktemp("e2e") / "emulator.db")
    app = create_app(emulator)
    server = LiveServer(app)
    server.emulator, server.simulator = emulator, for_app(app, rate=30, seed=8)
    yield server
    server.stop()
    emulator.db.dispose()


@pytest.fixture(scope="module")
def page(browser, site):
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site.url}/")
    until(browser, lambda d: d.find_element("css selector", "body").get_attribute("data-ready") == "true"
          or _error(d))
    assert not _error(browser), _error(browser)
    Select(browser.find_element("id", "agent")).select_by_value(DOC_AGENT_ID)
    return browser


def until(driver, condition, message: str = ""):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition, message)


def _error(driver) -> str:
    box = driver.find_element("id", "error")
    return box.text if box.is_displayed() else ""


def web_api(site, path: str) -> list[dict]:
    response = requests.get(f"{site.url}{API}/{path}", headers=PREFER, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def table_rows(driver) -> list[dict]:
    """What the table shows, read in one go (no stale elements while the page refreshes)."""
    return driver.execute_script("""
        return [...document.querySelectorAll('#conversations tbody tr')].map(tr => ({
            id: tr.dataset.id, status: tr.dataset.status,
            cells: [...tr.cells].map(td => td.textContent.trim())}));""")


def expected_cells(record: dict) -> list[str]:
    return [record["msdyn_title"], record[f"statuscode{FV}"], record[f"msdyn_channel{FV}"],
            record.get(f"_msdyn_customer_value{FV}", ""), record.get(f"_msdyn_liveworkstreamid_value{FV}", ""),
            record[f"createdon{FV}"]]


def agent_query(extra: str = "", order: str = "createdon desc") -> str:
    select = "msdyn_title,statuscode,msdyn_channel,_msdyn_customer_value,_msdyn_liveworkstreamid_value,createdon"
    where = f"_msdyn_activeagentid_value eq {DOC_AGENT_ID}" + (f" and {extra}" if extra else "")
    return f"msdyn_ocliveworkitems?$select={select}&$filter={quote(where)}&$orderby={quote(order)}"


def set_statuses(driver, wanted: set[str]) -> None:
    for box in driver.find_elements("css selector", "input[name=status]"):
        if (box.get_attribute("value") in wanted) != box.is_selected():
            box.click()


def click_sort(driver, column: str) -> None:
    driver.find_element("css selector", f"th[data-column={column}] button").click()


def aria_sort(driver, column: str) -> str | None:
    return driver.find_element("css selector", f"th[data-column={column}]").get_attribute("aria-sort")


def test_agents_come_from_systemusers(page, site):
    users = web_api(site, "systemusers?$select=fullname,title&$orderby=fullname asc")
    options = page.execute_script(
        "return [...document.querySelectorAll('#agent option')].map(o => [o.value, o.dataset.name]);")
    assert options == [[u["systemuserid"], u["fullname"]] for u in users]
    label = page.find_element("css selector", "label[for=agent]").text
    assert label == "Agent"


def test_waiting_conversations_of_the_documented_agent_match_the_web_api(page, site):
    set_statuses(page, {"3"})
    expected = web_api(site, agent_query("statuscode eq 3"))
    assert expected, "the documented agent has Waiting conversations in the default data"
    until(page, lambda d: [r["id"] for r in table_rows(d)] == [e["activityid"] for e in expected],
          "the table does not show the agent's Waiting conversations")
    rows = table_rows(page)
    assert [r["cells"] for r in rows] == [expected_cells(e) for e in expected]
    assert {r["cells"][1] for r in rows} == {"Waiting"}
    # The rows came through the JavaScript getConversations: its script loaded and its query shape was sent.
    requested = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert any(url.endswith("/omnichannel.js") for url in requested)
    assert any("Microsoft.Dynamics.CRM.In(PropertyName='statuscode',PropertyValues=['3'])" in unquote(url)
               and DOC_AGENT_ID in url for url in requested), requested
    assert page.find_element("id", "caption").text == f"Conversations of {DOC_AGENT_NAME}"
    assert aria_sort(page, "created") == "descending"


def test_sorting_by_columns_with_mouse_and_keyboard(page, site):
    from selenium.webdriver.common.keys import Keys

    set_statuses(page, {"1", "2", "3", "4", "5"})
    everything = web_api(site, agent_query())
    until(page, lambda d: len(table_rows(d)) == len(everything))
    click_sort(page, "title")
    assert aria_sort(page, "title") == "ascending" and aria_sort(page, "created") is None
    titles = [r["cells"][0] for r in table_rows(page)]
    assert titles == sorted(titles, key=str.casefold) and len(set(titles)) > 5
    # Keyboard: focus the header button and press Enter, as a keyboard user would.
    button = page.find_element("css selector", "th[data-column=title] button")
    button.send_keys(Keys.ENTER)
    assert aria_sort(page, "title") == "descending"
    assert [r["cells"][0] for r in table_rows(page)] == sorted(titles, key=str.casefold, reverse=True)
    assert page.switch_to.active_element == button  # focus stays where the user is
    click_sort(page, "status")
    statuses = [r["cells"][1] for r in table_rows(page)]
    assert statuses == sorted(statuses, key=str.casefold) and aria_sort(page, "status") == "ascending"
    click_sort(page, "created")
    assert aria_sort(page, "created") == "descending"
    click_sort(page, "created")
    assert aria_sort(page, "created") == "ascending"
    oldest_first = web_api(site, agent_query(order="createdon asc"))
    assert [r["id"] for r in table_rows(page)] == [e["activityid"] for e in oldest_first]


def test_created_within_days_filter(page, site):
    days = page.find_element("id", "days")
    days.send_keys("2")
    days.send_keys("\t")  # leaving the field commits the change
    start = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")  # LastXDays: from midnight UTC N days ago
    expected = web_api(site, agent_query(f"createdon ge {start}", order="createdon asc"))
    assert 0 < len(expected) < len(web_api(site, agent_query()))
    until(page, lambda d: [r["id"] for r in table_rows(d)] == [e["activityid"] for e in expected],
          "the 'created within' filter does not match the Web API")
    days.clear()
    days.send_keys("\t")
    everything = web_api(site, agent_query())
    until(page, lambda d: len(table_rows(d)) == len(everything))


def test_details_show_the_conversation_and_its_sessions(page, site):
    from selenium.webdriver.common.keys import Keys

    first = table_rows(page)[0]
    opener = page.find_element("css selector", f"tr[data-id='{first['id']}'] button.open")
    opener.send_keys(Keys.ENTER)
    dialog = page.find_element("id", "details")
    until(page, lambda d: d.find_element("id", "details-title").text == first["cells"][0])
    assert dialog.get_attribute("open") is not None
    sessions = web_api(site, f"msdyn_ocsessions?$select=subject&$filter=_msdyn_liveworkitemid_value eq "
                             f"{first['id']}&$orderby=createdon asc")
    shown = page.execute_script(
        "return [...document.querySelectorAll('#sessions tbody tr')].map(tr => tr.dataset.id);")
    assert shown == [s["activityid"] for s in sessions] and shown
    status = page.find_element("css selector", "#details-fields dd[data-property=statuscode]").text
    assert status == first["cells"][1]
    page.switch_to.active_element.send_keys(Keys.ESCAPE)
    until(page, lambda d: d.find_element("id", "details").get_attribute("open") is None)
    assert page.switch_to.active_element.get_attribute("textContent") == first["cells"][0]


def test_a_simulated_conversation_appears(page, site):
    """Step the simulation (frozen clock, advanced between steps) until the documented agent accepts a new
    conversation; the page shows it on its next refresh, without a reload."""
    emulator, simulator = site.emulator, site.simulator
    simulator.step()
    since = emulator.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    arrived: list[dict] = []
    for _ in range(2000):
        emulator.clock.advance(timedelta(seconds=5))
        simulator.step()
        arrived = web_api(site, agent_query(f"createdon gt {since}"))
        if arrived:
            break
    assert arrived, "the simulation never gave the documented agent a conversation"
    new = arrived[0]
    until(page, lambda d: new["activityid"] in [r["id"] for r in table_rows(d)],
          "the simulated conversation did not appear on the page")
    shown = next(r for r in table_rows(page) if r["id"] == new["activityid"])
    assert shown["cells"][0] == new["msdyn_title"]
    assert page.find_element("css selector", f"tr[data-id='{new['activityid']}']").get_attribute("class") == "new"
    click_sort(page, "created")  # back to newest first: the new conversation leads
    assert aria_sort(page, "created") == "descending" and table_rows(page)[0]["id"] == new["activityid"]
    page.execute_script("document.activeElement.blur()")
    screenshot = os.environ.get("DASHBOARD_SCREENSHOT")
    if screenshot:
        page.save_screenshot(screenshot)


def test_accessible_names_keyboard_focus_and_contrast(page):
    """Every control has a name, Tab reaches them in order with a visible outline, and text contrast is at least
    4.5:1 (WCAG AA), computed from the page's own styles."""
    from selenium.webdriver.common.keys import Keys

    unnamed = page.execute_script("""
        return [...document.querySelectorAll('input, select, button')].filter(el => !el.hidden && !(
            el.labels?.length && el.labels[0].textContent.trim() || el.getAttribute('aria-label')
            || el.textContent.trim())).map(el => el.outerHTML);""")
    assert unnamed == []
    page.execute_script("document.querySelector('.skip').focus()")  # the first stop of the page
    page.switch_to.active_element.send_keys(Keys.TAB)
    page.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)  # back to it, now by keyboard
    reached = []
    for _ in range(12):
        element = page.switch_to.active_element
        outline = page.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];", element)
        reached.append(element.get_attribute("id") or element.get_attribute("value") or element.text)
        assert outline[0] != "none" and outline[1] != "0px", f"no visible focus on {reached[-1]}"
        element.send_keys(Keys.TAB)
    assert reached[:9] == ["Skip to conversations", "agent", "1", "2", "3", "5", "4", "days", "refresh"]
    ratios = page.execute_script("""
        const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
            if (!c.endsWith(', 0)') && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; };
        return [...document.querySelectorAll('h1, label, legend, small, button, th, td, td span, #status, #updated')]
            .filter(el => el.offsetParent && el.textContent.trim()).map(el => {
                const a = lum(getComputedStyle(el).color), b = lum(bg(el));
                return [el.tagName + ' ' + el.textContent.trim().slice(0, 20),
                        (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]; });""")
    low = [(name, round(ratio, 2)) for name, ratio in ratios if ratio < 4.5]
    assert ratios and low == []


def _conversation_requests(driver) -> int:
    """How many getConversations requests the page has sent since the resource timings were last cleared."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => e.name.includes('/msdyn_ocliveworkitems?'))"
        ".length;")


def test_pause_stops_the_refresh_and_resume_starts_it_again(page, site):
    """The effect, not the button state: while paused the page sends no request and a conversation created
    meanwhile does not appear; resumed, it does."""
    button = page.find_element("id", "pause")
    assert button.get_attribute("aria-pressed") == "false"
    page.execute_script("performance.clearResourceTimings(); performance.setResourceTimingBufferSize(10000);")
    until(page, lambda d: _conversation_requests(d) >= 1, "the page does not refresh on its own")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    time.sleep(1.0)  # a refresh already in flight may still land
    paused_at = _conversation_requests(page)
    created = requests.post(f"{site.url}{API}/msdyn_ocliveworkitems", timeout=30, headers={
        **PREFER, "Prefer": "return=representation", "Content-Type": "application/json"}, json={
        "subject": "Arrived while paused", "msdyn_title": "Arrived while paused", "statecode": 0, "statuscode": 2,
        "msdyn_activeagentid_msdyn_ocliveworkitem@odata.bind": f"/systemusers({DOC_AGENT_ID})"})
    assert created.status_code == 201, created.text
    new_id = created.json()["activityid"]
    time.sleep(3 * 3.0 + 1)  # three refresh periods
    assert _conversation_requests(page) == paused_at, "the page kept refreshing while paused"
    assert new_id not in [r["id"] for r in table_rows(page)]
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    until(page, lambda d: new_id in [r["id"] for r in table_rows(d)], "resuming did not refresh the page")
    requests.delete(f"{site.url}{API}/msdyn_ocliveworkitems({new_id})", headers=PREFER, timeout=30)


def test_page_files_need_no_token_and_use_no_external_resources(site):
    page = requests.get(f"{site.url}/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    for asset in ("/dashboard/dashboard.js", "/dashboard/dashboard.css"):
        response = requests.get(f"{site.url}{asset}", timeout=10)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
    assert "http://" not in page.text.replace('lang="en"', "") and "https://" not in page.text
    missing = requests.get(f"{site.url}/dashboard/nothing.js", timeout=10)
    assert missing.status_code == 404 and "error" in missing.json()
