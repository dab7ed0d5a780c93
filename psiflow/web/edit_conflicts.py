"""A draft edited on two devices: the later save is refused, keeps what its user typed and
shows what the earlier one stored, so nobody's words are lost and nobody's are overwritten
unseen.

A form that edits a record carries the record's version (`form_fields.VersionField`). A save
whose version is missing, not a number or not the stored one is refused here; the form then
carries the stored version, so saving it again (having read what is stored) is a deliberate
choice, not an accident.

Free text typed on both devices (two facilitators' session notes) is shown side by side:
what is stored (theirs) and what was typed (yours). The text box then holds both, marked, to
merge; or the second writer keeps only theirs, or drops it for what is stored
(`take_choice`, applied when the form is posted again). Nothing typed is lost on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import request
from wtforms import TextAreaField

STALE = (
    "Someone else saved this record while you were editing it. Nothing of yours was saved: "
    "what you typed is still in the form, and what is stored now is shown above it. Merge the "
    "two and save again."
)

UNVERSIONED = (
    "Record version: this save did not say which version of the record it changes, so it "
    "could overwrite a newer one. Nothing of yours was saved: what you typed is still in the "
    "form, and what is stored now is shown above it. Check the two and save again."
)


# The marks around each version in a merged text box: plain words, easy to find and delete.
THEIRS_MARK = "[Saved from the other device]"
YOURS_MARK = "[Yours, not saved yet]"
# The posted choice ("notes:mine" / "notes:theirs") and the versions the form carries along.
CHOICE = "conflict_choice"
MINE = "__mine"
THEIRS = "__theirs"


@dataclass(frozen=True)
class StoredValue:
    label: str
    value: str


@dataclass(frozen=True)
class TextConflict:
    """One free-text field typed on two devices: both versions, to keep, merge or drop."""

    name: str
    label: str
    theirs: str
    yours: str

    @property
    def merged(self) -> str:
        return f"{THEIRS_MARK}\n{self.theirs}\n\n{YOURS_MARK}\n{self.yours}"


def refuse_stale(form, version: int, stored: dict, message: str = STALE) -> bool:
    """True (the form re-armed with `version` and told what `stored` holds) when the posted
    version is not `version`; False when the save may go ahead."""
    if form.is_submitted():
        take_choice(form, request.form)
    if form.version.data == version:
        return False
    if form.version.data is None:  # none posted, or not a number: it may be older than ours
        message = UNVERSIONED
    keep_stale(form, version, stored, message)
    return True


def keep_stale(form, version: int, stored: dict, message: str = STALE) -> None:
    """Re-arm `form` after a refused stale save: its text stays, `version` is the stored
    one, `stored_now` lists the stored values that differ from what was typed, and
    `text_conflicts` the free texts typed on both devices (shown side by side)."""
    form.version.data = version
    form.version.raw_data = [str(version)]
    form.version.errors = []  # said once, in `message`
    form.form_errors.append(message)
    form.text_conflicts = _text_conflicts(form, stored)
    side_by_side = {c.name for c in form.text_conflicts}
    form.stored_now = [
        StoredValue(str(form[name].label.text), shown)
        for name, value in stored.items()
        if name in form and name != "version" and name not in side_by_side
        for shown in [_shown(form[name], value)]
        if shown != _shown(form[name], form[name].data)
    ]
    for conflict in form.text_conflicts:
        # The box holds both, marked: saving it as it is keeps every word of either.
        form[conflict.name].data = conflict.merged
        form[conflict.name].raw_data = [conflict.merged]


def _text_conflicts(form, stored: dict) -> list[TextConflict]:
    conflicts = []
    for name, value in stored.items():
        field = form[name] if name in form else None
        if not isinstance(field, TextAreaField):
            continue
        theirs, yours = _plain_text(value), _plain_text(field.data)
        # One contains the other (typed on after reading it): nothing of either is lost.
        if not theirs or not yours or yours.startswith(theirs) or theirs.startswith(yours):
            continue
        conflicts.append(TextConflict(name, str(field.label.text), theirs, yours))
    return conflicts


def _plain_text(value) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def take_choice(form, formdata) -> None:
    """After a conflict the second writer chose: "mine" puts back the text they typed,
    "theirs" what the other device stored (dropping their own); otherwise the text box
    (the merged text, as they edited it) is saved. Call it before validating the form."""
    name, _, choice = (formdata.get(CHOICE) or "").partition(":")
    suffix = {"mine": MINE, "theirs": THEIRS}.get(choice)
    if suffix is None or name not in form or not isinstance(form[name], TextAreaField):
        return
    chosen = formdata.get(name + suffix)
    if chosen is not None:
        form[name].process_formdata([chosen])


def _shown(field, value) -> str:
    """A value as the person reading the form knows it: choice labels, one line per item."""
    labels = {}
    for choice in getattr(field, "choices", None) or ():
        key, label = (choice.value, choice.label) if hasattr(choice, "value") else choice[:2]
        labels[str(key)] = str(label)
    values = value if isinstance(value, list | tuple | set) else [value]
    shown = [labels.get(str(v), _text(v)) for v in values if v not in (None, "")]
    return "\n".join(s.replace("\r\n", "\n").strip() for s in shown)


def _text(value) -> str:
    if isinstance(value, datetime):  # both sides are the clinic's wall-clock time
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M")
    return str(value)
