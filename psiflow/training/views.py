"""Training pages: start a scenario, a run's adherence report, the trainee's and the
supervisor's progress pages, and the training clock of a practice session.

The live session itself is the real live page (sessions.live): a run only adds the scripted
events the scenario injects and the clock it runs on.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from psiflow import access, catalog
from psiflow.domain.adherence import fidelity_percent
from psiflow.domain.charts import progress_chart
from psiflow.domain.clock import ClockRefused, minute_of
from psiflow.domain.dosing import first_dose_at
from psiflow.domain.scenarios import newest_protocol
from psiflow.extensions import db
from psiflow.models.training import (
    ScenarioRun,
    TrainingRefused,
    add_comment,
    adherence_report,
    adherence_reports,
    clock_for,
    comments_of,
    comments_of_runs,
    deliveries_of,
    fidelity_of,
    fidelity_of_runs,
    jump_to_minute,
    next_event_at,
    run_of_session,
    runs_of,
    set_speed,
    start_run,
    supervisees_of,
)
from psiflow.models.types import utcnow
from psiflow.training import bp
from psiflow.training import scenario_forms as f
from psiflow.web import guard

SESSION = {"record_type": "dosing_session"}


def _find_run(run_id: int):
    run = db.session.get(ScenarioRun, run_id)
    return (run, run.patient) if run else None


load_run = guard.register_loader("run_id", find=_find_run)


@bp.record_once
def _register(state):
    state.app.add_template_global(training_panel, "training_panel")
    state.app.add_template_global(access.sees_supervisees_patients, "sees_supervisees_patients")


# --- scenarios -----------------------------------------------------------------------------


@bp.route("/scenarios")
def scenarios():
    runs = runs_of([current_user.id])
    return render_template(
        "training/scenarios.html",
        scenarios=sorted(catalog.scenarios().values(), key=lambda s: s.title),
        protocols=catalog.protocols(),
        runs=runs,
        form=f.StartRunForm(),
    )


@bp.route("/scenarios/<scenario_id>/runs", methods=["POST"])
def start(scenario_id):
    scenario = catalog.scenarios().get(scenario_id)
    if scenario is None:
        abort(404)
    if not f.StartRunForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("training.scenarios"))
    protocol = newest_protocol(catalog.protocols(), scenario.protocol_id)
    run = start_run(scenario, protocol, current_user, utcnow())
    db.session.commit()
    flash(
        f"Scenario started on a training clock at x{scenario.clock_speed}. Read the case file, "
        "then run the session as you would a real one.",
        "success",
    )
    return redirect(url_for("training.run", run_id=run.id))


@bp.route("/runs/<int:run_id>")
def run(run_id):
    run = load_run(run_id)
    scenario = catalog.scenarios().get(run.scenario_id)
    if scenario is None:
        abort(404)
    report = adherence_report(run, scenario)
    fidelity = fidelity_of(run)
    return render_template(
        "training/run.html",
        run=run,
        scenario=scenario,
        report=report,
        fidelity=fidelity,
        fidelity_percent=fidelity_percent(fidelity),
        adherence_items={i.id: i.label for i in run.course.protocol.adherence_items},
        comments=comments_of(run),
        comment_form=f.CommentForm(formdata=None),
        may_comment=access.can(current_user, access.Action.REVIEW, run.patient),
    )


@bp.route("/runs/<int:run_id>/comments", methods=["POST"])
def comment(run_id):
    run = load_run(run_id)
    scenario = catalog.scenarios().get(run.scenario_id)
    if scenario is None:
        abort(404)
    form = f.CommentForm()
    keys = {i.key for i in adherence_report(run, scenario).items}
    # Back to the item commented on; only a known item's key goes into the address.
    anchor = f"#item-{form.item_key.data}" if form.item_key.data in keys else ""
    back = redirect(url_for("training.run", run_id=run.id) + anchor)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return back
    try:
        add_comment(run, form.item_key.data, form.text.data, keys, current_user, utcnow())
    except TrainingRefused as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return back
    db.session.commit()
    flash("Comment saved; the trainee reads it on the run's page.", "success")
    return back


# --- the training clock (on the live page) -------------------------------------------------


def training_panel(session):
    """What the live page shows of a practice run: the clock, the scripted events given so
    far, the forms that move the clock. None for a real session, without a query."""
    if not session.course.patient.is_practice:
        return None
    clock = clock_for(session)
    run = run_of_session(session.id)
    scenario = catalog.scenarios().get(run.scenario_id) if run else None
    wall = utcnow()
    now = clock.now(wall)
    dose_at = first_dose_at([d.given for d in session.doses()])
    delivered, next_event = [], None
    if run is not None and scenario is not None:
        given = deliveries_of(run)
        delivered = [(e, given[e.id]) for e in scenario.events if e.id in given]
        next_event = next_event_at(session, scenario, given)
    return {
        "clock": clock,
        "now": now,
        "wall": wall,
        "caught_up": clock.caught_up(wall),
        "minute": round(minute_of(dose_at, now)) if dose_at else None,
        "run": run,
        "scenario": scenario,
        "delivered": delivered,
        "next_event_at": next_event,
        "speed_form": f.ClockSpeedForm(formdata=None, speed=str(clock.speed)),
        "jump_form": f.ClockJumpForm(formdata=None),
    }


def _back_to_live(session):
    return redirect(url_for("sessions.live", record_id=session.id) + "#training")


@bp.route("/sessions/<int:record_id>/clock/speed", methods=["POST"], defaults=SESSION)
def clock_speed(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.ClockSpeedForm()
    if not form.validate_on_submit():
        flash("Choose a clock speed.", "error")
        return _back_to_live(session)
    return _move_clock(
        session, lambda wall: set_speed(session, int(form.speed.data), current_user, wall)
    )


@bp.route("/sessions/<int:record_id>/clock/jump", methods=["POST"], defaults=SESSION)
def clock_jump(record_type, record_id):
    session = guard.load_record(record_type, record_id)
    form = f.ClockJumpForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return _back_to_live(session)
    return _move_clock(
        session, lambda wall: jump_to_minute(session, form.minute.data, current_user, wall)
    )


def _move_clock(session, move):
    try:
        clock = move(utcnow())
        db.session.commit()
    except (TrainingRefused, ClockRefused) as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return _back_to_live(session)
    except StaleDataError:
        db.session.rollback()
        flash("Someone else moved the training clock a moment ago; see it now.", "info")
        return _back_to_live(session)
    flash(f"Training clock moved: x{clock.speed} from now.", "success")
    return _back_to_live(session)


# --- progress ------------------------------------------------------------------------------


def _progress_rows(runs, found=None):
    """One row per run, oldest first, in a fixed number of queries however many runs;
    `found` is what `_progress_of(runs)` read for a larger set they are part of."""
    scenarios = catalog.scenarios()
    reports, fidelity, comments = found or _progress_of(runs)
    rows = []
    for n, run in enumerate((r for r in runs if r.id in reports), start=1):
        rows.append(
            {
                "n": n,
                "run": run,
                "scenario": scenarios[run.scenario_id],
                "report": reports[run.id],
                "fidelity": fidelity_percent(fidelity.get(run.id)),
                "comments": comments.get(run.id, {}),
                "comment_count": sum(len(c) for c in comments.get(run.id, {}).values()),
            }
        )
    return rows


def _progress_of(runs):
    return (
        adherence_reports(runs, catalog.scenarios()),
        fidelity_of_runs(runs),
        comments_of_runs(runs),
    )


def _chart(title, rows):
    return progress_chart(
        title,
        [
            (f"{r['n']}. {r['scenario'].title.split(':')[0]}", r["report"].percent, r["fidelity"])
            for r in rows
        ],
    )


@bp.route("/progress")
def progress():
    rows = _progress_rows(runs_of([current_user.id]))
    practised = {r["scenario"].id for r in rows}
    return render_template(
        "training/progress.html",
        rows=rows,
        chart=_chart("Your practice runs: adherence and fidelity", rows),
        not_practised=[s for s in catalog.scenarios().values() if s.id not in practised],
        feedback=[(row, row["comments"]) for row in rows if row["comments"]],
    )


@bp.route("/supervisees")
def supervisees():
    trainees = supervisees_of(current_user)
    runs = runs_of([t.id for t in trainees])
    found = _progress_of(runs)  # for every supervisee at once: the page's queries stay flat
    sections = []
    for trainee in trainees:
        rows = _progress_rows([r for r in runs if r.trainee_id == trainee.id], found)
        practised = {r["scenario"].id for r in rows}
        sections.append(
            {
                "trainee": trainee,
                "rows": rows,
                "chart": _chart(f"{trainee.name}: adherence and fidelity", rows),
                "not_practised": [s for s in catalog.scenarios().values() if s.id not in practised],
            }
        )
    return render_template("training/supervisees.html", sections=sections)
