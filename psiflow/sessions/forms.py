"""Forms of the live session page: each a small, one-purpose form that works without JS."""

from __future__ import annotations

from datetime import UTC

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    FloatField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, html_params

from psiflow.domain.dosing import SEVERITY_GRADES, DoseKind, EventKind, Outcome, Relatedness
from psiflow.domain.safety import Seriousness
from psiflow.models.dosing import AnswerKind
from psiflow.web.form_fields import LocalDateTime, RequiredSelectField, VersionField

NOW_HINT = "Leave empty for now."


def when_field(label: str) -> LocalDateTime:
    # Entered in the clinic's zone on the tablet; stored as UTC (see `utc`).
    return LocalDateTime(label, validators=[Optional()])


def utc(value):
    # Safe for every value a `LocalDateTime` accepts: it refuses what UTC cannot hold.
    return value.astimezone(UTC) if value is not None else None


class CheckboxList(ListWidget):
    """A list of checkboxes, one per choice, drawn as WTForms' `ListWidget` of
    `CheckboxInput`s draws them but in one pass: WTForms builds a whole field for every box,
    and the six boxes of the facilitators present took a twentieth of the live page."""

    def __init__(self):
        super().__init__(prefix_label=False)

    def __call__(self, field, **kwargs):
        choices = field.iter_choices()
        # What only WTForms' own boxes draw (attributes from validators or render_kw).
        if field.validators or field.render_kw or any(c.render_kw for c in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        html = [f"<ul {html_params(**kwargs)}>"]
        for i, choice in enumerate(choices):
            box = f"{field.id}-{i}"
            attributes = html_params(
                checked=bool(choice.selected),
                id=box,
                name=field.name,
                type="checkbox",
                value=str(choice.value),
            )
            label = escape(choice.label or choice.value)
            html.append(f'<li><input {attributes}> <label for="{escape(box)}">{label}</label></li>')
        html.append("</ul>")
        return Markup("".join(html))


class CheckboxesField(SelectMultipleField):
    widget = CheckboxList()
    option_widget = CheckboxInput()


class _VersionedForm(FlaskForm):
    # The session version the facilitator saw: another tablet's change in between is a conflict.
    version = VersionField()


class StartSessionForm(FlaskForm):
    pass


class AnswerForm(FlaskForm):
    kind = RequiredSelectField(
        choices=[SelectChoice(k.value, k.value) for k in AnswerKind], validators=[DataRequired()]
    )
    item_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    value = RequiredSelectField(
        choices=[SelectChoice("1", "yes"), SelectChoice("0", "no")], validators=[DataRequired()]
    )


class DetailsForm(_VersionedForm):
    facilitator_ids = CheckboxesField("Facilitators present", coerce=int)
    notes = TextAreaField("Session notes", validators=[Length(max=20000)])


class DoseForm(FlaskForm):
    kind = RequiredSelectField(
        "Dose",
        choices=[SelectChoice(k.value, k.label) for k in DoseKind],
        validators=[DataRequired()],
    )
    amount = FloatField("Amount", validators=[InputRequired(message="Enter the amount given.")])
    lot_number = StringField("Lot number", validators=[Length(max=60)])
    given_at = when_field("Time given")


class EventForm(FlaskForm):
    kind = RequiredSelectField(
        "Event",
        choices=[SelectChoice(k.value, k.label) for k in EventKind],
        validators=[DataRequired()],
    )
    note = TextAreaField("Note", validators=[Length(max=5000)])
    at = when_field("Time")
    # A music change says what was put on (either or both, or a note).
    playlist = StringField("Playlist", validators=[Length(max=200)])
    track = StringField("Track", validators=[Length(max=300)])


class VitalsForm(FlaskForm):
    systolic = IntegerField("Systolic (mmHg)", validators=[Optional()])
    diastolic = IntegerField("Diastolic (mmHg)", validators=[Optional()])
    heart_rate = IntegerField("Heart rate (bpm)", validators=[Optional()])
    temperature_c = FloatField("Temperature (°C)", validators=[Optional()])
    spo2 = IntegerField("SpO2 (%)", validators=[Optional()])
    taken_at = when_field("Time taken")


class AcknowledgeForm(FlaskForm):
    note = StringField("What was done", validators=[Length(max=2000)])


class AdverseEventForm(FlaskForm):
    onset_at = when_field("Onset")
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=5000)])
    severity = RequiredSelectField(
        "Severity (CTCAE grade)",
        coerce=int,
        choices=[SelectChoice(grade, label) for grade, label in SEVERITY_GRADES.items()],
        validators=[InputRequired(), NumberRange(1, 5)],
    )
    # Serious exactly when one of these applies (21 CFR 312.32(a)); none ticked: not serious.
    seriousness = CheckboxesField(
        "Seriousness: tick every criterion the event meets (none: not serious)",
        choices=[SelectChoice(c.value, c.label) for c in Seriousness],
    )
    relatedness = SelectField(
        "Related to the medicine", choices=[SelectChoice(r.value, r.label) for r in Relatedness]
    )
    # A record of an adverse event says what was done about it, if only "none".
    action_taken = TextAreaField(
        "Action taken",
        validators=[
            DataRequired(message="Action taken: say what was done about the event, or 'none'."),
            Length(max=5000),
        ],
    )
    outcome = SelectField("Outcome", choices=[SelectChoice(o.value, o.label) for o in Outcome])


class DischargeForm(_VersionedForm):
    discharged_at = when_field("Time of discharge")
    ready_to_leave_at = when_field("Clinically ready to leave at (optional)")
    criteria = CheckboxesField("Discharge criteria met")
    accompanied_by = StringField("Who accompanies the patient home", validators=[Length(max=200)])
    as_planned = RadioField(
        "Leaving as agreed in the transport plan?",
        choices=[
            SelectChoice("yes", "Yes, as planned"),
            SelectChoice("no", "No: a deviation from the plan"),
        ],
        validators=[InputRequired(message="Say whether the patient leaves as planned.")],
    )
    deviation = TextAreaField("How it differs from the plan", validators=[Length(max=5000)])


class AdverseEventFollowUpForm(FlaskForm):
    outcome = RequiredSelectField(
        "Outcome now",
        choices=[SelectChoice(o.value, o.label) for o in Outcome],
        validators=[DataRequired()],
    )
    note = TextAreaField("What is known now, and from whom", validators=[Length(max=5000)])
    as_of = when_field("As of")


class EmergencyEndForm(FlaskForm):
    ended_at = when_field("Session ended at")
    reason = TextAreaField("Why the session ends early", validators=[Length(max=5000)])
    transferred_to = StringField(
        "Transferred to (e.g. the emergency department, or 'not transferred')",
        validators=[Length(max=200)],
    )
    transferred_by = StringField("Taken there by", validators=[Length(max=200)])
    notified = TextAreaField(
        "Who was notified (emergency services, supervisor, family…)",
        validators=[Length(max=5000)],
    )
