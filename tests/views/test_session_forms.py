"""The live session page's own drawing of its checkbox lists writes what WTForms writes."""

import pytest
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import ListWidget

from psiflow.sessions import forms as f

CHOICES = [
    SelectChoice(1, "Basil Sample"),
    SelectChoice(21, 'Bramble <Notreal> & "co"'),
    SelectChoice(22, "Cedar O'Mockley"),
]


def _wtforms_list(field, **kwargs):
    # What WTForms draws: a field per box, each drawn by CheckboxInput.
    field.widget = ListWidget(prefix_label=False)
    try:
        return field(**kwargs)
    finally:
        del field.widget


@pytest.mark.parametrize("checked", [None, [], [21], [1, 22], [1, 21, 22]])
def test_the_facilitator_boxes_are_drawn_as_wtforms_draws_them(app, checked):
    with app.test_request_context():
        form = f.DetailsForm(formdata=None, meta={"csrf": False}, facilitator_ids=checked)
        form.facilitator_ids.choices = CHOICES
        drawn = form.facilitator_ids(class_="plain-list")
        assert drawn == _wtforms_list(form.facilitator_ids, class_="plain-list")
        assert drawn.count(" checked ") == len(checked or [])
        assert "&lt;Notreal&gt; &amp; &#34;co&#34;" in drawn


def test_posted_discharge_criteria_are_drawn_as_wtforms_draws_them(app):
    with app.test_request_context(method="POST", data={"criteria": ["alert", "steady"]}):
        form = f.DischargeForm(meta={"csrf": False})
        form.criteria.choices = [
            SelectChoice("alert", "Alert and oriented"),
            SelectChoice("steady", "Walks steadily"),
            SelectChoice("vitals", "Vital signs in range"),
        ]
        drawn = form.criteria(class_="plain-list")
        assert drawn == _wtforms_list(form.criteria, class_="plain-list")
        assert drawn.count(" checked ") == 2


@pytest.mark.parametrize("where", ["field", "choice"])
def test_boxes_with_attributes_of_their_own_are_left_to_wtforms(app, where):
    with app.test_request_context():
        form = f.DetailsForm(formdata=None, meta={"csrf": False}, facilitator_ids=[21])
        field = form.facilitator_ids
        if where == "field":
            field.render_kw = {"disabled": True}
            field.choices = CHOICES
        else:
            field.choices = [SelectChoice(21, "Bramble", render_kw={"disabled": True})]
        assert field() == _wtforms_list(field)
