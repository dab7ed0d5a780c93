"""Forms of the training pages: start a scenario, run or step the training clock, comment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from psiflow.domain.clock import SPEEDS


class StartRunForm(FlaskForm):
    """Only the CSRF token: the scenario is named by the URL."""


class ClockSpeedForm(FlaskForm):
    speed = SelectField(
        "Clock speed",
        choices=[SelectChoice(str(s), "real time" if s == 1 else f"x{s}") for s in SPEEDS],
        # Always shows the clock's speed, so it is not marked required (a required select
        # must open on an empty choice); a value not offered is refused all the same.
    )


class ClockJumpForm(FlaskForm):
    # A day is the longest session any shipped protocol runs (MDMA: 8 hours, then overnight).
    minute = IntegerField(
        "Jump to minute (after the dose)",
        validators=[InputRequired("Say which minute."), NumberRange(min=0, max=24 * 60)],
    )


class CommentForm(FlaskForm):
    item_key = HiddenField(validators=[DataRequired()])
    text = TextAreaField(
        "Comment", validators=[DataRequired("Write the comment."), Length(max=5000)]
    )
