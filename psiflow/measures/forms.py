from flask_wtf import FlaskForm
from wtforms import DecimalField, PasswordField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Optional

from psiflow.web.form_builder import extend_form, instrument_item_fields
from psiflow.web.form_fields import RequiredSelectField


class _MeasureForm(FlaskForm):
    timepoint = RequiredSelectField("Timepoint", validators=[DataRequired()])
    password = PasswordField(
        "Your password (recording a measure signs it)", validators=[DataRequired()]
    )
    submit = SubmitField("Record and sign")


def measure_form(instrument, **kwargs) -> FlaskForm:
    """Item-by-item for instruments we may reproduce; totals and subscales for the others."""
    if instrument.reproduce_items:
        fields = instrument_item_fields(instrument)
    else:
        fields = {
            "total": DecimalField(
                f"Total ({instrument.total_min:g}–{instrument.total_max:g})",
                validators=[InputRequired("Enter the total.")],
            )
        }
        for sub in instrument.subscales:
            fields[f"subscale_{sub.id}"] = DecimalField(
                f"{sub.label} ({sub.min:g}–{sub.max:g})", validators=[Optional()]
            )
    return extend_form(_MeasureForm, fields)(**kwargs)
