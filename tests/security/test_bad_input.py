"""Bad input to every form the app declares: never a server error, never a silent save.

The world holds one of everything a form acts on, and the forms are found as their users
find them: every page the URL map declares is opened, for every object its URL can name, by
each member of the care team and the administrator, and every POST route of the URL map must
be met by a form some page offers (a route no page offers fails the test by name, so
a form added later is covered without a new line here). Each form is posted, as the user who
was shown it, as filled in on its page but with generated bad values in some of its fields:

- values no field of that kind may hold (a date-time in the year 9999 or 1, a version that
  is not a whole number, a 20,001-character text, a choice the form does not offer): the
  post is refused with nothing saved, not a row changed (the audit trail, which records the
  attempt, aside);
- fields left out, unicode, odd numbers in any field: no server error, and the database
  changes only when the app answers as for a save (a redirect).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from psiflow import access, catalog
from psiflow.access import Role
from psiflow.domain.dosing import Outcome, Relatedness
from psiflow.domain.phases import Phase as CoursePhase
from psiflow.domain.practicum import PracticumKind
from psiflow.domain.review import Decision
from psiflow.domain.scenarios import newest_protocol
from psiflow.domain.signing import Meaning
from psiflow.domain.vitals import Reading
from psiflow.extensions import db as _db
from psiflow.models import Consent, PreparationSession, Screening, SetIntake
from psiflow.models.alerts import AlertKind, raise_alert
from psiflow.models.dosing import record_adverse_event, record_vitals
from psiflow.models.practicum import log_entry, sign_entry
from psiflow.models.preparation import raise_flags
from psiflow.models.records import sign_record
from psiflow.models.rems import RemsMonitoringForm
from psiflow.models.reviews import review_record
from psiflow.models.training import start_run
from psiflow.models.types import utcnow
from psiflow.models.users import User
from psiflow.security.password_hashing import hash_password
from tests.factories import TEST_PASSWORD, gen_course, gen_dosing_session, gen_patient, gen_user
from tests.integration_factories import gen_integration_session
from tests.security.conftest import crawl, database_snapshot, logged_in, take_flashes

PSILOCYBIN = "psilocybin-single-dose@1.0"

MISSING = object()  # the field is left out of the post

# Values no field of a kind accepts: each is refused wherever it lands.
REFUSED = {
    "datetime-local": [
        "9999-12-31T23:59",
        "0001-01-01T00:00",
        "9000-01-01T09:00",
        "10000-01-01T00:00",
        "2026-02-30T10:00",
        "9999-12-31",
        "1e308",
        "tomorrow",
    ],
    "date": ["9999-12-31", "0001-01-01", "9000-01-01", "2026-02-30", "1e308", "tomorrow"],
    "number": ["abc", "NaN", "nan", "inf", "-inf", "1e308", "1e309", "9" * 30, "-" + "9" * 30],
    "version": ["abc", "NaN", "1e308", "", "0", "-1", "9" * 30, "1.5", "١"],
    # Past the longest text any field takes (a note's 20,000 characters).
    "text": ["x" * 20_001, "é" * 20_001],
    "choice": ["not-a-choice", "☃", "-1"],
}
# Values any field may be sent; what is valid is saved, as the app then says.
ODD = st.sampled_from(
    [
        MISSING,
        "",
        " ",
        "0",
        "-1",
        "NaN",
        "1e308",
        "9" * 30,
        "9999-12-31T23:59",
        "\u202e\u200b",
        "😀" * 50,
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
        "' OR 1=1 --",
    ]
) | st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))

NOT_POSTED = ("submit", "button", "reset", "image")


@dataclass
class FoundForm:
    endpoint: str
    action: str
    user: object
    fields: list[dict]  # as tests.security.conftest parses them

    def kind(self, name: str) -> str | None:
        """What `REFUSED` list a field's values come from (None: only odd values)."""
        entries = [f for f in self.fields if f["name"] == name]
        first = entries[0]
        if name == "version" or name.endswith("-version"):
            return "version"
        if first["tag"] == "select" or first["type"] == "radio":
            return "choice"
        if first["type"] == "checkbox":
            # A lone yes/no box (WTForms' BooleanField posts "y") accepts any value as "yes".
            return None if len(entries) == 1 and first["value"] == "y" else "choice"
        if first["type"] in ("datetime-local", "date", "number"):
            return first["type"]
        if first["tag"] == "textarea" or first["type"] in ("text", "email", "password", "search"):
            return "text"
        return None

    @property
    def names(self) -> list[str]:
        return sorted({f["name"] for f in self.fields if f["name"] and f["type"] not in NOT_POSTED})

    def filled(self) -> dict:
        """The form as its page shows it, with plausible text where it is empty."""
        data: dict = {}
        for f in self.fields:
            name = f["name"]
            if not name or f["type"] in NOT_POSTED or name == "csrf_token":
                continue
            if f["tag"] == "select":
                options = [o for o in f["options"] if o not in ("", "0")] or f["options"]
                data[name] = f["selected"] if f["selected"] is not None else options[0]
            elif f["type"] == "radio":
                if f["checked"] or name not in data:
                    data[name] = f["value"]
            elif f["type"] == "checkbox":
                if f["checked"]:
                    data.setdefault(name, []).append(f["value"])
            elif f["type"] == "password":
                data[name] = TEST_PASSWORD
            elif f["type"] == "email":
                # One address per form: a log-in never names the account a user form made
                # (its failed attempts would count against it, a change the test would see).
                data[name] = f"fuzz.{self.endpoint}@clinic.test"
            elif f["value"] or f["type"] in ("hidden", "datetime-local", "date", "number"):
                data[name] = f["value"]
            else:
                data[name] = "Plain words"
        return data


@dataclass
class World:
    """One of everything a form acts on, each in the state its forms are offered in."""

    users: list  # in the order pages are looked at: the author of the records first
    patients: list
    courses: list
    records: list
    others: dict  # view argument -> ids (flags, vital signs, alerts, users)


def _world(team) -> World:
    lead, co, supervisor, trainee = (
        team["clinician"],
        team["clinician2"],
        team["supervisor"],
        team["trainee"],
    )
    patients, courses, records = [], [], []

    def course(phase, lead_=lead, co_=co, key=PSILOCYBIN):
        patient = gen_patient(lead_, co_facilitator=co_)
        patients.append(patient)
        courses.append(gen_course(patient, phase, key))
        return courses[-1]

    # Preparation: a draft of each record, and a flag raised by a signed screening.
    prep = course(CoursePhase.PREPARATION)
    checks = {c.id: {"positive": False, "detail": ""} for c in prep.protocol.contraindications}
    first = next(iter(checks))
    records += [
        Screening(course=prep, author=lead, checks=checks),
        Consent(course=prep, author=lead),
        SetIntake(course=prep, author=lead),
        PreparationSession(course=prep, author=lead, occurred_at=utcnow() - timedelta(hours=2)),
    ]
    flagged = Screening(
        course=prep,
        author=lead,
        medical_history="Asthma.",
        psychiatric_history="Depression.",
        checks={**checks, first: {"positive": True, "detail": "At intake"}},
    )
    _db.session.add_all([*records, flagged])
    _db.session.flush()
    sign_record(flagged, lead, Meaning.AUTHORED)
    flags = raise_flags(flagged)
    # Dosing: a session under way with an unacknowledged reading; a course yet to start one.
    session = gen_dosing_session(course(CoursePhase.DOSING), lead, complete=False, hours_ago=1)
    vital = record_vitals(
        session, Reading(systolic=210, diastolic=120), utcnow() - timedelta(minutes=5), lead
    )
    event = record_adverse_event(
        session,
        onset_at=None,
        description="Nausea",
        severity=1,
        seriousness_criteria=[],
        relatedness=Relatedness.PROBABLE,
        action_taken="Sips of water",
        outcome=Outcome.RECOVERING,
        by=lead,
    )
    course(CoursePhase.DOSING)
    # Esketamine: a session started, so its REMS monitoring form is owed.
    rems_session = gen_dosing_session(
        course(CoursePhase.DOSING, key="esketamine-monitoring@1.0"), lead, complete=False
    )
    _db.session.flush()
    rems_form = _db.session.scalar(sa.select(RemsMonitoringForm))
    # Integration: a draft note; a course on hold; a patient with no course at all.
    integration = course(CoursePhase.INTEGRATION)
    note = gen_integration_session(integration, lead, sign=False)
    course(CoursePhase.ON_HOLD)
    patients.append(gen_patient(lead))
    # Training: a trainee's signed note awaiting review, another returned to them.
    practice = course(CoursePhase.INTEGRATION, trainee, None)
    waiting = gen_integration_session(practice, trainee)
    returned = gen_integration_session(practice, trainee)
    review_record(returned, supervisor, Decision.RETURNED, comments="Say more about the risk.")
    # A scenario run on the training clock, and its practice session.
    scenario = catalog.scenarios()["esketamine-low-oxygen"]
    run = start_run(scenario, newest_protocol(catalog.protocols(), scenario.protocol_id), trainee)
    alert = raise_alert(integration, AlertKind.SUICIDE_RISK, "A check-in answered yes.")
    # Practicum: a trainee's draft entry of hours, and one they signed for sign-off.
    hours = [
        log_entry(
            trainee,
            kind=PracticumKind.SUPERVISION,
            occurred_on=utcnow().date() - timedelta(days=1),
            duration_minutes=60,
            protocol_id=None,
            description="Debrief",
        )
        for _ in range(2)
    ]
    sign_entry(hours[1], trainee, Meaning.AUTHORED)
    gone = gen_user(Role.CLINICIAN, lead.clinic)
    gone.active = False
    _db.session.commit()
    return World(
        users=[lead, supervisor, trainee, team["admin"], co],
        patients=patients,
        courses=courses,
        records=[*records, flagged, session, rems_session, note, waiting, returned, run.session],
        others={
            "event_id": [event.id],
            "rems_form_id": [rems_form.id],
            "flag_id": [f.id for f in flags],
            "vital_id": [vital.id],
            "alert_id": [alert.id],
            "user_id": [gone.id, team["outsider"].id],
            "trainee_id": [trainee.id],
            "practicum_entry_id": [h.id for h in hours],
            "run_id": [run.id],
        },
    )


def _pages(app, world: World) -> list[tuple[str, str]]:
    """Every page the URL map declares, for every object of the world its URL can name."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        values: list[dict] = [{}]
        for argument in sorted(rule.arguments - set(rule.defaults or {})):
            if argument == "record_type":
                continue  # named with its record below
            if argument == "record_id":
                wanted = (rule.defaults or {}).get("record_type")
                choices = [
                    {"record_id": r.id, **({} if wanted else {"record_type": r.record_type})}
                    for r in world.records
                    if wanted in (None, r.record_type)
                ]
            else:
                ids = {
                    "patient_id": [p.id for p in world.patients],
                    "course_id": [c.id for c in world.courses],
                }.get(argument) or world.others[argument]
                choices = [{argument: i} for i in ids]
            values = [{**v, **c} for v in values for c in choices]
        found += [(rule.endpoint, adapter.build(rule.endpoint, v)) for v in values]
    return found


def _log_in(client, user) -> None:
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, (
        f"{user.email} could not log in",
        take_flashes(client),
    )


def _found_forms(app, world: World) -> dict[str, FoundForm]:
    """The first form each POST endpoint is offered by, on the pages each user is shown
    (and the pages those link to: a measure's form, say, is reached with its instrument)."""
    adapter = app.url_map.bind("localhost")
    pages = _pages(app, world)
    found: dict[str, FoundForm] = {}
    wanted = {r.endpoint for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    for who in [None, *world.users]:
        if wanted <= set(found) | {"auth.logout"}:
            break
        client = app.test_client()
        if who is not None:
            _log_in(client, who)
        seen: set[str] = set()
        asked: set[str] = set()
        for endpoint, page in pages if who is not None else [("auth.login", "/login")]:
            if who is not None and not access.role_allowed(who, access.ENDPOINTS[endpoint]):
                continue
            forms, html = crawl(client, page, limit=1)
            seen.add(page)
            asked.update(q for text in html.values() for q in _queries(text))
            _keep(found, adapter, who, forms)
        for page in sorted(asked - seen):  # what a form that asks (method="get") opens
            _keep(found, adapter, who, crawl(client, page, limit=1)[0])
    return found


class _QueryForms(HTMLParser):
    """The URL each method="get" form opens when sent with its first choices."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._form: tuple[str, dict] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method", "get").lower() == "get" and a.get("action"):
            self._form = (a["action"], {})
        elif self._form is None:
            return
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select:
            self._form[1].setdefault(self._select, a.get("value", ""))
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox"):
            self._form[1].setdefault(a["name"], a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            action, values = self._form
            self.urls.append(f"{action}?{urlencode(values)}" if values else action)
            self._form = None
        elif tag == "select":
            self._select = None


def _queries(html: str) -> list[str]:
    parser = _QueryForms()
    parser.feed(html)
    return [u for u in parser.urls if u.startswith("/")]


def _keep(found, adapter, who, forms) -> None:
    for form in forms:
        endpoint, _args = adapter.match(urlsplit(form.action).path, method="POST")
        found.setdefault(endpoint, FoundForm(endpoint, form.action, who, form.fields))


_TEST_HASH = hash_password(TEST_PASSWORD)


def _logged_in_again(client, form: FoundForm) -> bool:
    """Log the user shown the form in again if a post logged them out (a log-in writes its
    own rows, so the caller then takes a new picture of what is stored)."""
    if form.user is not None and not logged_in(client):
        # A post may have changed the password (which ends the user's sessions), locked the
        # account with wrong current passwords or deactivated it (an administrator's form):
        # put the user back as the world made them.
        _db.session.execute(
            sa.update(User)
            .where(User.id == form.user.id)
            .values(password_hash=_TEST_HASH, failed_logins=0, locked_until=None, active=True)
        )
        _db.session.commit()
        _log_in(client, form.user)
        return True
    return False


def _post(client, form: FoundForm, data: dict):
    """Post as the user shown the form."""
    posted = {k: v for k, v in data.items() if v is not MISSING}
    response = client.post(form.action, data=posted)
    return response, take_flashes(client)


def _changes(before: dict, after: dict) -> dict:
    return {t: sorted(set(after[t]) ^ set(before[t]))[:4] for t in before if after[t] != before[t]}


def _refused_posts(app, form: FoundForm, examples: int) -> int:
    """Posts each carrying at least one value its field refuses: nothing may change."""
    refusable = [(n, form.kind(n)) for n in form.names if form.kind(n) in REFUSED]
    if not refusable:
        return 0
    tried = 0
    client = app.test_client()
    state = {"stored": database_snapshot()}  # what the database holds before each post

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        # Each post acts on one shared world: the first failing post is the one to report
        # (replaying or shrinking would post into a world it has already changed).
        phases=[Phase.generate],
    )
    @given(
        refused=st.sampled_from(refusable).flatmap(
            lambda nk: st.tuples(st.just(nk[0]), st.sampled_from(REFUSED[nk[1]]))
        ),
        odd=st.dictionaries(st.sampled_from(form.names), ODD, max_size=2),
    )
    def post(refused, odd):
        nonlocal tried
        tried += 1
        name, value = refused
        data = {**form.filled(), **odd, name: value}
        if _logged_in_again(client, form):
            state["stored"] = database_snapshot()
        response, flashes = _post(client, form, data)
        assert response.status_code < 500, (form.endpoint, data)
        changes = _changes(state["stored"], database_snapshot())
        assert not changes, (form.endpoint, data, response.status_code, flashes, changes)
        assert not any(category == "success" for category, _ in flashes), (form.endpoint, data)

    post()
    return tried


def _odd_posts(app, form: FoundForm, examples: int) -> int:
    """Fields left out or holding odd values: no server error, no change without a save."""
    tried = 0
    client = app.test_client()
    state = {"stored": database_snapshot()}  # what the database holds before each post

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        # Each post acts on one shared world: the first failing post is the one to report
        # (replaying or shrinking would post into a world it has already changed).
        phases=[Phase.generate],
    )
    @given(odd=st.dictionaries(st.sampled_from(form.names or ["extra"]), ODD, max_size=3))
    def post(odd):
        nonlocal tried
        tried += 1
        data = {**form.filled(), **odd}
        if _logged_in_again(client, form):
            state["stored"] = database_snapshot()
        response, flashes = _post(client, form, data)
        assert response.status_code < 500, (form.endpoint, data)
        after = database_snapshot()
        changes = _changes(state["stored"], after)
        state["stored"] = after
        assert not changes or response.status_code == 302, (
            form.endpoint,
            data,
            response.status_code,
            flashes,
            changes,
        )

    post()
    return tried


def test_bad_values_posted_to_every_form_are_refused_without_a_server_error(app, db, team):
    forms = _found_forms(app, _world(team))
    post_endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())
    }
    offered = set(forms) | {"auth.logout"}  # logging out is not a form of data
    # The session room's password page shows only after the idle limit: its odd and wrong
    # posts are in tests/views/test_room_lock.py.
    offered |= {"auth.unlock"}
    assert post_endpoints <= offered, f"no page offers a form for {post_endpoints - offered}"

    refused = sum(_refused_posts(app, form, 5) for form in forms.values())
    # Odd values may be valid, and a valid post acts (voids, deactivates): the forms with
    # fewest fields, bare confirmations, go last so they act on a world the others have used.
    odd = sum(
        _odd_posts(app, form, 3)
        for form in sorted(forms.values(), key=lambda f: (-len(f.names), f.endpoint))
    )
    assert refused >= 5 * 30 and odd >= 3 * len(forms)
    print(f"{len(forms)} forms: {refused} posts of refused values, {odd} of odd ones")
