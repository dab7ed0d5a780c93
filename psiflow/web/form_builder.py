"""Forms whose fields come from protocol and instrument data (checks, topics, items).

One small builder, so every data-driven form validates the same way: a posted id that the
data file does not define is never accepted, because only defined fields exist.
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

YES_NO = [SelectChoice("no", "No"), SelectChoice("yes", "Yes")]


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes; unknown posted values fail validation ("Not a valid choice")."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# Posted names with these prefixes must be fields of the form, or the whole form is refused.
DATA_PREFIXES = ("check_", "detail_", "item_", "subscale_")


class _RejectsUnknownIds:
    """Refuses a posted check, item or subscale id that the data file does not define,
    instead of silently dropping it: a forged id is an error the user is told about."""

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not request or request.method != "POST":
            return valid
        unknown = sorted(
            key for key in request.form if key.startswith(DATA_PREFIXES) and key not in self._fields
        )
        if unknown:
            self.form_errors.append(
                "The form named items this protocol or instrument does not have: "
                + ", ".join(unknown)
            )
            return False
        return valid


def extend_form(base: type[FlaskForm], fields: dict) -> type[FlaskForm]:
    return type(base.__name__, (_RejectsUnknownIds, base), fields)


def check_fields(checks) -> dict:
    """A yes/no answer and a detail box for each contraindication check."""
    fields = {}
    for check in checks:
        fields[f"check_{check.id}"] = RadioField(
            check.label, choices=YES_NO, validators=[InputRequired("Answer yes or no.")]
        )
        fields[f"detail_{check.id}"] = TextAreaField(
            "Details", validators=[Optional(), Length(max=2000)]
        )
    return fields


def choices_of(items) -> list[SelectChoice]:
    return [SelectChoice(item.id, item.label) for item in items]


def instrument_item_fields(instrument) -> dict:
    """One radio group per item, offering exactly the instrument's answer options."""
    fields = {}
    for item in instrument.items:
        choices = [SelectChoice(str(o.value), o.label) for o in item.options]
        validators = [Optional()] if item.optional_unless else [InputRequired("Answer this item.")]
        fields[f"item_{item.id}"] = RadioField(item.text, choices=choices, validators=validators)
    return fields
