"""Empty form fields of the live session page drawn once per process instead of on every page.

The one process-wide rendering cache PsiFlow keeps, for the figure that justifies it: the live
session page draws about thirty fields that are empty on every refresh of a tablet, and
WTForms takes 45-500 microseconds to draw each (its widgets format every attribute through
`Markup.format`). On the 10,000-patient bench database the live page took about 3 ms more
without this cache in one process (median of 60 requests: 16-24 ms against 12.5-15 ms); run in
turns with and without it (`python -m bench.run --reuse --page "live session"`), its p50 was
3.8 and 4.2 times the baseline's without it, 3.2 and 3.0 with it. A field holding a value or an
error (a refused entry shown again) is always drawn afresh; the key is the field's form class,
name, label and choices, never a request's values. Other pages draw their fields afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

_DRAWN: dict[tuple, Markup] = {}
# A bound, in case a page ever draws blank fields of forms built per request (a new form class
# each time would otherwise be a new key each time): past it, start again.
_MOST = 4096


def is_blank(field) -> bool:
    """Nothing of this request is in the field: no value posted, given or stored, no error."""
    return (
        not field.errors
        and field.raw_data is None
        and field.object_data is None
        and field.data is None
    )


def _choices(field) -> tuple:
    choices = getattr(field, "choices", None)
    if choices is None:
        return ()
    return tuple((c.value, c.label) if hasattr(c, "value") else tuple(c) for c in choices)


def blank(draw: Callable, field, *args, **kwargs) -> Markup:
    """`draw(field, *args, **kwargs)` (a macro or the field itself), drawn once for a blank
    field and reused; drawn every time for a field that holds anything."""
    if not is_blank(field):
        return Markup(draw(field, *args, **kwargs))
    key = (
        getattr(draw, "_func", draw).__code__,  # a macro's compiled body, or the function's
        type(field._form),
        field.name,
        field.id,
        str(field.label.text),
        _choices(field),
        args,
        tuple(sorted(kwargs.items())),
    )
    drawn = _DRAWN.get(key)
    if drawn is None:
        if len(_DRAWN) >= _MOST:
            _DRAWN.clear()
        drawn = _DRAWN[key] = Markup(draw(field, *args, **kwargs))
    return drawn


def draw_field(field, **kwargs) -> Markup:
    """The field's own widget (for `blank`, where a template would call `field(...)`)."""
    return field(**kwargs)


def init_app(app) -> None:
    app.add_template_global(blank, "blank")
    app.add_template_global(draw_field, "draw_field")
