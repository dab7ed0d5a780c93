"""The practicum log's forms: an entry, and the password re-entry every signature takes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from psiflow import catalog
from psiflow.domain.practicum import MAX_ENTRY_MINUTES, PracticumKind
from psiflow.web.form_builder import MultiCheckboxField
from psiflow.web.form_fields import PAST_DATE, DateWithin, RequiredSelectField, VersionField
from psiflow.web.presentation import local_time

DESCRIPTION_HINT = (
    "What you did and what you learned. For an observed real session write about the "
    "facilitation, never about the person: no name, initials, age, story or anything else "
    "that could identify them."
)


class EntryForm(FlaskForm):
    kind = RequiredSelectField(
        "Kind of hours",
        choices=[SelectChoice(k.value, k.label) for k in PracticumKind],
        validators=[DataRequired()],
    )
    occurred_on = DateWithin("Date", validators=[InputRequired()], window=PAST_DATE)
    hours = IntegerField(
        "Hours",
        default=0,
        validators=[InputRequired(), NumberRange(0, MAX_ENTRY_MINUTES // 60)],
    )
    minutes = IntegerField("Minutes", default=0, validators=[InputRequired(), NumberRange(0, 59)])
    protocol_id = SelectField("Protocol practised or observed", choices=[])
    session_ids = MultiCheckboxField(
        "Practice dosing sessions these hours cover",
        coerce=int,
        # The domain rule (entry_errors) refuses a session that is not the trainee's own, in
        # words; the field's own check would only say "not a valid choice".
        validate_choice=False,
        description="Your own practice sessions only. Observed real sessions are recorded by "
        "date, protocol and duration: they are never linked to the patient's record.",
    )
    description = TextAreaField(
        "Description",
        description=DESCRIPTION_HINT,
        validators=[DataRequired(), Length(max=4000)],
    )
    submit = SubmitField("Save draft")

    def offer(self, practice_sessions) -> None:
        """The choices this trainee has: the catalogue's protocols and their own sessions."""
        self.protocol_id.choices = [SelectChoice("", "Not specific to a protocol")] + [
            SelectChoice(p.id, p.name) for p in catalog.current_protocols()
        ]
        self.session_ids.choices = [
            SelectChoice(s.id, f"{local_time(s.occurred_at)} · {s.display_name} · {s.protocol_id}")
            for s in practice_sessions
        ]

    @property
    def duration_minutes(self) -> int:
        return (self.hours.data or 0) * 60 + (self.minutes.data or 0)


class EditEntryForm(EntryForm):
    version = VersionField()


class _Reauthenticate(FlaskForm):
    # 21 CFR 11.200, as for every signature in PsiFlow: the signer re-enters their password.
    password = PasswordField("Your password", validators=[DataRequired()])


class SignEntryForm(_Reauthenticate):
    meaning = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Sign")


class AddendumForm(_Reauthenticate):
    text = TextAreaField("Addendum", validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField("Sign and add addendum")


class VoidForm(_Reauthenticate):
    reason = TextAreaField(
        "Why is this entry withdrawn?", validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField("Void entry")
