from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from psiflow.access import Role
from psiflow.domain.passwords import password_problems
from psiflow.web.form_fields import RequiredSelectField

ROLE_CHOICES = [SelectChoice(r.value, r.value.capitalize()) for r in Role]


class UserForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = RequiredSelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    supervisor_id = SelectField("Supervisor", coerce=int)
    submit = SubmitField("Save")

    def validate_supervisor_id(self, field):
        if self.role.data == Role.TRAINEE.value and not field.data:
            raise ValidationError("A trainee needs a supervisor to co-sign their work.")


class NewUserForm(UserForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an email address."),
        ],
    )
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=512)])
    submit = SubmitField("Create user")

    def validate_password(self, field):
        problems = password_problems(field.data or "", self.email.data or "")
        if problems:
            raise ValidationError(" ".join(problems))


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm")
