"""The write scenario's count finds each entry by its session and the time it was made, and
names what is lost, duplicated or unknown: the figures its verdict rests on can go wrong."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest

from bench.entry_count import count_entries, take_marks
from bench.tablet import AFTER_ANSWER, RECORDED, REPEATED, Sent
from psiflow.domain.phases import Phase
from psiflow.domain.vitals import Reading
from psiflow.models import EntryReceipt
from psiflow.models import dosing as model
from psiflow.models.types import utcnow
from tests.factories import gen_course, gen_dosing_session, gen_patient, gen_user


def _sent(session, made_at, status=302) -> Sent:
    return Sent(
        "pulse oximetry",
        "vital_signs",
        session.id,
        str(uuid.uuid4()),
        made_at,
        status,
        RECORDED if status == 302 else None,
        0.01,
    )


def _store(db, session, clinician, sent: Sent, receipt: bool = True) -> None:
    vital = model.record_vitals(
        session, Reading(heart_rate=80, spo2=97), sent.made_at, clinician, now=utcnow()
    )
    db.session.flush()
    if receipt:
        db.session.add(
            EntryReceipt(
                user_id=clinician.id,
                key=sent.key,
                endpoint="sessions.vitals",
                path="/",
                entry_type="vital_signs",
                entry_id=vital.id,
            )
        )


@pytest.fixture
def room(db):
    """A dosing session under way an hour, and its clinician."""
    clinician = gen_user()
    course = gen_course(gen_patient(clinician), Phase.DOSING)
    session = gen_dosing_session(course, clinician, complete=False, hours_ago=1)
    db.session.commit()
    return session, clinician


def test_the_count_names_lost_duplicated_and_unknown_entries(db, room):
    session, clinician = room
    marks = take_marks(db.engine)
    at = utcnow() - timedelta(minutes=30)
    once, twice, lost, failed = (_sent(session, at + timedelta(minutes=n)) for n in range(4))
    failed = _sent(session, failed.made_at, status=500)
    _store(db, session, clinician, once)
    _store(db, session, clinician, twice)
    _store(db, session, clinician, twice, receipt=False)
    _store(db, session, clinician, _sent(session, at + timedelta(minutes=9)))  # sent by no one
    db.session.commit()

    count = count_entries(db.engine, marks, [once, twice, lost, failed])

    assert (count.entries, count.acknowledged, count.failed_sends) == (4, 3, 1)
    assert (count.stored, count.lost, count.duplicated, count.unknown) == (4, 1, 1, 1)
    assert count.receipts == 3
    assert count.audited_once == 4
    assert not count.clean


def test_entries_stored_once_with_their_receipt_and_audit_event_count_clean(db, room):
    session, clinician = room
    marks = take_marks(db.engine)
    at = utcnow() - timedelta(minutes=30)
    ledger = [_sent(session, at + timedelta(seconds=n)) for n in range(3)]
    for sent in ledger:
        _store(db, session, clinician, sent)
    db.session.commit()

    # The first sent again after its answer was lost: the server repeats that answer.
    again = dataclasses.replace(ledger[0], receipt=REPEATED, resend=AFTER_ANSWER)

    count = count_entries(db.engine, marks, [*ledger, again])

    assert (count.entries, count.sends, count.sent_again) == (3, 4, 1)
    assert (count.stored, count.lost, count.duplicated, count.unknown) == (3, 0, 0, 0)
    assert count.audited_once == count.receipts == 3
    assert count.clean
