from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class _Reauthenticate(FlaskForm):
    # 21 CFR 11.200: each signing re-enters the signer's password.
    password = PasswordField("Your password", validators=[DataRequired()])


class SignForm(_Reauthenticate):
    meaning = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Sign")


class AddendumForm(_Reauthenticate):
    text = TextAreaField("Addendum", validators=[DataRequired(), Length(max=10000)])
    submit = SubmitField("Sign and add addendum")


class VoidForm(_Reauthenticate):
    reason = TextAreaField(
        "Why was this entered in error?", validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField("Void record")
