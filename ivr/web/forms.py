"""The site's forms (Flask-WTF): each carries a CSRF token and validates its own fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class StatusForm(FlaskForm):
    status = SelectField("Status", validators=[DataRequired()])
    note = StringField("Note", validators=[Length(max=500)])


class ReplyForm(FlaskForm):
    reply = SelectField("Reply", validators=[DataRequired()])


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=2000)])


class DepartmentForm(FlaskForm):
    department = SelectField("Department", validators=[DataRequired()])


class AssignForm(FlaskForm):
    officer = SelectField("Officer", coerce=int)


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        "Outcome",
        choices=[
            SelectChoice("", "Choose…"),
            SelectChoice("answered", "Answered"),
            SelectChoice("missed", "Missed"),
            SelectChoice("cancelled", "Cancelled"),
        ],
        validators=[DataRequired()],
    )
    resolution = TextAreaField("Resolution", validators=[Length(max=2000)])


class OfficerForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    department = SelectField("Department", validators=[DataRequired()])
    capacity = IntegerField(
        "Callbacks per slot", validators=[InputRequired(), NumberRange(min=0, max=50)]
    )
    active = BooleanField("Active", default=True)


class LeaveForm(FlaskForm):
    first = DateField("From", validators=[DataRequired()])
    last = DateField("To (included)", validators=[DataRequired()])


class AccountDepartmentsForm(FlaskForm):
    departments = SelectMultipleField("Departments")


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message="six digits")],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "Again", validators=[DataRequired(), EqualTo("password", message="not the same")]
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
