from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from psiflow.models.preparation import TOUCH_KINDS, TouchChange
from psiflow.web.form_builder import MultiCheckboxField
from psiflow.web.form_fields import (
    PAST_DATE,
    DateWithin,
    LocalDateTime,
    RequiredToSign,
    VersionField,
    Window,
    when_within,
)
from psiflow.web.presentation import to_local_input

TEXT = [Optional(), Length(max=10000)]
# What the record's missing_for_signing asks for: marked on the form (see RequiredToSign).
SIGN = [RequiredToSign()]


class _Versioned(FlaskForm):
    # The record version the user saw: a change by someone else in between is a conflict.
    # A new draft has none yet (the view removes the field).
    version = VersionField()


class ScreeningForm(_Versioned):
    """Base; the protocol's checks are added by form_builder.check_fields."""

    # A draft saves without them, so no `required` that would stop the save; signing needs them
    # (Screening.missing_for_signing), which the form says and assistive technology announces.
    medical_history = TextAreaField("Medical history", validators=[*SIGN, *TEXT])
    psychiatric_history = TextAreaField("Psychiatric history", validators=[*SIGN, *TEXT])
    medications = TextAreaField("Current medications (one per line, with dose)", validators=TEXT)
    submit = SubmitField("Save draft")


class ConsentForm(_Versioned):
    form_version = StringField(
        "Consent form version", validators=[*SIGN, Optional(), Length(max=60)]
    )
    consented_on = DateWithin("Date of consent", validators=[*SIGN, Optional()], window=PAST_DATE)
    witness_name = StringField("Witness", validators=[*SIGN, Optional(), Length(max=120)])
    capacity_confirmed = RadioField(
        "Capacity to consent confirmed",
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        default="no",
        validators=SIGN,
    )
    risks_discussed = RadioField(
        "Risks, benefits and alternatives discussed",
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        default="no",
        validators=SIGN,
    )
    notes = TextAreaField("Notes", validators=TEXT)
    submit = SubmitField("Save draft")


class SetIntakeForm(_Versioned):
    intention = TextAreaField("Intention, in the patient's own words", validators=[*SIGN, *TEXT])
    expectations = TextAreaField("Expectations", validators=TEXT)
    hopes = TextAreaField("Hopes", validators=TEXT)
    fears = TextAreaField("Fears and concerns", validators=TEXT)
    emotional_readiness = IntegerField(
        "Emotional readiness (0 = not at all ready, 10 = completely ready)",
        validators=[
            *SIGN,
            Optional(),
            NumberRange(min=0, max=10, message="Enter a number from 0 to 10."),
        ],
    )
    support_people = TextAreaField("Support people", validators=TEXT)
    prior_experience = TextAreaField("Prior psychedelic experience", validators=TEXT)
    helps_when_distressed = TextAreaField("What helps when distressed", validators=TEXT)
    touch_preferences = TextAreaField("Touch preferences", validators=TEXT)
    music_preferences = TextAreaField("Music preferences", validators=TEXT)
    transport_plan = TextAreaField(
        "Transport home plan (who, how, when)", validators=[*SIGN, *TEXT]
    )
    pickup_time = TimeField("Pickup time on the dosing day (clinic time)", validators=[Optional()])
    submit = SubmitField("Save draft")


class PreparationSessionForm(_Versioned):
    """Base; `topics` choices come from the protocol."""

    occurred_at = LocalDateTime(
        "Date and time", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    duration_minutes = IntegerField(
        "Duration (minutes)",
        validators=[
            *SIGN,
            Optional(),
            NumberRange(min=5, max=600, message="Enter 5 to 600 minutes."),
        ],
    )
    co_facilitator_id = SelectField("Co-facilitator", coerce=int, validators=[Optional()])
    topics = MultiCheckboxField("Topics covered", validators=SIGN)
    notes = TextAreaField("Session notes", validators=[*SIGN, *TEXT])
    submit = SubmitField("Save draft")


class TouchConsentForm(FlaskForm):
    change = RadioField(
        "This entry",
        choices=[
            SelectChoice(TouchChange.AGREED.value, "Records agreed touch"),
            SelectChoice(TouchChange.CHANGED.value, "Changes what was agreed"),
            SelectChoice(TouchChange.WITHDRAWN.value, "Withdraws consent to all touch"),
        ],
        validators=[InputRequired()],
    )
    agreed_touch = MultiCheckboxField(
        "Touch the patient agrees to", choices=[SelectChoice(k, v) for k, v in TOUCH_KINDS]
    )
    note = TextAreaField("Note (in the patient's words where possible)", validators=TEXT)
    submit = SubmitField("Add to touch consent log")


class PlannedDosingForm(FlaskForm):
    # Its window is the course protocol's horizon (`when_within`, set by the view).
    planned_dosing_at = LocalDateTime(
        "Planned dosing session", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    submit = SubmitField("Save date")


# A clinic default where the protocol sets no preparation window: a dosing session planned more
# than a year ahead is a slip of the keyboard, not a plan.
PLANNED_DOSING_DEFAULT_DAYS = 365


def planned_dosing_window(protocol) -> Window:
    """How far ahead a dosing session may be planned: the protocol's preparation window (e.g.
    Oregon's 90 days from preparation to administration), else the clinic default."""
    days = protocol.preparation_max_days_before_dosing
    if days:
        rule = f"no later than {days} days from now (the protocol's preparation window)"
    else:
        days, rule = PLANNED_DOSING_DEFAULT_DAYS, "no later than a year from now (clinic default)"
    # Earlier dates are the course's to bound: not before it started (checked by the view).
    return Window(None, timedelta(days=days), rule)


def planned_dosing_form(course, **kwargs) -> PlannedDosingForm:
    """The planned-dosing form of a course, showing its date, bounded by its protocol."""
    form = PlannedDosingForm(planned_dosing_at=to_local_input(course.planned_dosing_at), **kwargs)
    when_within(form.planned_dosing_at, planned_dosing_window(course.protocol))
    return form


class ClearFlagForm(FlaskForm):
    rationale = TextAreaField(
        "Clinical rationale for clearing", validators=[DataRequired(), Length(max=4000)]
    )
    password = PasswordField("Your password", validators=[DataRequired()])
    submit = SubmitField("Clear flag")
