"""The site's forms (Flask-WTF): each carries a CSRF token and validates its own fields."""

from __future__ import annotations

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
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
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)


def flash_errors(form: FlaskForm) -> None:
    """Each field's errors, flashed back to the page the form came from."""
    for field, errors in form.errors.items():
        flash(f"{field}: {'; '.join(str(e) for e in errors)}")


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Length(max=500)])


class ReplyForm(FlaskForm):
    reply = SelectField(_l("Reply"), validators=[DataRequired()])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])


class DepartmentForm(FlaskForm):
    department = SelectField(_l("Department"), validators=[DataRequired()])


class AssignForm(FlaskForm):
    officer = SelectField(_l("Officer"), coerce=int)


class OutcomeForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("", _l("Choose…")),
            SelectChoice("answered", _l("Answered")),
            SelectChoice("missed", _l("Missed")),
            SelectChoice("cancelled", _l("Cancelled")),
        ],
        validators=[DataRequired()],
    )
    resolution = TextAreaField(_l("Resolution"), validators=[Length(max=2000)])


class OfficerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254), Email()])
    department = SelectField(_l("Department"), validators=[DataRequired()])
    capacity = IntegerField(
        _l("Callbacks per slot"), validators=[InputRequired(), NumberRange(min=0, max=50)]
    )
    active = BooleanField(_l("Active"), default=True)


class CounterForm(FlaskForm):
    counter = StringField(_l("Counter"), validators=[DataRequired(), Length(max=60)])
    slot_minutes = SelectField(
        _l("Minutes a slot"), choices=[SelectChoice(15, "15"), SelectChoice(30, "30")], coerce=int
    )
    capacity = IntegerField(
        _l("People per slot"), validators=[InputRequired(), NumberRange(min=1, max=50)]
    )


class LeaveForm(FlaskForm):
    first = DateField(_l("From"), validators=[DataRequired()])
    last = DateField(_l("To (included)"), validators=[DataRequired()])


class AccountDepartmentsForm(FlaskForm):
    departments = SelectMultipleField(_l("Departments"))


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("six digits"))],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Again"), validators=[DataRequired(), EqualTo("password", message=_l("not the same"))]
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class AnnouncementForm(FlaskForm):
    """A text per line language is added by `announcement_form` (the flow's languages)."""

    starts = DateField(_l("From"), validators=[InputRequired()])
    ends = DateField(_l("To (included)"), validators=[InputRequired()])
    placement = SelectField(
        _l("Where"),
        choices=[
            SelectChoice("main", _l("before the main menu")),
            SelectChoice("after_hours", _l("after hours only (before the after-hours menu)")),
        ],
        validators=[DataRequired()],
    )


def announcement_form(languages: dict[str, str]) -> AnnouncementForm:
    """The form with one required text field per language (code → its name)."""

    class Form(AnnouncementForm):
        pass

    for code, name in languages.items():
        field = TextAreaField(name, validators=[DataRequired(), Length(max=600)])
        setattr(Form, f"text_{code}", field)
    return Form(prefix="announcement")


class ClosureForm(FlaskForm):
    day = DateField(_l("Day"), validators=[InputRequired()])
    department = SelectField(_l("Department"))
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
