"""The HTML checker the browser tests run on every page they visit can run, and finds errors."""

from __future__ import annotations

import pytest

from tests.browser import html_checker as vnu
from tests.browser.conftest import REQUIRE_BROWSER
from tests.browser.crawl import crawl, kind


@pytest.fixture
def checker(html_checker):
    if html_checker is None:
        reason = vnu.missing_reason()
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason} and PSIFLOW_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return html_checker


def test_checker_reports_a_repeated_id(checker):
    html = (
        b'<!doctype html><html lang="en"><head><title>t</title></head><body>'
        b'<form><input type="hidden" name="csrf_token" id="csrf_token"></form>'
        b'<form><input type="hidden" name="csrf_token" id="csrf_token"></form></body></html>'
    )
    problems = checker.errors("repeated-id", html)
    assert [p.message for p in problems] == ["Duplicate ID \u201ccsrf_token\u201d."]


def test_checker_passes_a_valid_page(checker):
    html = b'<!doctype html><html lang="en"><head><title>t</title></head><body><p>ok</p></body>'
    assert checker.errors("valid", html) == []


# --- every kind of page of the demo clinic, as each role reaches it ---------------------------


def test_every_kind_of_page_of_the_demo_clinic_is_valid_html(checker, app, db, client):
    from psiflow import demo

    demo.seed_demo()
    db.session.commit()
    problems, kinds = [], set()
    for account in demo.ACCOUNTS:
        response = client.post(
            "/login", data={"email": account.email, "password": demo.DEMO_PASSWORD}
        )
        assert response.status_code == 302, account.email
        for url, html in crawl(client):
            kinds.add(kind(url))
            problems += checker.errors(url, html)
        client.post("/logout")
    assert len(kinds) >= 20, sorted(kinds)  # the crawl reached the clinic, not just a board
    assert not problems, "invalid HTML (Nu HTML Checker):\n" + "\n".join(map(str, problems))
