from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp
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
