from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from psiflow.domain.review import Decision, Fidelity
from psiflow.domain.safety import Resolution


def review_form(adherence_items, **kwargs):
    """Co-sign or return, with a fidelity rating per adherence item of the protocol."""

    class ReviewForm(FlaskForm):
        decision = RadioField(
            "Decision",
            choices=[
                SelectChoice(Decision.COSIGNED.value, "Co-sign: I have reviewed this note"),
                SelectChoice(Decision.RETURNED.value, "Return to the author with comments"),
            ],
            validators=[InputRequired()],
        )
        comments = TextAreaField("Comments for the author", validators=[Length(max=10000)])
        # 21 CFR 11.200: a co-signature re-enters the signer's password.
        password = PasswordField("Your password (needed to co-sign)")
        submit = SubmitField("Record the decision")

    for item in adherence_items:
        setattr(
            ReviewForm,
            f"fidelity_{item.id}",
            RadioField(
                item.label,
                choices=[SelectChoice(f.value, f.label) for f in Fidelity],
                validators=[Optional()],
            ),
        )
    form = ReviewForm(**kwargs)
    form.fidelity_fields = [(getattr(form, f"fidelity_{i.id}"), i) for i in adherence_items]
    return form


class ResubmitForm(FlaskForm):
    submit = SubmitField("Re-submit for review")


class AcknowledgeForm(FlaskForm):
    # Suicide-risk alerts close only with a safety plan or a clearance (domain/safety.py); the
    # page offers those two for them and plain acknowledgement for the rest.
    resolution = RadioField(
        "How the alert closes",
        choices=[SelectChoice(r.value, r.label) for r in Resolution if r.value != "cause_resolved"],
        default=Resolution.ACKNOWLEDGED.value,
        validators=[Optional()],
    )
    note = TextAreaField("What was done", validators=[InputRequired(), Length(max=4000)])
    submit = SubmitField("Acknowledge")
