"""Every form: refused without a CSRF token, unbreakable by garbage, and inert to stored
script. POST routes come from the URL map and their fields from the pages that show them, so
forms added later are covered without a new test."""

from __future__ import annotations

import re

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psiflow.extensions import db as _db
from tests.security.conftest import (
    crawl,
    database_snapshot,
    forms_on,
    log_in,
    logged_in,
    post_routes,
    rule_of,
    take_flashes,
    url,
)

PLAUSIBLE = {
    "version": "1",
    "to_phase": "dosing",
    "reason": "A plausible reason",
    "display_name": "Csrf Probe",
    "record_number": "CSRF-1",
    "name": "Csrf Probe",
    "email": "csrf.probe@clinic.test",
    "password": "lantern orchard velvet 42",
    "role": "clinician",
    "protocol_key": "x",
}


def test_every_post_without_a_csrf_token_is_refused_and_saves_nothing(make_app, db, clinic_world):
    app = make_app(WTF_CSRF_ENABLED=True)
    tried = 0
    for rule in post_routes(app):
        client = app.test_client()
        user = clinic_world.user_for(rule_of(rule))
        if user is not None and not rule_of(rule).public:
            log_in(client, user, csrf=True)
        before = database_snapshot()
        response = client.post(url(rule, clinic_world.ids), data=PLAUSIBLE)
        assert response.status_code == 400, rule.rule
        assert "did not come from PsiFlow" in response.get_data(as_text=True)
        assert database_snapshot() == before, rule.rule
        tried += 1
    assert tried >= 12
    print(f"posted to {tried} forms without a CSRF token")


def test_the_same_post_with_its_token_goes_through(make_app, db, clinic_world):
    # The control for the test above: the refusal is the missing token, nothing else.
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    log_in(client, clinic_world.team["clinician"], csrf=True)
    html = client.get(f"/patients/{clinic_world.patient.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post(
        f"/courses/{clinic_world.course.id}/hold",
        data={
            "csrf_token": token,
            "hold-version": clinic_world.course.version,
            "hold-reason": "Travelling",
        },
    )
    assert response.status_code == 302
    assert db.session.get(type(clinic_world.course), clinic_world.course.id).phase == "on_hold"


# --- Garbage --------------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)
_odd = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1e309",
        "99999999999999999999999",
        "\x00",
        "null",
        "' OR 1=1 --",
        "<script>",
        "../../etc/passwd",
        "%00",
        "\u202e",
        " ",
    ]
)


def _garbage(names: list[str]):
    keys = st.sampled_from(names) | st.text(max_size=20) if names else st.text(max_size=20)
    values = _text | _odd | st.integers().map(str)
    return st.dictionaries(keys, values | st.lists(values, max_size=3), max_size=8)


def _discovered_fields(app, clinic_world) -> dict[str, list[str]]:
    """Field names of every form the care team and the admin are shown, by form action."""
    fields: dict[str, set[str]] = {}
    for who in ("supervisor", "clinician", "admin"):
        client = app.test_client()
        log_in(client, clinic_world.team[who])
        forms, _pages = crawl(client)
        forms += crawl(client, f"/patients/{clinic_world.patient.id}")[0]
        for form in forms:
            fields.setdefault(form.action, set()).update(form.names)
    return {action: sorted(names) for action, names in fields.items()}


def _post_garbage(client, path: str, user, names: list[str]) -> int:
    """Post hypothesis garbage to `path` as `user`; return how many posts were tried."""
    tried = 0

    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(form=_garbage(names))
    def post_garbage(form):
        nonlocal tried
        tried += 1
        if user is not None and not logged_in(client):
            log_in(client, user)  # /logout with garbage still logs out
        before = database_snapshot()
        response = client.post(path, data=form)
        assert response.status_code < 500, (path, form)
        changed = database_snapshot() != before
        said_saved = response.status_code == 302 and any(
            category == "success" for category, _ in take_flashes(client)
        )
        assert not changed or said_saved, (path, form)

    post_garbage()
    return tried


def test_garbage_posted_to_every_form_never_breaks_the_app_or_saves_silently(app, db, clinic_world):
    """For every POST route: no 500, and the database changes only when the app says so (a
    success message after a redirect). Most garbage is refused outright; a few forms (a bare
    confirmation) accept anything by design, and then what they did is what they said."""
    fields = _discovered_fields(app, clinic_world)
    total = 0
    for rule in post_routes(app):
        user = None if rule_of(rule).public else clinic_world.user_for(rule_of(rule))
        path = url(rule, clinic_world.ids)
        tried = _post_garbage(app.test_client(), path, user, fields.get(path, []))
        total += tried
        print(f"{rule.rule}: {tried} garbage posts")
    assert total >= 25 * 10
    print(f"{total} garbage posts in all")


# --- Stored script --------------------------------------------------------------------------


def _payload(n: int) -> str:
    return f'<script>alert("xss-{n}")</script><img src=x onerror="alert({n})">'


def _benign(field: dict, n: int) -> str:
    # Values that pass the fields' own validation, so the payload in another field is stored.
    return {
        "email": f"xss{n}@clinic.test",
        "password": "lantern orchard velvet 42",
        "date": "",
    }.get(field["type"], f"Plain{n}")


def _fill(form, payload_field: str | None, n: int) -> dict:
    data = {}
    for f in form.fields:
        if not f["name"] or f["type"] in ("submit", "button"):
            continue
        if f["tag"] == "select" and f["selected"] is not None:
            data[f["name"]] = f["selected"]  # keep what is chosen (a user's role, say)
        elif f["tag"] == "select":
            options = [o for o in f["options"] if o not in ("", "0")] or f["options"]
            data[f["name"]] = options[0] if options else ""
        elif f["type"] == "hidden":
            data[f["name"]] = f["value"]
        elif payload_field is None or f["name"] == payload_field:
            data[f["name"]] = (
                _payload(n) if f["type"] not in ("email", "password", "date") else _benign(f, n)
            )
        else:
            data[f["name"]] = _benign(f, n)
    return data


def _text_fields(forms, action) -> list[str]:
    return sorted(
        {
            f["name"]
            for form in forms
            if form.action == action
            for f in form.fields
            if f["name"] and (f["tag"] == "textarea" or f["type"] in ("text", "search"))
        }
    )


def _stored_markers() -> set[str]:
    """Payload markers found in any text column of any table but the audit trail."""
    found = set()
    with _db.engine.connect() as connection:
        for table in _db.metadata.sorted_tables:
            if table.name.startswith("audit_"):
                continue
            for column in table.columns:
                if isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum):
                    for value in connection.scalars(sa.select(column).where(column.like("%xss-%"))):
                        found.update(re.findall(r"xss-\d+", value))
    return found


def test_script_stored_in_any_free_text_field_is_shown_escaped(app, db, clinic_world):
    n = 0
    submitted = 0
    for who in ("supervisor", "admin"):
        client = app.test_client()
        log_in(client, clinic_world.team[who])
        found, _ = crawl(client)
        found += crawl(client, f"/patients/{clinic_world.patient.id}")[0]
        for page, action in dict.fromkeys((f.page, f.action) for f in found):
            for target in [None, *_text_fields(found, action)]:  # all at once, then one by one
                # Fresh from the page each time: an earlier post may have moved the course on.
                form = next((f for f in forms_on(client, page) if f.action == action), None)
                if form is None or not _text_fields([form], action):
                    break  # gone, or nowhere to put script (a bare confirmation would act)
                n += 1
                before = _stored_markers()
                client.post(action, data=_fill(form, target, n))
                submitted += 1
                if _stored_markers() != before:
                    break
    stored = _stored_markers()
    pages = {}
    for who in ("supervisor", "clinician", "admin"):
        client = app.test_client()
        log_in(client, clinic_world.team[who])
        for start in (
            "/",
            f"/patients/{clinic_world.patient.id}",
            f"/patients/{clinic_world.patient.id}/audit",
            "/admin/users",
        ):
            pages.update({f"{who} {k}": v for k, v in crawl(client, start)[1].items()})
    shown = set()
    for page, html in pages.items():
        assert "<script>alert(" not in html, page
        assert "onerror=" not in html.replace("onerror=&#34;", ""), page
        shown.update(re.findall(r"&lt;script&gt;alert\(&#34;(xss-\d+)&#34;\)", html))
    assert len(stored) >= 3, stored
    assert stored <= shown, f"stored but never displayed: {stored - shown}"
    print(
        f"submitted {submitted} forms; {len(stored)} payloads stored, all shown escaped on "
        f"{len(pages)} pages"
    )
