"""`make bench` end to end on a tiny network: seed, serve, drive every page, report."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bench import run
from bench.network import Shape
from bench.pages import BASELINE, PAGES
from psiflow import create_app
from psiflow.audit import verify_chain
from psiflow.domain.phases import Phase
from psiflow.extensions import db
from psiflow.models import Course, PhaseTransition
from psiflow.models.courses import gather_facts


def test_the_full_size_network_has_fifty_clinicians_under_ten_supervisors():
    assert (Shape(10_000).clinicians, Shape(10_000).supervisors) == (50, 10)
    assert (Shape(1_000).clinicians, Shape(1_000).supervisors) == (5, 1)


@pytest.mark.bench
def test_bench_seeds_serves_and_reports_a_tiny_network(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    report = tmp_path / "last.json"
    argv = [
        "--patients",
        "30",
        "--requests",
        "4",
        "--clients",
        "2",
        "--warmup",
        "1",
        "--work-dir",
        str(tmp_path),
        "--json",
        str(report),
    ]

    assert run.main(argv) == 0

    document = json.loads(report.read_text())
    assert document["patients"] == 30
    assert document["database"] == "sqlite"
    assert document["seed_seconds"] > 0
    pages = {page["page"]: page for page in document["pages"]}
    assert list(pages) == [BASELINE] + [page.name for page in PAGES]
    for name, page in pages.items():
        assert page["requests"] == 4
        assert 0 < page["p50_ms"] <= page["p95_ms"]
        assert page["ratio_p50"] > 0 and page["ratio_p95"] > 0
        assert isinstance(page["missed"], list)
        # The app reports its statements per request; the bare baseline has no such header.
        assert (page["queries"] is None) == (name == BASELINE)
    assert pages[BASELINE]["ratio_p50"] == pages[BASELINE]["ratio_p95"] == 1.0
    assert pages[BASELINE]["missed"] == []
    table = capsys.readouterr().out
    assert all(f"| {name} " in table for name in pages)


@pytest.mark.bench
def test_the_seeded_courses_have_a_consistent_phase_history(tmp_path, monkeypatch):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    run.seed(run.database.database_url(tmp_path), 60)
    engine = sa.create_engine(run.database.database_url(tmp_path))
    with engine.connect() as conn:
        courses = conn.execute(sa.select(Course.id, Course.phase)).all()
        history: dict[int, list] = {}
        for course_id, frm, to in conn.execute(
            sa.select(
                PhaseTransition.course_id, PhaseTransition.from_phase, PhaseTransition.to_phase
            ).order_by(PhaseTransition.at)
        ):
            history.setdefault(course_id, []).append((frm, to))
    engine.dispose()
    for course_id, phase in courses:
        steps = history[course_id]
        assert steps[0][0] is None
        assert steps[-1][1] == phase
        assert all(a[1] == b[0] for a, b in zip(steps, steps[1:], strict=False))


@pytest.mark.bench
def test_the_seeded_audit_trail_verifies_and_the_gates_agree_with_the_phases(tmp_path, monkeypatch):
    monkeypatch.delenv("PSIFLOW_BENCH_DATABASE_URL", raising=False)
    url = run.database.database_url(tmp_path)
    run.seed(url, 60, patients_per_block=25)  # three blocks, merged into one chain
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        report = verify_chain(conn)
    engine.dispose()
    assert report.ok, report.problem
    assert report.rows > 1000

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url})
    with app.app_context():
        courses = db.session.scalars(sa.select(Course)).all()
        facts = gather_facts(courses)
        for course in courses:
            f = facts[course.id]
            phases = {t.to_phase for t in course.transitions}
            if Phase.PREPARATION in phases:  # it left screening through an open gate
                assert f.screening_signed and f.consent_recorded and not f.uncleared_flags
            if Phase.DOSING in phases:
                assert f.set_intake_complete and f.baseline_recorded
            if course.phase in (Phase.FOLLOW_UP, Phase.COMPLETED):
                assert f.dosing_sessions_done == course.protocol.dosing_sessions
            if course.phase == Phase.COMPLETED:
                assert f.final_follow_up_recorded
        db.session.remove()
        db.engine.dispose()
