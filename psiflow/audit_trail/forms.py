from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from psiflow.web.form_fields import PAST_DATE, DateWithin


class TrailFilterForm(FlaskForm):
    """The audit history's filters: a GET form (bookmarkable, no JavaScript), so no CSRF."""

    class Meta:
        csrf = False

    person = SelectField("Person", coerce=str, validators=[Optional()])
    record = SelectField("Record", validators=[Optional()])
    kind = SelectField("Kind of event", validators=[Optional()])
    since = DateWithin("From", validators=[Optional()], window=PAST_DATE, description="")
    until = DateWithin("To", validators=[Optional()], window=PAST_DATE, description="")
