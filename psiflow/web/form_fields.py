"""Fields every form shares, so that bad input is an error beside its field, never a server
error: a date or a clinic-local date-time within a stated window, and the version of the
record a page edits.

Every date and date-time a user types goes through `DateWithin` or `LocalDateTime`: whatever
the browser sends (year 9999, year 1, nonsense), the field either holds a value inside its
window, which every later step can convert to UTC and add days to, or an error that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from markupsafe import Markup
from wtforms import DateField, DateTimeLocalField, IntegerField, SelectField
from wtforms.validators import StopValidation
from wtforms.widgets import HiddenInput, Select

from psiflow.web.presentation import clinic_zone, format_time

# A clinic default, not a clinical source: a person's lifetime, which no birth date and no
# record the clinic keeps falls outside.
LIFETIME = timedelta(days=round(120 * 365.25))
# A clinic default: how far ahead a record's own time may be typed (a draft written ahead of
# a booked session), past which the year is a slip of the keyboard.
RECORD_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Window:
    """How far before and after now a typed date may fall, in words the form shows beside it
    ("in the past and within the last 120 years")."""

    back: timedelta | None  # None: no bound of its own before now (the form's context has one)
    ahead: timedelta
    rule: str

    @property
    def hint(self) -> str:
        return self.rule[0].upper() + self.rule[1:] + "."


BIRTH_DATE = Window(LIFETIME, timedelta(0), "in the past and within the last 120 years")
PAST_DATE = Window(LIFETIME, timedelta(0), "today or earlier")
RECORD_TIME = Window(LIFETIME, RECORD_AHEAD, "within the last 120 years and the next year")


def _refusal(label: str, window: Window, earliest, latest, fmt: str) -> str:
    if earliest is None:
        return f"{label} must be {window.rule} (by {format_time(latest, fmt)})."
    return (
        f"{label} must be {window.rule} "
        f"({format_time(earliest, fmt)} to {format_time(latest, fmt)})."
    )


class DateWithin(DateField):
    """A date (no time of day) inside `window`, counted from today in the clinic's zone."""

    def __init__(self, label: str, validators=None, *, window: Window = PAST_DATE, **kwargs):
        kwargs.setdefault("description", window.hint)
        kwargs.setdefault("invalid_value_message", f"{label}: enter a date such as 2026-03-08.")
        super().__init__(label, validators, **kwargs)
        self.window = window

    def bounds(self) -> tuple[date, date]:
        today = datetime.now(clinic_zone()).date()
        # Clamped to the calendar Python counts in, so the bounds themselves never overflow.
        earliest = today - min(self.window.back, today - date.min)
        latest = today + min(self.window.ahead, date.max - today)
        return earliest, latest

    def pre_validate(self, form):
        if self.data is None:
            return
        earliest, latest = self.bounds()
        if not earliest <= self.data <= latest:
            raise StopValidation(
                _refusal(str(self.label.text), self.window, earliest, latest, "%d %b %Y")
            )


class LocalDateTime(DateTimeLocalField):
    """A date-time typed in the clinic's zone (its data carries that zone) inside `window`,
    counted from now; `window` may be set per form (a protocol's horizon)."""

    def __init__(self, label: str, validators=None, *, window: Window = RECORD_TIME, **kwargs):
        kwargs.setdefault("tz", clinic_zone)
        kwargs.setdefault(
            "invalid_value_message", f"{label}: enter a date and time such as 2026-03-08 14:30."
        )
        super().__init__(label, validators, **kwargs)
        self.window = window

    def bounds(self) -> tuple[datetime | None, datetime]:
        now = datetime.now(clinic_zone()).replace(second=0, microsecond=0)
        back = self.window.back
        return (None if back is None else now - back), now + self.window.ahead

    def pre_validate(self, form):
        if self.data is None:
            return
        earliest, latest = self.bounds()
        try:
            # What every view does next (stores it as UTC): a year-9999 or year-1 time cannot.
            at = self.data.astimezone(UTC)
            inside = (earliest is None or earliest <= at) and at <= latest
        except OverflowError:
            inside = False
        if not inside:
            raise StopValidation(
                _refusal(str(self.label.text), self.window, earliest, latest, "%d %b %Y %H:%M")
            )


def when_within(field, window: Window) -> None:
    """Give a form's date-time field the window of its context (a protocol's horizon)."""
    field.window = window
    field.description = window.hint


class IdlessHiddenInput(HiddenInput):
    """A hidden input without an id: nothing labels it, and a page with several forms of one
    kind would otherwise repeat the id, which the HTML standard forbids."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", False)
        return super().__call__(field, **kwargs)


class PromptedSelect(Select):
    """A required select starts with an empty choice: the HTML standard requires it, and it
    makes the choice a deliberate one where no default is selected."""

    def __init__(self, prompt: str = "Choose…"):
        super().__init__()
        self.prompt = prompt

    def __call__(self, field, **kwargs):
        html = str(super().__call__(field, **kwargs))
        if not (field.flags.required or kwargs.get("required")):
            return Markup(html)
        opening, _, options = html.partition(">")
        return Markup(f'{opening}><option value="">{self.prompt}</option>{options}')


class RequiredSelectField(SelectField):
    """A select that must be answered, written as the HTML standard wants (`PromptedSelect`)."""

    widget = PromptedSelect()


class VersionField(IntegerField):
    """The version of the record the page showed, in a hidden input. A post without one, or
    with one that is not a whole number, is refused with an error that names it; comparing
    it with the stored version is the caller's (see `psiflow.web.edit_conflicts`)."""

    widget = IdlessHiddenInput()

    def __init__(self, label: str = "Record version", validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0]:
            # Not the record's own: a form built on the record (`obj=`) holds its stored
            # version until here, and a post without one would have saved as if current.
            self.data = None
            return
        text = valuelist[0]
        # As the page writes it: ASCII digits only (Python's int() would also read "١" or
        # "1_0"), within an INTEGER column's range, as every stored version is.
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 2**31 - 1):
            self.data = None
            raise ValueError(self._problem)
        self.data = int(text)

    def pre_validate(self, form):
        if self.data is None and not self.process_errors:
            raise StopValidation(self._problem)

    @property
    def _problem(self) -> str:
        return (
            f"{self.label.text}: the page did not say which version of the record it changes. "
            "Nothing was saved; reload the page and enter the change again."
        )


class RequiredToSign:
    """A field a draft saves without but signing needs (the record's `missing_for_signing`
    names it): the form macros write "Required to sign." beside it and mark the control
    aria-required, so the form says before signing what signing will ask for."""

    field_flags = {"required_to_sign": True}

    def __call__(self, form, field):
        pass  # a draft may leave it empty; signing checks it
