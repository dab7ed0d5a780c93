"""Outcome instruments as data: TOML files validated on load, and pure scoring.

Each `psiflow/instruments/<id>.toml` holds one instrument: items and answer options (only where
the item text is free to reproduce), severity bands, subscales, and the response / remission
rules, each value with its source beside it. Loading rejects anything malformed with a message
naming the file and the dotted key, so a bad file fails at start-up rather than at the bedside.

Two kinds of instrument:
- item-based (`reproduce_items = true`): `score_instrument` scores the answers, either as a sum
  (times `multiplier`, WHO-5's raw x 4) or as a triage risk level (C-SSRS screener);
- totals-only (copyrighted item text): the clinician records the total and subscales from the
  licensed form and `record_totals` checks them against the valid ranges.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psiflow.domain.safety import item_rule_hits

# C-SSRS screener triage levels, least severe first; Score.total of a risk-scored instrument is
# the index into this tuple, so a chart of totals over time is a chart of risk.
RISK_LEVELS = ("none", "low", "moderate", "high")
# How a triage level reads in a sentence ("C-SSRS: no risk identified"), never "none risk".
RISK_WORDS = {
    "none": "no risk identified",
    "low": "low risk",
    "moderate": "moderate risk",
    "high": "high risk",
}


def risk_words(level: str | None) -> str:
    return RISK_WORDS.get(level or "", level or "")


def score_number(value: float | int | None) -> float | int | None:
    """A score for a spreadsheet, written as `score_text` writes it: 18, never 18.0."""
    if value is None:
        return None
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def score_text(value: float | int | None) -> str:
    """A score as clinicians write it: whole numbers bare ("18", never "18.0"), others to
    one decimal ("9.5")."""
    if value is None:
        return ""
    return f"{round(float(value), 1):g}"


def sentence_start(label: str | None) -> str:
    """A label from the instrument data at the start of a sentence: only its first letter
    raised, so "probable PTSD" reads "Probable PTSD", not "Probable ptsd"."""
    return (label[:1].upper() + label[1:]) if label else ""


SCORINGS = ("sum", "risk")
_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_REQUIRED = object()


class InstrumentError(ValueError):
    """An instrument file that does not validate, or answers or totals that do not fit one."""


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    options: tuple[Option, ...]
    optional_unless: tuple[str, int] | None = None  # ("q2", 1): required only when q2 is 1

    def allows(self, value: object) -> bool:
        # bool is an int in Python; True must not pass for the option 1.
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and any(option.value == value for option in self.options)
        )


@dataclass(frozen=True)
class Band:
    min: float
    max: float
    label: str
    level: int  # 0 = least severe


@dataclass(frozen=True)
class Subscale:
    id: str
    label: str
    min: float
    max: float
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiskRule:
    """An answer that raises the risk to at least `level` (C-SSRS screener triage)."""

    item: str
    value: int
    level: str


@dataclass(frozen=True)
class ItemRule:
    """An answer that alerts whatever the total (PHQ-9 item 9: thoughts of self-harm)."""

    item: str
    at_least: int
    message: str
    asks_for: str | None = None  # an instrument to give next, e.g. the C-SSRS


@dataclass(frozen=True)
class Score:
    total: float
    band: str | None
    band_level: int | None
    subscales: dict[str, float]
    risk: str | None  # risk-scored instruments only: one of RISK_LEVELS
    alert: bool  # the supervisor must be alerted (risk at or above the instrument's alert_at)
    # Item rules the answers met: each alerts the supervisor whatever the total or band.
    item_alerts: tuple = ()


@dataclass(frozen=True)
class Instrument:
    id: str
    name: str
    short_name: str
    source: str
    reproduce_items: bool
    higher_is_better: bool
    items: tuple[Item, ...]
    total_min: float
    total_max: float
    bands: tuple[Band, ...]
    subscales: tuple[Subscale, ...]
    response_percent: float | None  # reduction, or improvement where higher_is_better
    response_points: float | None  # absolute improvement that also counts as response
    remission_below: float | None  # total < this (lower is better)
    remission_above: float | None  # total > this (higher is better)
    # Beyond the shared interface, with defaults so the fields above keep their positions.
    copyright: str = ""
    instructions: str = ""  # the stem read before the items ("Over the last 2 weeks, ...")
    scoring: str = "sum"
    multiplier: float = 1.0
    risk_rules: tuple[RiskRule, ...] = ()
    alert_at: str | None = None
    complete_at_percent: float | None = None  # MEQ-30: every subscale at >= this % of its max
    item_rules: tuple[ItemRule, ...] = ()
    # What the response rule is called and what the rules say, as the outcome table shows them
    # ("clinically meaningful change: a drop of at least 10 points (NCPTSD)").
    response_label: str = "response"
    response_definition: str = ""
    remission_definition: str = ""

    def band_for(self, total: float) -> Band | None:
        for band in self.bands:
            if band.min <= total <= band.max:
                return band
        return None


# --- loading -------------------------------------------------------------------------------


class _Table:
    """One TOML table being read. Every key read is ticked off; `done` rejects the rest."""

    def __init__(self, path: Path, key: str, data: object) -> None:
        self.path, self.key = path, key
        if not isinstance(data, dict):
            raise self.error("", f"expected a table, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def error(self, name: str, message: str) -> InstrumentError:
        where = ".".join(part for part in (self.key, name) if part) or "(top level)"
        return InstrumentError(f"{self.path}: {where}: {message}")

    def _get(self, name: str, default: object) -> object:
        self.read.add(name)
        if name in self.data:
            return self.data[name]
        if default is _REQUIRED:
            raise self.error(name, "missing")
        return default

    def text(self, name: str, default: object = _REQUIRED) -> Any:
        value = self._get(name, default)
        if name in self.data and (not isinstance(value, str) or not value.strip()):
            raise self.error(name, f"expected a non-empty string, got {_kind(value)}")
        return value  # a default is returned unchecked

    def identifier(self, name: str) -> str:
        value = self.text(name)
        if not _ID.match(value):
            raise self.error(name, f"{value!r} is not an id (lower case, digits, underscores)")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name, _REQUIRED)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"expected an integer, got {_kind(value)}")
        return value

    def number(self, name: str, default: object = _REQUIRED) -> Any:
        value = self._get(name, default)
        if name not in self.data:
            return value
        if not _is_number(value):
            raise self.error(name, f"expected a number, got {_kind(value)}")
        return float(value)

    def boolean(self, name: str) -> bool:
        value = self._get(name, _REQUIRED)
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_kind(value)}")
        return value

    def tables(self, name: str) -> list[_Table]:
        value = self._get(name, [])
        if not isinstance(value, list):
            raise self.error(name, f"expected an array of tables, got {_kind(value)}")
        return [_Table(self.path, f"{self._at(name)}[{i}]", entry) for i, entry in enumerate(value)]

    def table(self, name: str) -> _Table | None:
        value = self._get(name, None)
        return None if value is None else _Table(self.path, self._at(name), value)

    def strings(self, name: str) -> tuple[str, ...]:
        value = self._get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, "expected an array of strings")
        return tuple(value)

    def _at(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def done(self) -> None:
        for name in sorted(set(self.data) - self.read):
            raise self.error(name, "unknown key")


def _is_number(value: object) -> bool:
    # bool is an int in Python, but `true` is not a score.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _kind(value: object) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _options(tables: list[_Table]) -> tuple[Option, ...]:
    options, values, labels = [], set(), set()
    for t in tables:
        option = Option(value=t.integer("value"), label=t.text("label"))
        t.done()
        if option.value in values:
            raise t.error("value", f"{option.value} is offered twice")
        if option.label in labels:
            raise t.error("label", f"{option.label!r} is offered twice")
        values.add(option.value)
        labels.add(option.label)
        options.append(option)
    return tuple(options)


def _items(top: _Table) -> tuple[Item, ...]:
    shared = _options(top.tables("options"))  # used by every item that lists no options
    items: dict[str, Item] = {}
    for t in top.tables("items"):
        item_id = t.identifier("id")
        if item_id in items:
            raise t.error("id", f"duplicate item id {item_id!r}")
        own = _options(t.tables("options"))
        options = own or shared
        if not options:
            raise t.error("options", "missing, and the instrument has no shared options")
        condition = None
        cond = t.table("optional_unless")
        if cond is not None:
            ref, value = cond.text("item"), cond.integer("value")
            cond.done()
            # The referenced item must come first, so the form asks it before deciding.
            if ref not in items:
                raise cond.error("item", f"{ref!r} is not an earlier item")
            if not items[ref].allows(value):
                raise cond.error("value", f"{value} is not an option of {ref}")
            condition = (ref, value)
        items[item_id] = Item(item_id, t.text("text"), options, condition)
        t.done()
    return tuple(items.values())


def _bands(
    top: _Table, total_min: float, total_max: float, higher_is_better: bool
) -> tuple[Band, ...]:
    raw = []
    for t in top.tables("bands"):
        low, high, label = t.integer("min"), t.integer("max"), t.text("label")
        t.done()
        if low > high:
            raise t.error("max", f"{high} is below min {low}")
        # Bands are on whole-number totals: each starts one above where the last ended, so the
        # bands tile [total_min, total_max] with no gap and no overlap.
        expected = total_min if not raw else raw[-1][1] + 1
        if low != expected:
            what = "leaves a gap" if low > expected else "overlaps"
            raise t.error("min", f"{low} {what}: expected {expected:g}")
        raw.append((low, high, label, t))
    if raw and raw[-1][1] != total_max:
        raise raw[-1][3].error("max", f"{raw[-1][1]} does not reach total_max {total_max:g}")
    labels = [label for _, _, label, _ in raw]
    if len(set(labels)) != len(labels):
        raise top.error("bands", "band labels repeat")
    last = len(raw) - 1
    # Level 0 is the least severe: the lowest band, or the highest where higher is better.
    return tuple(
        Band(float(low), float(high), label, last - i if higher_is_better else i)
        for i, (low, high, label, _) in enumerate(raw)
    )


def _subscales(top: _Table, items: tuple[Item, ...], scoring: str) -> tuple[Subscale, ...]:
    by_id = {item.id: item for item in items}
    subscales: dict[str, Subscale] = {}
    for t in top.tables("subscales"):
        sub_id = t.identifier("id")
        if sub_id in subscales:
            raise t.error("id", f"duplicate subscale id {sub_id!r}")
        low, high, member_ids = t.number("min"), t.number("max"), t.strings("items")
        if low >= high:
            raise t.error("max", f"{high:g} is not above min {low:g}")
        if items and scoring != "sum":
            raise t.error("items", "subscales are scored as sums; this instrument is not")
        if items and not member_ids:
            raise t.error("items", "an item-based instrument scores subscales from its items")
        if not items and member_ids:
            raise t.error("items", "a totals-only instrument has no items to list")
        if len(set(member_ids)) != len(member_ids):
            raise t.error("items", "an item is listed twice")
        for member in member_ids:
            if member not in by_id:
                raise t.error("items", f"unknown item {member!r}")
        if member_ids:
            members = [by_id[m] for m in member_ids]
            _check_range(t, ("min", "max"), low, high, members, 1.0)
        subscales[sub_id] = Subscale(sub_id, t.text("label"), low, high, member_ids)
        t.done()
    return tuple(subscales.values())


def _check_range(
    t: _Table,
    keys: tuple[str, str],
    low: float,
    high: float,
    items: list[Item] | tuple[Item, ...],
    multiplier: float,
) -> None:
    """A stated range must be the one the items can produce: catches typos in either."""
    least = sum(min(o.value for o in item.options) for item in items) * multiplier
    most = sum(max(o.value for o in item.options) for item in items) * multiplier
    if (low, high) != (least, most):
        raise t.error(keys[1] if low == least else keys[0], f"items give {least:g}-{most:g}")


def _risk_rules(top: _Table, items: tuple[Item, ...]) -> tuple[RiskRule, ...]:
    by_id = {item.id: item for item in items}
    rules = []
    for t in top.tables("risk_rules"):
        rule = RiskRule(t.text("item"), t.integer("value"), t.text("level"))
        t.done()
        if rule.item not in by_id:
            raise t.error("item", f"unknown item {rule.item!r}")
        if not by_id[rule.item].allows(rule.value):
            raise t.error("value", f"{rule.value} is not an option of {rule.item}")
        if rule.level not in RISK_LEVELS[1:]:
            raise t.error("level", f"{rule.level!r} is not one of {', '.join(RISK_LEVELS[1:])}")
        rules.append(rule)
    return tuple(rules)


def _item_rules(top: _Table, items: tuple[Item, ...]) -> tuple[ItemRule, ...]:
    by_id = {item.id: item for item in items}
    rules = []
    for t in top.tables("item_rules"):
        asks_for = t.text("asks_for", None)
        rule = ItemRule(t.text("item"), t.integer("at_least"), t.text("message"), asks_for)
        t.done()
        if rule.item not in by_id:
            raise t.error("item", f"unknown item {rule.item!r}")
        if not any(o.value >= rule.at_least for o in by_id[rule.item].options):
            raise t.error("at_least", f"no option of {rule.item} reaches {rule.at_least}")
        if asks_for is not None and not _ID.match(asks_for):
            raise t.error("asks_for", f"{asks_for!r} is not an instrument id")
        rules.append(rule)
    return tuple(rules)


def load_instrument(path: str | Path) -> Instrument:
    """Read and validate one instrument file; InstrumentError names the file and key."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError(f"{path}: not valid TOML: {exc}") from exc
    top = _Table(path, "", data)

    ident = top.identifier("id")
    if ident != path.stem:  # one instrument per file, named after it: ids cannot collide
        raise top.error("id", f"{ident!r} does not match the file name {path.name!r}")
    reproduce = top.boolean("reproduce_items")
    higher_is_better = top.boolean("higher_is_better")
    total_min, total_max = top.number("total_min"), top.number("total_max")
    if total_min >= total_max:
        raise top.error("total_max", f"{total_max:g} is not above total_min {total_min:g}")

    items = _items(top)
    # Copyrighted instruments must not carry item text; free ones must carry their items.
    if reproduce and not items:
        raise top.error("items", "missing: reproduce_items is true")
    if not reproduce and (items or "options" in top.data):
        raise top.error("items", "reproduce_items is false: item text must not be shipped")

    scoring = top.text("scoring", "sum")
    if scoring not in SCORINGS:
        raise top.error("scoring", f"{scoring!r} is not one of {', '.join(SCORINGS)}")
    multiplier = top.number("multiplier", 1.0)
    if multiplier <= 0:
        raise top.error("multiplier", "must be above 0")
    risk_rules = _risk_rules(top, items)
    item_rules = _item_rules(top, items)
    alert_at = top.text("alert_at", None)
    if not items:
        for key in ("scoring", "multiplier", "alert_at"):
            if key in top.data:
                raise top.error(key, "only item-based instruments are scored")
    elif scoring == "sum":
        if any(item.optional_unless for item in items):
            # An omitted answer would silently count as 0 in a sum.
            raise top.error("items", "optional_unless needs scoring = 'risk'")
        if risk_rules or alert_at is not None:
            raise top.error("risk_rules", "risk rules need scoring = 'risk'")
        _check_range(top, ("total_min", "total_max"), total_min, total_max, items, multiplier)
    else:
        if not risk_rules:
            raise top.error("risk_rules", "missing: scoring is 'risk'")
        if multiplier != 1.0:
            raise top.error("multiplier", "a risk level is not multiplied")
        if (total_min, total_max) != (0, len(RISK_LEVELS) - 1):
            raise top.error("total_max", f"a risk total runs 0-{len(RISK_LEVELS) - 1}")
        # Required: a risk screen whose result reaches nobody is worse than none.
        if alert_at not in RISK_LEVELS[1:]:
            levels = ", ".join(RISK_LEVELS[1:])
            raise top.error("alert_at", f"{alert_at!r} is not one of {levels}")
        if "bands" in top.data:
            raise top.error("bands", "a risk level is reported as itself, not in bands")

    bands = _bands(top, total_min, total_max, higher_is_better)
    subscales = _subscales(top, items, scoring)

    rules = {
        name: top.number(name, None)
        for name in ("response_percent", "response_points", "remission_below", "remission_above")
    }
    if rules["response_percent"] is not None and not 0 < rules["response_percent"] <= 100:
        raise top.error("response_percent", "must be above 0 and at most 100")
    if rules["response_points"] is not None and rules["response_points"] <= 0:
        raise top.error("response_points", "must be above 0")
    # Remission is below a cut-off where lower is better, above one where higher is better.
    wrong = "remission_below" if higher_is_better else "remission_above"
    if rules[wrong] is not None:
        raise top.error(wrong, f"does not fit higher_is_better = {str(higher_is_better).lower()}")
    for name in ("remission_below", "remission_above"):
        if rules[name] is not None and not total_min < rules[name] <= total_max:
            raise top.error(name, f"{rules[name]:g} is outside {total_min:g}-{total_max:g}")
    has_response = rules["response_percent"] is not None or rules["response_points"] is not None
    has_remission = rules["remission_below"] is not None or rules["remission_above"] is not None
    # A rule the outcome table states needs its definition beside it, and a definition its rule.
    definitions = {}
    for name, has_rule in (
        ("response_definition", has_response),
        ("remission_definition", has_remission),
    ):
        definitions[name] = top.text(name, "")
        if has_rule and not definitions[name]:
            raise top.error(name, "missing: the table shows the rule with its definition")
        if definitions[name] and not has_rule:
            raise top.error(name, "defines a rule the instrument does not have")
    response_label = top.text("response_label", "response")
    complete_at = top.number("complete_at_percent", None)
    if complete_at is not None and (not subscales or not 0 < complete_at <= 100):
        raise top.error("complete_at_percent", "needs subscales and a percentage above 0")

    instrument = Instrument(
        id=ident,
        name=top.text("name"),
        short_name=top.text("short_name"),
        source=top.text("source"),
        reproduce_items=reproduce,
        higher_is_better=higher_is_better,
        items=items,
        total_min=total_min,
        total_max=total_max,
        bands=bands,
        subscales=subscales,
        **rules,
        copyright=top.text("copyright"),
        instructions=top.text("instructions", ""),
        scoring=scoring,
        multiplier=multiplier,
        risk_rules=risk_rules,
        alert_at=alert_at,
        complete_at_percent=complete_at,
        item_rules=item_rules,
        response_label=response_label,
        **definitions,
    )
    top.done()
    return instrument


def load_instruments(directory: str | Path) -> dict[str, Instrument]:
    """Every `*.toml` in `directory`, by id (the file name without `.toml`)."""
    return {p.stem: load_instrument(p) for p in sorted(Path(directory).glob("*.toml"))}


def default_instrument_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "instruments"


# --- scoring -------------------------------------------------------------------------------


def _is_required(item: Item, answers: Mapping[str, int | None]) -> bool:
    if item.optional_unless is None:
        return True
    ref, value = item.optional_unless
    return answers.get(ref) == value


def score_instrument(instrument: Instrument, answers: Mapping[str, int | None]) -> Score:
    """Score item answers. Every required item needs one of its option values; an answer of
    None counts as not given; an unknown item id is an error, never silently dropped."""
    if not instrument.items:
        raise InstrumentError(f"{instrument.id}: records totals only; use record_totals")
    known = {item.id for item in instrument.items}
    for item_id in answers:
        if item_id not in known:
            raise InstrumentError(f"{instrument.id}: unknown item {item_id!r}")
    given: dict[str, int] = {}
    for item in instrument.items:
        value = answers.get(item.id)
        if value is None:
            if _is_required(item, answers):
                raise InstrumentError(f"{instrument.id}: item {item.id} is not answered")
            continue
        if not item.allows(value):
            offered = ", ".join(str(o.value) for o in item.options)
            raise InstrumentError(
                f"{instrument.id}: item {item.id}: {value!r} is not an offered value ({offered})"
            )
        given[item.id] = value

    if instrument.scoring == "risk":
        # An answer given where the skip rule allowed omission still counts: a "yes" to Q4 is
        # never discarded because Q2 was "no".
        level = max(
            (
                RISK_LEVELS.index(rule.level)
                for rule in instrument.risk_rules
                if given.get(rule.item) == rule.value
            ),
            default=0,
        )
        alert_at = instrument.alert_at
        hits = tuple(item_rule_hits(instrument.item_rules, given))
        alert = alert_at is not None and level >= RISK_LEVELS.index(alert_at) or bool(hits)
        return Score(float(level), None, None, {}, RISK_LEVELS[level], alert, hits)

    hits = tuple(item_rule_hits(instrument.item_rules, given))
    total = sum(given.values()) * instrument.multiplier
    band = instrument.band_for(total)
    subscales = {
        sub.id: float(sum(given[item_id] for item_id in sub.items)) for sub in instrument.subscales
    }
    return Score(
        total=float(total),
        band=band.label if band else None,
        band_level=band.level if band else None,
        subscales=subscales,
        risk=None,
        alert=bool(hits),
        item_alerts=hits,
    )


def _checked(instrument: Instrument, what: str, value: object, low: float, high: float) -> float:
    if not _is_number(value):
        raise InstrumentError(f"{instrument.id}: {what}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise InstrumentError(f"{instrument.id}: {what} {value:g} is outside {low:g}-{high:g}")
    return float(value)


def record_totals(
    instrument: Instrument, total: float, subscales: Mapping[str, float] | None = None
) -> Score:
    """Check a total (and subscales) taken from a licensed form whose items we do not ship."""
    if instrument.items:
        raise InstrumentError(f"{instrument.id}: is scored from its items; use score_instrument")
    total = _checked(instrument, "total", total, instrument.total_min, instrument.total_max)
    # Bands are on whole-number totals (sums of integer items); a fraction is a typing error.
    if instrument.bands and not total.is_integer():
        raise InstrumentError(f"{instrument.id}: total {total:g} is not a whole number")
    band = instrument.band_for(total)
    by_id = {sub.id: sub for sub in instrument.subscales}
    recorded = {}
    for sub_id, value in (subscales or {}).items():
        sub = by_id.get(sub_id)
        if sub is None:
            raise InstrumentError(f"{instrument.id}: unknown subscale {sub_id!r}")
        recorded[sub_id] = _checked(instrument, f"subscale {sub_id}", value, sub.min, sub.max)
    return Score(
        total=total,
        band=band.label if band else None,
        band_level=band.level if band else None,
        subscales=recorded,
        risk=None,
        alert=False,
    )


def _totals(instrument: Instrument, *pairs: tuple[str, object]) -> list[float]:
    return [
        _checked(instrument, what, value, instrument.total_min, instrument.total_max)
        for what, value in pairs
    ]


def is_response(instrument: Instrument, baseline_total: float, current_total: float) -> bool | None:
    """Response against the course baseline: the percentage rule or the points rule, whichever
    the instrument defines (either is enough). None when it defines neither, or when only the
    percentage rule applies and a baseline of 0 leaves the percentage undefined."""
    baseline, current = _totals(
        instrument, ("baseline total", baseline_total), ("current total", current_total)
    )
    improvement = current - baseline if instrument.higher_is_better else baseline - current
    verdicts = []
    if instrument.response_points is not None:
        verdicts.append(improvement >= instrument.response_points)
    if instrument.response_percent is not None and baseline != 0:
        # Cross-multiplied so 20 -> 10 is exactly 50%, with no rounding in a division.
        verdicts.append(improvement * 100 >= instrument.response_percent * abs(baseline))
    return any(verdicts) if verdicts else None


def is_remission(instrument: Instrument, current_total: float) -> bool | None:
    """Remission by the instrument's cut-off; None when it defines none."""
    (current,) = _totals(instrument, ("current total", current_total))
    if instrument.remission_below is not None:
        return current < instrument.remission_below
    if instrument.remission_above is not None:
        return current > instrument.remission_above
    return None


def change_from_baseline(
    instrument: Instrument, baseline_total: float, current_total: float
) -> float:
    """Signed percent change of the total from baseline (-50.0: the total halved).

    Raises InstrumentError for a baseline of 0, where a percentage has no meaning."""
    baseline, current = _totals(
        instrument, ("baseline total", baseline_total), ("current total", current_total)
    )
    if baseline == 0:
        raise InstrumentError(f"{instrument.id}: percent change from a baseline of 0 is undefined")
    return (current - baseline) / abs(baseline) * 100


def is_complete_experience(instrument: Instrument, subscales: Mapping[str, float]) -> bool | None:
    """MEQ-30's "complete mystical experience": every subscale at or above the instrument's
    percentage of its maximum. None when the instrument has no such rule or a subscale is
    missing, since the rule needs all of them."""
    if instrument.complete_at_percent is None:
        return None
    if any(sub.id not in subscales for sub in instrument.subscales):
        return None
    by_id = {sub.id: sub for sub in instrument.subscales}
    for sub_id, value in subscales.items():
        if sub_id not in by_id:
            raise InstrumentError(f"{instrument.id}: unknown subscale {sub_id!r}")
        _checked(instrument, f"subscale {sub_id}", value, by_id[sub_id].min, by_id[sub_id].max)
    return all(
        subscales[sub.id] * 100 >= instrument.complete_at_percent * sub.max
        for sub in instrument.subscales
    )
