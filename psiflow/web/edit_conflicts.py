"""A draft edited on two devices: the later save is refused, keeps what its user typed and
shows what the earlier one stored, so nobody's words are lost and nobody's are overwritten
unseen.

A form that edits a record carries the record's version (`form_fields.VersionField`). A save
whose version is missing, not a number or not the stored one is refused here; the form then
carries the stored version, so saving it again (having read what is stored) is a deliberate
choice, not an accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class StoredValue:
    label: str
    value: str


def refuse_stale(form, version: int, stored: dict, message: str = STALE) -> bool:
    """True (the form re-armed with `version` and told what `stored` holds) when the posted
    version is not `version`; False when the save may go ahead."""
    if form.version.data == version:
        return False
    if form.version.data is None:  # none posted, or not a number: it may be older than ours
        message = UNVERSIONED
    keep_stale(form, version, stored, message)
    return True


def keep_stale(form, version: int, stored: dict, message: str = STALE) -> None:
    """Re-arm `form` after a refused stale save: its text stays, `version` is the stored
    one, and `stored_now` lists the stored values that differ from what was typed."""
    form.version.data = version
    form.version.raw_data = [str(version)]
    form.version.errors = []  # said once, in `message`
    form.form_errors.append(message)
    form.stored_now = [
        StoredValue(str(form[name].label.text), shown)
        for name, value in stored.items()
        if name in form and name != "version"
        for shown in [_shown(form[name], value)]
        if shown != _shown(form[name], form[name].data)
    ]


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
