from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import TextArea

from psiflow.web.form_fields import BIRTH_DATE, DateWithin, RequiredSelectField, VersionField


class PatientForm(FlaskForm):
    display_name = StringField("Name or pseudonym", validators=[DataRequired(), Length(max=120)])
    date_of_birth = DateWithin("Date of birth", validators=[Optional()], window=BIRTH_DATE)
    record_number = StringField(
        "Clinic record number",
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]*$", message="Letters, digits and - _ / . only."),
        ],
    )
    co_facilitator_id = SelectField("Co-facilitator", coerce=int, validators=[Optional()])
    protocol_key = SelectField("Start a course on", validators=[Optional()])
    submit = SubmitField("Create patient")


class StartCourseForm(FlaskForm):
    protocol_key = RequiredSelectField("Protocol", validators=[DataRequired()])
    submit = SubmitField("Start course")


class _CourseActionForm(FlaskForm):
    # The course version the user saw: a change by someone else in between is a conflict.
    version = VersionField("Course version")


class AdvanceForm(_CourseActionForm):
    to_phase = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Advance")


class OverrideForm(_CourseActionForm):
    to_phase = HiddenField(validators=[DataRequired()])
    reason = StringField(
        "Reason for overriding the gate",
        widget=TextArea(),
        validators=[DataRequired(message="An override needs a written reason."), Length(max=2000)],
    )
    submit = SubmitField("Override gate and advance")


class ReasonForm(_CourseActionForm):
    reason = StringField("Reason", widget=TextArea(), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Confirm")


class ResumeForm(_CourseActionForm):
    submit = SubmitField("Resume")


# Digits with the separators people write in a phone number; no letters, so nothing but a
# number can end up where the room reads "call".
_PHONE = Regexp(
    r"^\+?[0-9][0-9 ()./-]*$",
    message="Digits, spaces and + ( ) - . / only, such as +1 503 555 0142.",
)


class SafetyDetailsForm(FlaskForm):
    """What the room needs at hand in an emergency (the patient header)."""

    version = VersionField("Patient record version")
    allergies = StringField(
        "Allergies",
        widget=TextArea(),
        validators=[Optional(), Length(max=2000)],
        description='What the patient is allergic to and the reaction, or "No known allergies".',
    )
    current_medicines = StringField(
        "Current medicines",
        widget=TextArea(),
        validators=[Optional(), Length(max=4000)],
        description="One per line, with dose and frequency. Those the protocol's substance "
        "interacts with are highlighted in the header.",
    )
    phone = StringField("Patient's phone", validators=[Optional(), Length(max=40), _PHONE])
    emergency_contact_name = StringField(
        "Emergency contact: name", validators=[Optional(), Length(max=120)]
    )
    emergency_contact_relationship = StringField(
        "Emergency contact: relationship to the patient",
        validators=[Optional(), Length(max=60)],
    )
    emergency_contact_phone = StringField(
        "Emergency contact: phone", validators=[Optional(), Length(max=40), _PHONE]
    )
    submit = SubmitField("Save safety details")

    def validate_emergency_contact_name(self, field):
        # On the name: the phone's own chain stops at Optional() when it is empty.
        if (field.data or "").strip() and not (self.emergency_contact_phone.data or "").strip():
            raise ValidationError("Give the emergency contact's phone number, or no contact.")


SAFETY_FIELDS = (
    "allergies",
    "current_medicines",
    "phone",
    "emergency_contact_name",
    "emergency_contact_relationship",
    "emergency_contact_phone",
)
