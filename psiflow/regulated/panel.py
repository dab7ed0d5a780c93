"""The regulated-values panel of the patient page (`templates/regulated/_panel.html`): its
context, per the contract in `psiflow.web.panels`."""

from __future__ import annotations

from psiflow.models import rems
from psiflow.models.types import utcnow
from psiflow.regulated import forms as f


def panel_context(courses) -> dict[int, dict]:
    """The REMS panel: the monitoring forms of each course whose protocol tracks them (one
    statement, none when no course does) with their status now, and the form that records
    one as submitted."""
    tracked = [c for c in courses if c.protocol.monitoring_form is not None]
    found = rems.forms_for([c.id for c in tracked]) if tracked else {}
    now = utcnow()
    return {
        c.id: {
            "tracked": c.protocol.monitoring_form,
            "forms": [(form, form.status(now)) for form in found.get(c.id, [])],
            "submit_form": f.FormSubmittedForm(formdata=None) if c.id in found else None,
        }
        for c in courses
    }
