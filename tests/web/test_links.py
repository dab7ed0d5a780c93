"""Row links built once per request are the links `url_for` builds."""

import pytest
from flask import url_for

from psiflow.web.links import id_link


@pytest.mark.parametrize("script_root", ["", "/clinic"])
def test_a_row_link_is_what_url_for_builds_for_each_id(app, script_root):
    with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
        link = id_link("patients.show", "patient_id")
        for patient_id in (1, 7, 42, 10**9):
            assert link(patient_id) == url_for("patients.show", patient_id=patient_id)
        assert link(5).startswith(f"{script_root}/patients/")
        audit = id_link("audit.patient_history", "patient_id")
        assert audit(3) == url_for("audit.patient_history", patient_id=3)
        assert id_link("patients.show", "patient_id") is link  # built once per request


def test_an_id_outside_the_path_is_linked_as_url_for_links_it(app):
    with app.test_request_context("/"):
        link = id_link("patients.board", "clinician")
        assert link(12) == url_for("patients.board", clinician=12) == "/?clinician=12"


def test_a_row_link_keeps_the_values_every_row_shares(app):
    with app.test_request_context("/"):
        for record_type in ("screening", "measure"):
            link = id_link("records.show", "record_id", record_type=record_type)
            for record_id in (1, 90, 12345):
                assert link(record_id) == url_for(
                    "records.show", record_type=record_type, record_id=record_id
                )
        assert id_link("records.show", "record_id", record_type="measure") is link
        assert id_link("sessions.live", "record_id")(4) == url_for("sessions.live", record_id=4)
