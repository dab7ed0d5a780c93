"""The demo clinic's integration history tells a story the charts and tables can show."""

import sqlalchemy as sa

from psiflow import demo
from psiflow.domain.review import Decision
from psiflow.models import Alert, IntegrationSession, MeasureResponse, Review, User
from psiflow.models.courses import Course


def test_demo_seeds_integration_history(app, db):
    demo.seed_demo()
    db.session.commit()
    follow_ups = db.session.scalars(
        sa.select(MeasureResponse).where(MeasureResponse.timepoint.like("follow_up_week_%"))
    ).all()
    assert len(follow_ups) > 10
    notes = db.session.scalars(sa.select(IntegrationSession)).all()
    assert len(notes) > 10 and any(n.counts for n in notes)
    assert len({r.decision for r in db.session.scalars(sa.select(Review))}) == 2
    assert db.session.scalars(sa.select(Review).where(Review.decision == Decision.RETURNED)).one()
    assert db.session.scalars(sa.select(Alert).where(Alert.acknowledged_at.is_(None))).first()
    # every protocol has patients whose measures span several months
    spans = {}
    for course in db.session.scalars(sa.select(Course)):
        times = [
            m.occurred_at
            for m in db.session.scalars(
                sa.select(MeasureResponse).where(MeasureResponse.course_id == course.id)
            )
        ]
        if times:
            spans.setdefault(course.protocol_id, []).append((max(times) - min(times)).days)
    assert len(spans) == 4 and all(max(days) > 90 for days in spans.values())


def test_demo_pages_render_for_the_supervisor(app, db, client):
    demo.seed_demo()
    db.session.commit()
    supervisor = db.session.scalars(
        sa.select(User).where(User.email == "supervisor@demo.psiflow")
    ).one()
    client.post("/login", data={"email": supervisor.email, "password": demo.DEMO_PASSWORD})
    for url in ("/", "/supervision/reviews", "/supervision/alerts", "/supervision/outcomes"):
        assert client.get(url).status_code == 200, url
    html = client.get("/supervision/outcomes").get_data(as_text=True)
    assert "remission" in html and "response" in html
