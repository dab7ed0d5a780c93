"""What every security test needs: the app's routes, a small clinic, forms found by crawling
the pages as their users see them, and a snapshot of what the database holds."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from psiflow import access, create_app
from psiflow.access import ENDPOINTS
from psiflow.domain.phases import Phase
from psiflow.extensions import db as _db
from psiflow.extensions import limiter
from tests.conftest import IsolatedClient
from tests.factories import TEST_PASSWORD, gen_course, gen_patient, gen_user

UNAUDITED_TABLES = {"audit_events", "audit_chain_head"}
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def routes(app):
    """(rule, method) for every route but static files, as the URL map has them now."""
    return [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - SKIPPED_METHODS)
    ]


def post_routes(app):
    return [rule for rule, method in routes(app) if method == "POST"]


def url(rule, ids: dict) -> str:
    # An id the clinic fixture did not make is 1: such a URL then names nothing, which the
    # guard must still answer without leaking anything.
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), rule.rule)


def database_snapshot() -> dict:
    """Every row of every table but the audit trail (which records the attempts themselves)."""
    _db.session.expire_all()
    snapshot = {}
    with _db.engine.connect() as connection:
        for table in _db.metadata.sorted_tables:
            if table.name in UNAUDITED_TABLES:
                continue
            rows = connection.execute(sa.select(table)).all()
            snapshot[table.name] = sorted(repr(tuple(r)) for r in rows)
    return snapshot


@dataclass
class Clinic:
    team: dict
    patient: object
    course: object
    practice_patient: object
    spare_user: object  # the target of admin actions, so they never lock the team out
    ids: dict = field(default_factory=dict)

    def user_for(self, rule: access.Rule):
        """Someone the rule lets through, so a refusal is for another reason than access."""
        for user in self.team.values():
            if not access.role_allowed(user, rule):
                continue
            if rule.patient is None or access.can(user, rule.patient, self.patient):
                return user
        return None


@pytest.fixture
def clinic_world(db, team):
    patient = gen_patient(
        team["clinician"], display_name="Sorrel Confidential", co_facilitator=team["clinician2"]
    )
    course = gen_course(patient, Phase.PREPARATION)
    practice = gen_patient(team["trainee"], display_name="Practice Confidential")
    gen_course(practice, Phase.SCREENING)
    spare = gen_user(access.Role.CLINICIAN, team["admin"].clinic, name="Spare Clinician")
    _db.session.commit()
    return Clinic(
        team,
        patient,
        course,
        practice,
        spare,
        {
            "patient_id": patient.id,
            "course_id": course.id,
            "user_id": spare.id,
        },
    )


def _own_app(database_url, **config):
    app = create_app(
        {
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def own_app(database_url, app):
    made = []

    def make(**config):
        """An app configured as it runs (CSRF on, no TESTING), unless `config` says otherwise."""
        made.append(_own_app(database_url, **config))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            _db.engine.dispose()
    # The limiter is one object per process: give it back to the suite's app.
    limiter.init_app(app)


def log_in(client, user, csrf: bool = False):
    data = {"email": user.email, "password": TEST_PASSWORD}
    if csrf:
        data["csrf_token"] = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 302, "log-in failed"


def logged_in(client) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def take_flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return session.pop("_flashes", [])


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def rule_of(rule) -> access.Rule:
    return ENDPOINTS[rule.endpoint]


# --- Forms, as the pages present them -----------------------------------------------------


@dataclass
class Form:
    action: str
    fields: list[dict]  # {"tag", "type", "name", "value", "options", "selected"}
    page: str = ""  # where it was found

    @property
    def names(self) -> set[str]:
        return {f["name"] for f in self.fields if f["name"]}


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: set[str] = set()
        self._form: Form | None = None
        self._select: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.add(a["href"].split("#")[0])
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action", ""), [])
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select"):
            entry = {
                "tag": tag,
                "type": a.get("type", "text"),
                "name": a.get("name"),
                "value": a.get("value", ""),
                "options": [],
                "selected": None,
                "checked": "checked" in a,
            }
            self._form.fields.append(entry)
            if tag == "select":
                self._select = entry
        elif tag == "option" and self._select is not None:
            self._select["options"].append(a.get("value", ""))
            if "selected" in a:
                self._select["selected"] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_on(client, page: str) -> list[Form]:
    """The POST forms `page` shows now (an empty action posts back to the page itself)."""
    parser = _FormParser()
    parser.feed(client.get(page).get_data(as_text=True))
    for form in parser.forms:
        form.action = form.action or page
        form.page = page
    return [f for f in parser.forms if not f.action.endswith("/logout")]


def crawl(client, start: str = "/", limit: int = 40) -> tuple[list[Form], dict[str, str]]:
    """Follow the site's own links from `start`; return its POST forms and each page's HTML."""
    seen: dict[str, str] = {}
    forms: list[Form] = []
    queue = [start]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen or urlsplit(path).path.startswith("/static"):
            continue
        response = client.get(path, follow_redirects=True)
        # A download (an audit history CSV) is no page: its text is the stored text, as a
        # spreadsheet needs it, sent as text/csv with nosniff, so no browser runs it.
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        seen[path] = html
        parser = _FormParser()
        parser.feed(html)
        for form in parser.forms:
            form.action = form.action or urlsplit(response.request.path).path
            form.page = path
        forms.extend(f for f in parser.forms if not f.action.endswith("/logout"))
        queue.extend(sorted(parser.links - set(seen)))
    return forms, seen
