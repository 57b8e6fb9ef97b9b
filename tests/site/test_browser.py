"""The admin in a real browser (Debian's headless Chromium): log in, add, search, see it public."""

import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as page
from selenium.webdriver.support.ui import WebDriverWait

from employees_site.employees.models import Employee

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.skipif(
        not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
        reason="needs Debian's chromium and chromium-driver (make test installs them)",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "reader"]),
]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="employees-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # The console log, where the browser reports what the Content-Security-Policy blocked.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _policy_violations(browser) -> list[str]:
    """Console messages since the last call about something the Content-Security-Policy blocked."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def _submit(browser, selector, condition):
    """Click the submit control and wait until the next page shows ``condition``."""
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    wait = WebDriverWait(browser, 15)
    wait.until(page.staleness_of(old))
    wait.until(condition)


def _fill(browser, field_id, value):
    field = browser.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(value)


def test_operator_adds_finds_and_publishes_an_employee(browser, live_server, wait_for_replica):
    """Log in, get a clear error for a bad age, add the employee, find it, see it on /."""
    get_user_model().objects.create_superuser("operator", "", "browser-pass-123")
    wait_for_replica()

    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    _fill(browser, "id_username", "operator")
    _fill(browser, "id_password", "browser-pass-123")
    _submit(browser, "input[type=submit]", page.title_contains("Site administration"))

    browser.get(f"{live_server.url}/admin/employees/employee/add/")
    _fill(browser, "id_name", "Grace Hopper")
    _fill(browser, "id_age", "12")
    age_errors = (By.CSS_SELECTOR, ".field-age .errorlist")
    _submit(browser, "input[name=_save]", page.presence_of_element_located(age_errors))
    assert "greater than or equal to 16" in browser.find_element(*age_errors).text

    _fill(browser, "id_age", "45")
    messages = (By.CSS_SELECTOR, ".messagelist")
    _submit(browser, "input[name=_save]", page.presence_of_element_located(messages))
    assert "was added successfully" in browser.find_element(*messages).text

    _fill(browser, "searchbar", "Grace")
    _submit(browser, "#changelist-search input[type=submit]", page.url_contains("q=Grace"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "th").text for row in rows] == ["Grace Hopper"]

    browser.get(f"{live_server.url}/?q=Grace")
    cells = browser.find_elements(By.CSS_SELECTOR, "tbody td:first-child")
    assert [cell.text for cell in cells] == ["Grace Hopper"]
    _submit(browser, "tbody td:first-child a", page.title_contains("Grace Hopper"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Grace Hopper"
    # Styles from the site's stylesheet apply (the policy allows no inline style).
    body_font = browser.find_element(By.TAG_NAME, "body").value_of_css_property("font-family")
    assert "system-ui" in body_font
    assert _policy_violations(browser) == []


def test_operator_pages_an_estimated_list_to_its_last_row(
    browser, live_server, settings, stale_row_estimate
):
    """Paging the admin by its Next link reaches every employee while the count is an estimate."""
    call_command("seed_employees", count=130, seed=6, stdout=io.StringIO())
    get_user_model().objects.create_superuser("pager", "", "browser-pass-456")
    stale_row_estimate(90)
    # Reads after the login would go to the writer (exact count) for the pin window otherwise.
    settings.DATABASE_PIN_SECONDS = 0

    browser.get(f"{live_server.url}/admin/login/?next=/admin/employees/employee/")
    _fill(browser, "id_username", "pager")
    _fill(browser, "id_password", "browser-pass-456")
    _submit(browser, "input[type=submit]", page.title_contains("Select employee"))
    assert "about 90 employees" in browser.find_element(By.CSS_SELECTOR, ".paginator").text
    seen = []
    for _ in range(10):  # 130 rows at 50 a page: 3 pages; the bound stops a runaway loop
        seen += [
            cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")
        ]
        following = browser.find_elements(By.CSS_SELECTOR, ".paginator a[rel=next]")
        if not following:
            break
        browser.implicitly_wait(0)
        _submit(browser, ".paginator a[rel=next]", page.url_contains("p="))
        browser.implicitly_wait(5)
    expected = list(Employee.objects.order_by("name", "id").values_list("name", flat=True))
    assert seen == expected
    assert len(seen) == 130
    assert _policy_violations(browser) == []


# Screenshots of the public pages, for a person to look at (git-ignored, kept after the run).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _shot(browser, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}.png")), name


def test_visitor_searches_pages_and_comes_back(browser, live_server, wait_for_replica):
    """A visitor searches by a surname, pages next, previous and first, opens an employee and
    comes back to the same list page; the list reads on a phone; a missing page has the layout."""
    call_command("seed_employees", count=130, seed=4, stdout=io.StringIO())
    wait_for_replica()
    browser.set_window_size(1280, 900)
    browser.get(f"{live_server.url}/?limit=20")
    assert browser.find_element(By.CSS_SELECTOR, "header.site .brand").text == "Employee directory"
    assert "Showing 20 of 130" in browser.find_element(By.CSS_SELECTOR, ".summary").text
    _shot(browser, "list")

    _fill(browser, "q", "bau")
    _submit(browser, "form.search button", page.url_contains("q=bau"))
    names = _names_shown(browser)
    assert names and all(re.search(r"\bBauer\b", name) for name in names)
    _shot(browser, "search")

    browser.get(f"{live_server.url}/?limit=20")
    first_page = _names_shown(browser)
    _submit(browser, "a[rel=next]", page.url_contains("cursor="))
    second_page = _names_shown(browser)
    second_url = browser.current_url
    assert second_page and not set(second_page) & set(first_page[-1:])
    _submit(browser, "a[rel=next]", page.url_contains("cursor="))
    _submit(browser, "a[rel=prev]", page.url_contains("cursor="))
    assert _names_shown(browser) == second_page
    _submit(browser, "a[rel=prev]", lambda driver: _names_shown(driver) == first_page)

    browser.get(second_url)
    chosen = browser.find_element(By.CSS_SELECTOR, "tbody td:first-child a").text
    _submit(browser, "tbody td:first-child a", page.title_contains(chosen))
    assert browser.find_element(By.TAG_NAME, "h1").text == chosen
    _shot(browser, "detail")
    _submit(browser, "p.back a", page.url_to_be(second_url))
    assert _names_shown(browser) == second_page
    _submit(browser, "a[rel=first]", lambda driver: _names_shown(driver) == first_page)

    admin = browser.find_element(By.LINK_TEXT, "Staff admin")
    assert admin.get_attribute("href").endswith("/admin/")

    browser.get(f"{live_server.url}/employees/999999999/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not found"
    _shot(browser, "error-404")

    browser.set_window_size(390, 844)  # a phone
    browser.get(f"{live_server.url}/?limit=10")
    assert not browser.find_element(By.CSS_SELECTOR, "table.people thead").is_displayed()
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the list is {width}px wide on a 390px screen"
    _shot(browser, "list-phone")
    browser.set_window_size(1280, 900)
    assert _policy_violations(browser) == []


def _names_shown(browser) -> list[str]:
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "tbody td:first-child")]
