"""Empty form fields are drawn once; a field holding a value or an error never is."""

from werkzeug.datastructures import MultiDict

from psiflow import blank_fields
from psiflow.blank_fields import blank, draw_field, is_blank
from psiflow.sessions.forms import AdverseEventForm, DischargeForm, VitalsForm


def _field_macro(app):
    return app.jinja_env.get_template("macros/forms.html").module.field


def test_an_empty_field_is_drawn_once_and_the_same_as_afresh(app):
    with app.test_request_context():
        field = _field_macro(app)
        blank_fields._DRAWN.clear()
        first = blank(field, VitalsForm(formdata=None).systolic, hint="mmHg")
        again = blank(field, VitalsForm(formdata=None).systolic, hint="mmHg")
        assert again is first
        assert first == field(VitalsForm(formdata=None).systolic, hint="mmHg")
        assert 'id="systolic"' in first and "mmHg" in first
        # Another hint, field or widget is another drawing.
        assert blank(field, VitalsForm(formdata=None).systolic) is not first
        listed = blank(draw_field, AdverseEventForm(formdata=None).seriousness, class_="plain-list")
        assert listed == AdverseEventForm(formdata=None).seriousness(class_="plain-list")
        assert len(blank_fields._DRAWN) == 3


def test_a_field_with_a_value_or_an_error_is_drawn_every_time(app):
    with app.test_request_context(method="POST"):
        field = _field_macro(app)
        posted = VitalsForm(formdata=MultiDict({"systolic": "abc"}))
        posted.validate()
        assert posted.systolic.errors and not is_blank(posted.systolic)
        drawn = blank(field, posted.systolic)
        assert 'value="abc"' in drawn and "field-error" in drawn
        given = DischargeForm(formdata=None, accompanied_by="Her sister")
        assert not is_blank(given.accompanied_by)
        assert 'value="Her sister"' in blank(field, given.accompanied_by)
        assert 'value="Her brother"' in blank(
            field, DischargeForm(formdata=None, accompanied_by="Her brother").accompanied_by
        )


def test_choices_set_on_the_form_are_part_of_the_drawing(app):
    with app.test_request_context():
        one, other = DischargeForm(formdata=None), DischargeForm(formdata=None)
        one.criteria.choices = [("alert", "Alert and oriented")]
        other.criteria.choices = [("walking", "Walks unaided")]
        assert "Alert and oriented" in blank(draw_field, one.criteria, class_="plain-list")
        drawn = blank(draw_field, other.criteria, class_="plain-list")
        assert "Walks unaided" in drawn and "Alert" not in drawn


def test_the_drawings_kept_are_bounded(app, monkeypatch):
    from psiflow.form_builder import extend_form

    monkeypatch.setattr(blank_fields, "_MOST", 5)
    with app.test_request_context():
        blank_fields._DRAWN.clear()
        for _ in range(12):  # a form class built per request: a new key every time
            form = extend_form(VitalsForm, {})(formdata=None)
            blank(draw_field, form.systolic)
            assert len(blank_fields._DRAWN) <= 5
