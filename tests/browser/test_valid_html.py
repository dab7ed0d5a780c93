"""The HTML checker the browser tests run on every page they visit can run, and finds errors."""

from __future__ import annotations

import pytest

from tests.browser import html_checker as vnu
from tests.browser.conftest import REQUIRE_BROWSER


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
