"""Forms of the regulated values: small, one-purpose, working without JS."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FloatField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from psiflow.domain.dosing import DoseKind
from psiflow.web.form_fields import LocalDateTime, RequiredSelectField


class FormSubmittedForm(FlaskForm):
    """Records that a session's REMS monitoring form was sent (the portal or fax is outside)."""

    submitted_at = LocalDateTime("Submitted at", validators=[Optional()])
    reference = StringField("Confirmation or fax reference", validators=[Length(max=120)])


class DoseDeviationForm(FlaskForm):
    kind = RequiredSelectField(
        "Dose",
        choices=[SelectChoice(k.value, k.label) for k in DoseKind],
        validators=[DataRequired()],
    )
    amount = FloatField("Amount approved", validators=[InputRequired(message="Enter the amount.")])
    reason = TextAreaField(
        "Reason",
        validators=[InputRequired(message="Give the reason for the deviation."), Length(max=5000)],
    )
