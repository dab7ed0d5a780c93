"""A request's last commit keeps what it wrote loaded for its answer."""

import sqlalchemy as sa

from psiflow.domain.phases import Phase
from psiflow.models import Course
from psiflow.web.committing import commit_for_the_answer
from tests.factories import gen_course, gen_patient


def test_the_answer_reads_what_was_written_without_reloading_it(db, team):
    course = gen_course(gen_patient(team["clinician"]), Phase.DOSING)
    commit_for_the_answer()
    assert "patient_id" in sa.inspect(course).dict  # not expired: no statement to read it
    assert db.session().expire_on_commit  # the next commit expires as usual
    db.session.rollback()  # committed, not merely flushed: a rollback keeps it
    assert db.session.scalar(sa.select(Course.id).where(Course.id == course.id)) == course.id
