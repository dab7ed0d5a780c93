"""The demo clinic's dosing sessions: signed, complete, and consistent with the phase history."""

import sqlalchemy as sa

from psiflow import demo
from psiflow.domain.phases import Phase
from psiflow.models import AdverseEvent, Course, DosingSession, VitalSign
from psiflow.models.courses import gather_facts


def test_demo_courses_past_dosing_have_signed_complete_sessions(app, db):
    demo.seed_demo()
    db.session.commit()
    courses = db.session.scalars(sa.select(Course)).all()
    facts = gather_facts(courses)
    past = [c for c in courses if c.phase in (Phase.INTEGRATION, Phase.FOLLOW_UP, Phase.COMPLETED)]
    assert past
    for course in past:
        assert facts[course.id].dosing_session_signed, course
    for course in courses:
        if course.phase in (Phase.FOLLOW_UP, Phase.COMPLETED):
            assert facts[course.id].dosing_sessions_done == course.protocol.dosing_sessions
    sessions = db.session.scalars(sa.select(DosingSession)).all()
    signed = [s for s in sessions if s.is_signed]
    assert all(s.missing_for_signing() == [] for s in signed)
    assert [s.course.phase for s in sessions if not s.is_signed] == [Phase.DOSING]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AdverseEvent)) == 1
    flagged = [v for v in db.session.scalars(sa.select(VitalSign)) if v.flags]
    assert flagged and all(v.acknowledged_at for v in flagged)
