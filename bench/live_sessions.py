"""The dosing sessions the write scenario drives, each with the clinician who runs it.

First the sessions the seed has under way (every clinician with a course in dosing has one,
half of the other courses in dosing too), taken in turn from each clinician so the load is
spread over the network as a clinic's morning is. When the network has fewer than asked for,
more are started the way a clinician starts one: by the course's lead clinician, through the
start button's form on the patient page (`sessions.start`), on courses in dosing with no
session under way. A course the app refuses (e.g. its last preparation session is outside
the protocol's window) is left alone, as the clinician would have to.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import sqlalchemy as sa

from bench.browser import Browser
from bench.cast import Member
from bench.network import BENCH_PASSWORD
from psiflow.access import Role
from psiflow.domain.phases import Phase
from psiflow.domain.signing import RecordStatus
from psiflow.models import Course, DosingSession, Patient

_LIVE_PAGE = re.compile(r"/dosing-sessions/(\d+)(?:#|$)")


@dataclass(frozen=True)
class LiveSession:
    id: int
    clinician: Member  # who runs it: the tablet logs in as them


def sessions_under_way(
    engine: sa.Engine, cast: dict[Role, list[Member]], wanted: int, address: tuple[str, int]
) -> tuple[list[LiveSession], int]:
    """`wanted` sessions under way and how many of them were started here."""
    clinicians = cast.get(Role.CLINICIAN, [])
    seeded = [
        LiveSession(session_id, member)
        for session_id, member in _in_turn(
            [[(s, m) for s in m.live_session_ids] for m in clinicians]
        )
    ][:wanted]
    started = (
        _start(engine, clinicians, wanted - len(seeded), address) if len(seeded) < wanted else []
    )
    sessions = seeded + started
    if len(sessions) < wanted:
        raise SystemExit(
            f"The network has {len(sessions)} dosing sessions that can be under way, not "
            f"{wanted}: seed a larger one (--patients) or ask for fewer (--sessions)."
        )
    return sessions, len(started)


def _in_turn(lists: list[list]) -> list:
    """The first of each list, then the second of each, ..."""
    return [x for group in itertools.zip_longest(*lists) for x in group if x is not None]


def _start(engine, clinicians: list[Member], needed: int, address) -> list[LiveSession]:
    by_id = {m.id: m for m in clinicians}
    under_way = (
        sa.select(DosingSession.id)
        .where(
            DosingSession.course_id == Course.id,
            DosingSession.status == RecordStatus.DRAFT,
            DosingSession.voided_at.is_(None),
        )
        .exists()
    )
    with engine.connect() as conn:
        courses = conn.execute(
            sa.select(Course.id, Patient.lead_clinician_id)
            .join(Patient, Patient.id == Course.patient_id)
            .where(Course.phase == Phase.DOSING, Patient.is_practice.is_(False), ~under_way)
            .order_by(Course.id)
        ).all()
    by_clinician: dict[int, list[int]] = {}
    for course_id, lead_id in courses:
        if lead_id in by_id:
            by_clinician.setdefault(lead_id, []).append(course_id)
    started = []
    for lead_id, course_ids in by_clinician.items():
        browser = Browser(*address)
        try:
            browser.log_in(by_id[lead_id].email, BENCH_PASSWORD)
            for course_id in course_ids:
                if len(started) == needed:
                    return started
                answer = browser.request("POST", f"/courses/{course_id}/dosing-sessions", {})
                found = _LIVE_PAGE.search(answer.location or "") if answer.status == 302 else None
                if found:
                    started.append(LiveSession(int(found.group(1)), by_id[lead_id]))
        finally:
            browser.close()
    return started
