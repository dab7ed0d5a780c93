from datetime import UTC, datetime, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from psiflow.models.integration import EMOTIONS, ActionStatus, Sleep
from psiflow.web.form_builder import MultiCheckboxField, extend_form, instrument_item_fields
from psiflow.web.form_fields import LocalDateTime, RequiredToSign, VersionField
from psiflow.web.presentation import clinic_zone

# Clocks drift between tablets and the server; a few minutes ahead is not "in the future".
_CLOCK_SKEW = timedelta(minutes=5)
NEW_ACTION_ROWS = 3


def local_now() -> datetime:
    return datetime.now(clinic_zone()).replace(tzinfo=None, second=0, microsecond=0)


def to_utc(local: datetime) -> datetime:
    """A wall-clock time typed in the clinic's zone, as the UTC time we store."""
    return local.replace(tzinfo=clinic_zone()).astimezone(UTC)


class _WhenMixin:
    occurred_at = LocalDateTime("When", validators=[InputRequired()], default=local_now)

    def validate_occurred_at(self, field):
        if field.data and to_utc(field.data) > datetime.now(UTC) + _CLOCK_SKEW:
            raise ValidationError("A session or call is recorded after it happens, not before.")


class _CheckInMixin:
    serious_events = BooleanField(
        "Any serious event since the last contact (e.g. emergency "
        "visit, injury, self-harm, new serious illness)"
    )
    serious_events_detail = TextAreaField("What happened", validators=[Length(max=4000)])
    sleep = RadioField(
        "Sleep since the last contact",
        choices=[SelectChoice(s.value, s.label) for s in Sleep],
        default=Sleep.AS_USUAL.value,
        validators=[InputRequired()],
    )
    substance_use = BooleanField(
        "Alcohol or drug use since the last contact that concerns the patient or the clinician"
    )
    substance_use_detail = TextAreaField("What and how much", validators=[Length(max=4000)])
    back_to_normal = RadioField(
        "Back to normal daily activities (work, care, driving)",
        choices=[SelectChoice("yes", "Yes"), SelectChoice("no", "No, not yet")],
        default="yes",
        validators=[InputRequired()],
    )
    suicidal_thoughts = RadioField(
        "Current thoughts of suicide or of harming themself",
        choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
        default="no",
        validators=[InputRequired()],
    )

    def check_in_answers(self) -> dict:
        return {
            "serious_events": self.serious_events.data,
            "serious_events_detail": (self.serious_events_detail.data or "").strip(),
            "sleep": Sleep(self.sleep.data),
            "substance_use": self.substance_use.data,
            "substance_use_detail": (self.substance_use_detail.data or "").strip(),
            "back_to_normal": self.back_to_normal.data == "yes",
            "suicidal_thoughts": self.suicidal_thoughts.data == "yes",
        }


class _Sign:
    # 21 CFR 11.200: signing on saving re-enters the signer's password.
    password = PasswordField(
        "Your password (signs the check-in as you save it)", validators=[DataRequired()]
    )


def new_session_form(risk_instrument=None, **kwargs):
    """The start of an integration session: when, the check-in and, where the protocol asks,
    the risk screen's items (from the instrument file, by the shared form builder)."""

    class NewSessionForm(_Sign, _CheckInMixin, _WhenMixin, FlaskForm):
        submit = SubmitField("Sign the check-in and open the session note")

    fields = instrument_item_fields(risk_instrument) if risk_instrument is not None else {}
    form = extend_form(NewSessionForm, fields)(**kwargs)
    form.risk_fields = [
        (form[f"item_{item.id}"], item)
        for item in (risk_instrument.items if risk_instrument else ())
    ]
    form.risk_instrument = risk_instrument
    return form


def risk_answers(form) -> dict | None:
    if form.risk_instrument is None:
        return None
    return {
        item.id: int(field.data)
        for field, item in form.risk_fields
        if field.data not in (None, "", "None")
    }


def check_in_form(call_choices, **kwargs):
    class CheckInForm(_Sign, _CheckInMixin, _WhenMixin, FlaskForm):
        call = SelectField("Which scheduled call", validate_choice=True)
        notes = TextAreaField("Notes", validators=[Length(max=10000)])
        submit = SubmitField("Sign and save the check-in")

    form = CheckInForm(**kwargs)
    form.call.choices = call_choices
    return form


def note_form(carried, own, measures, **kwargs):
    """The integration note: structured fields, free text, the action plan carried forward
    (one choice per open item), the draft's own new items, and the measures given."""

    class NoteForm(FlaskForm):
        # The note version the page showed: a save from another device in between is refused.
        version = VersionField("Note version")
        # What IntegrationSession.missing_for_signing asks for is marked RequiredToSign.
        duration_minutes = IntegerField(
            "Duration (minutes)",
            validators=[RequiredToSign(), Optional(), NumberRange(min=5, max=600)],
        )
        themes = TextAreaField(
            "Themes and insights", validators=[RequiredToSign(), Length(max=20000)]
        )
        emotions = MultiCheckboxField(
            "Emotions processed", choices=[SelectChoice(v, label) for v, label in EMOTIONS]
        )
        emotions_notes = TextAreaField("About the emotions", validators=[Length(max=20000)])
        meaning_made = TextAreaField("Meaning made", validators=[Length(max=20000)])
        risk_notes = TextAreaField(
            "Risk check: what was asked and the plan", validators=[Length(max=20000)]
        )
        plan_next_session = TextAreaField(
            "Plan for the next session", validators=[RequiredToSign(), Length(max=20000)]
        )
        notes = TextAreaField("Other notes", validators=[Length(max=20000)])
        measures = MultiCheckboxField("Measures given in or for this session", coerce=int)
        submit = SubmitField("Save draft")

    for item in carried:
        setattr(
            NoteForm,
            f"item_{item.id}",
            RadioField(
                item.text,
                choices=[SelectChoice(s.value, s.label) for s in ActionStatus],
                default=item.status.value,
            ),
        )
    for item in own:
        setattr(
            NoteForm,
            f"own_{item.id}",
            StringField("Commitment", default=item.text, validators=[Length(max=2000)]),
        )
    for n in range(1, NEW_ACTION_ROWS + 1):
        setattr(
            NoteForm, f"new_{n}", StringField(f"New commitment {n}", validators=[Length(max=2000)])
        )
    form = NoteForm(**kwargs)
    form.measures.choices = measures
    form.carried = [(getattr(form, f"item_{i.id}"), i) for i in carried]
    form.own = [(getattr(form, f"own_{i.id}"), i) for i in own]
    form.new = [getattr(form, f"new_{n}") for n in range(1, NEW_ACTION_ROWS + 1)]
    return form


NOTE_FIELDS = (
    "duration_minutes",
    "themes",
    "emotions",
    "emotions_notes",
    "meaning_made",
    "risk_notes",
    "plan_next_session",
    "notes",
)
_TEXT_FIELDS = (
    "themes",
    "emotions_notes",
    "meaning_made",
    "risk_notes",
    "plan_next_session",
    "notes",
)


def note_fields(form) -> dict:
    """The note's own fields from a validated form, text stripped, blanks as empty text."""
    fields = {name: (getattr(form, name).data or "").strip() for name in _TEXT_FIELDS}
    fields["duration_minutes"] = form.duration_minutes.data
    fields["emotions"] = list(form.emotions.data or [])
    return fields
