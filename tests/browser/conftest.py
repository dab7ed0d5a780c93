"""Browser tests: the real app served on loopback, driven in Debian's Chromium by Playwright.

Without Chromium these tests skip with the reason; PSIFLOW_REQUIRE_BROWSER=1 (set by CI)
turns that skip into a failure so a missing browser can never pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import threading
from types import SimpleNamespace

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from tests.browser import html_checker as vnu
from tests.factories import TEST_PASSWORD

CHROMIUM = os.environ.get("PSIFLOW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE_BROWSER = os.environ.get("PSIFLOW_REQUIRE_BROWSER") == "1"
# As root in a container Chromium needs --no-sandbox; the rest keeps it off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    # The threaded development server leaves a static file's handle to the garbage collector
    # when Chromium drops a connection mid-response; that is the test server's, not the app's.
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
            item.add_marker(
                pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
            )


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message + " and PSIFLOW_REQUIRE_BROWSER=1")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def served_app(app):
    """The app the browser talks to; a test module may serve another (e.g. other protocols)."""
    return app


@pytest.fixture
def live_server(served_app, db):
    """The app on a free loopback port; what the test commits, the browser sees."""
    server = make_server("127.0.0.1", 0, served_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def html_checker(tmp_path_factory):
    """The Nu HTML Checker service, or None where Java or vnu.jar is missing (then
    test_valid_html.py says why, and fails instead under PSIFLOW_REQUIRE_BROWSER=1)."""
    if vnu.missing_reason() is not None:
        yield None
        return
    checker = vnu.HtmlChecker(tmp_path_factory.mktemp("vnu") / "vnu.log")
    yield checker
    checker.stop()


@pytest.fixture
def page(browser, live_server, html_checker):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Generous: CI shares two cores between the app, Chromium and the test runner.
    page.set_default_timeout(30_000)
    documents: list[tuple[str, bytes]] = []

    def keep_document(response):
        # Every page the app sends the browser, as sent (before any script changes it); a
        # redirect has no page.
        if (
            response.request.resource_type == "document"
            and not 300 <= response.status < 400
            and (response.header_value("content-type") or "").startswith("text/html")
        ):
            try:
                documents.append((response.url, response.body()))
            except PlaywrightError:
                pass  # the browser dropped it for the next navigation before it was read

    if html_checker is not None:
        page.on("response", keep_document)
    yield page
    context.close()
    if html_checker is not None:
        problems = [p for url, html in documents for p in html_checker.errors(url, html)]
        assert not problems, "invalid HTML (Nu HTML Checker):\n" + "\n".join(map(str, problems))


@pytest.fixture
def browser_login(page, db):
    def login(user, password: str = TEST_PASSWORD):
        db.session.commit()
        page.goto("/login")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        assert "/login" not in page.url, "log-in failed"
        return page

    return login


@pytest.fixture
def browser_logout(page):
    def logout():
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/login")

    return logout


@pytest.fixture
def assert_accessible():
    """Run axe-core on the page and fail on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def check(page):
        results = axe.run(page)
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        details = "\n".join(
            f"{v['impact']}: {v['id']} - {v['help']} ({len(v['nodes'])} nodes: "
            f"{[n['target'] for n in v['nodes'][:3]]})"
            for v in bad
        )
        assert not bad, f"accessibility violations on {page.url}:\n{details}"

    return check
