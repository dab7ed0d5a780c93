"""Outcome instruments: the shipped files load, and scoring matches the published cut-offs.

Each scoring test names its source; the numbers asserted are the published boundaries, not
values read back from our own TOML.
"""

import pytest

from psiflow.domain.instruments import (
    Instrument,
    InstrumentError,
    change_from_baseline,
    default_instrument_dir,
    is_complete_experience,
    is_remission,
    is_response,
    load_instrument,
    load_instruments,
    record_totals,
    score_instrument,
)

SHIPPED = {"phq9", "gad7", "pcl5", "who5", "cssrs", "meq30", "ebi", "ceq", "madrs"}
FREE_TO_REPRODUCE = {"phq9", "gad7", "pcl5", "who5", "cssrs"}


@pytest.fixture(scope="module")
def instruments() -> dict[str, Instrument]:
    return load_instruments(default_instrument_dir())


def answers_totalling(instrument: Instrument, total: int) -> dict[str, int]:
    """Answers to every item that sum to `total`: top options first, the rest 0."""
    answers = {}
    for item in instrument.items:
        top = max(o.value for o in item.options)
        answers[item.id] = min(top, total)
        total -= answers[item.id]
    assert total == 0, "total is beyond what the items can give"
    return answers


# --- the shipped files ---------------------------------------------------------------------


def test_every_shipped_instrument_loads_with_source_and_copyright(instruments):
    assert set(instruments) == SHIPPED
    for instrument in instruments.values():
        assert instrument.source and instrument.copyright
        assert instrument.reproduce_items == (instrument.id in FREE_TO_REPRODUCE)


def test_copyrighted_instruments_ship_no_item_text(instruments):
    for ident in SHIPPED - FREE_TO_REPRODUCE:
        assert instruments[ident].items == ()


def test_item_counts_and_ranges_match_the_manuals(instruments):
    """PHQ-9 9x0-3 (Kroenke 2001), GAD-7 7x0-3 (Spitzer 2006), PCL-5 20x0-4 (NCPTSD),
    WHO-5 5x0-5 raw x4 (Topp 2015), C-SSRS screener 6 questions, MADRS 0-60 (Montgomery &
    Asberg 1979), EBI 0-100 VAS mean (Roseman 2019), MEQ-30 and CEQ 0-5 means."""
    expected = {
        "phq9": (9, 0, 27),
        "gad7": (7, 0, 21),
        "pcl5": (20, 0, 80),
        "who5": (5, 0, 100),
        "cssrs": (6, 0, 3),
        "madrs": (0, 0, 60),
        "ebi": (0, 0, 100),
        "meq30": (0, 0, 5),
        "ceq": (0, 0, 5),
    }
    for ident, (count, low, high) in expected.items():
        instrument = instruments[ident]
        assert (len(instrument.items), instrument.total_min, instrument.total_max) == (
            count,
            low,
            high,
        ), ident


def test_subscales_of_the_experience_scales(instruments):
    """MEQ-30: four factors (Barrett 2015); CEQ: seven factors (Barrett 2016)."""
    assert [s.id for s in instruments["meq30"].subscales] == [
        "mystical",
        "positive_mood",
        "transcendence",
        "ineffability",
    ]
    assert len(instruments["ceq"].subscales) == 7


# --- PHQ-9 and GAD-7 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band", "level"),
    [
        (0, "minimal", 0),
        (4, "minimal", 0),
        (5, "mild", 1),
        (9, "mild", 1),
        (10, "moderate", 2),
        (14, "moderate", 2),
        (15, "moderately severe", 3),
        (19, "moderately severe", 3),
        (20, "severe", 4),
        (27, "severe", 4),
    ],
)
def test_phq9_band_boundaries(instruments, total, band, level):
    """5, 10, 15 and 20 mark mild, moderate, moderately severe and severe (Kroenke 2001)."""
    phq9 = instruments["phq9"]
    answers = answers_totalling(phq9, total)
    score = score_instrument(phq9, answers)
    assert (score.total, score.band, score.band_level) == (total, band, level)
    # Item 9 alerts whatever the total (its item rule); no other answer does.
    assert score.risk is None and score.alert is (answers["q9"] >= 1)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_boundaries(instruments, total, band):
    """5, 10 and 15 mark mild, moderate and severe anxiety (Spitzer et al. 2006)."""
    gad7 = instruments["gad7"]
    assert score_instrument(gad7, answers_totalling(gad7, total)).band == band


def test_phq9_response_and_remission(instruments):
    """Response >= 50% reduction, remission < 5 (Kroenke & Spitzer 2002)."""
    phq9 = instruments["phq9"]
    assert is_response(phq9, 20, 10) is True  # exactly 50%
    assert is_response(phq9, 20, 11) is False
    assert is_remission(phq9, 4) is True
    assert is_remission(phq9, 5) is False
    assert change_from_baseline(phq9, 20, 10) == -50.0
    assert change_from_baseline(phq9, 10, 15) == 50.0


def test_percent_response_is_undefined_from_a_baseline_of_zero(instruments):
    phq9 = instruments["phq9"]
    assert is_response(phq9, 0, 0) is None
    with pytest.raises(InstrumentError, match="baseline of 0"):
        change_from_baseline(phq9, 0, 3)


def test_gad7_response_and_remission(instruments):
    gad7 = instruments["gad7"]
    assert is_response(gad7, 16, 8) is True
    assert is_response(gad7, 16, 9) is False
    assert (is_remission(gad7, 4), is_remission(gad7, 5)) == (True, False)


# --- PCL-5 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "band"), [(32, "below PTSD cut-off"), (33, "probable PTSD")])
def test_pcl5_provisional_cut_off_33(instruments, total, band):
    """A total of 31-33 suggests probable PTSD (Weathers 2013 / NCPTSD); PsiFlow uses 33."""
    pcl5 = instruments["pcl5"]
    assert score_instrument(pcl5, answers_totalling(pcl5, total)).band == band


def test_pcl5_cluster_scores_are_sums_of_their_items(instruments):
    """DSM-5 clusters B 1-5, C 6-7, D 8-14, E 15-20 (NCPTSD scoring)."""
    pcl5 = instruments["pcl5"]
    score = score_instrument(pcl5, {item.id: 2 for item in pcl5.items})
    assert score.total == 40
    assert score.subscales == {
        "intrusion": 10,
        "avoidance": 4,
        "cognition_mood": 14,
        "arousal": 12,
    }


def test_pcl5_states_a_clinically_meaningful_change_and_no_remission(instruments):
    """NCPTSD: a drop of 10-20 points is clinically meaningful change (10 the minimum); the
    PCL-5 defines no response percentage and no remission."""
    pcl5 = instruments["pcl5"]
    assert pcl5.response_label == "clinically meaningful change"
    assert (is_response(pcl5, 60, 50), is_response(pcl5, 60, 51)) == (True, False)
    assert is_remission(pcl5, 10) is None
    assert "10-20 points" in pcl5.response_definition and pcl5.remission_definition == ""


# --- WHO-5 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "percentage", "band", "level"),
    [
        (0, 0, "likely depression", 2),
        (7, 28, "likely depression", 2),  # <= 28: likely depression (Topp 2015)
        (8, 32, "poor well-being", 1),
        (12, 48, "poor well-being", 1),  # <= 50: poor well-being (Topp 2015)
        (13, 52, "above screening cut-off", 0),
        (25, 100, "above screening cut-off", 0),
    ],
)
def test_who5_total_is_raw_score_times_four(instruments, raw, percentage, band, level):
    """The raw score 0-25 is multiplied by 4 to give a percentage 0-100 (Topp 2015)."""
    who5 = instruments["who5"]
    score = score_instrument(who5, answers_totalling(who5, raw))
    assert (score.total, score.band, score.band_level) == (percentage, band, level)


def test_who5_higher_is_better_response_and_no_remission(instruments):
    """Response: >= 10 percentage points better (Topp 2015); a well-being scale has no
    remission."""
    who5 = instruments["who5"]
    assert who5.higher_is_better
    assert is_response(who5, 40, 52) is True
    assert is_response(who5, 40, 50) is True  # exactly 10 points
    assert is_response(who5, 40, 48) is False
    assert is_response(who5, 52, 40) is False  # worse, not better
    assert is_response(who5, 0, 12) is True  # points need no baseline above 0
    assert is_remission(who5, 80) is None and who5.remission_definition == ""


def test_every_rule_the_outcome_table_states_carries_its_definition(instruments):
    for instrument in instruments.values():
        has_response = instrument.response_percent or instrument.response_points
        has_remission = instrument.remission_below or instrument.remission_above
        assert bool(instrument.response_definition) == bool(has_response), instrument.id
        assert bool(instrument.remission_definition) == bool(has_remission), instrument.id
    assert instruments["madrs"].remission_definition.startswith("a total of 10 or less")


# --- C-SSRS screener -----------------------------------------------------------------------

NO_IDEATION = {"q1": 0, "q2": 0, "q6": 0}


@pytest.mark.parametrize(
    ("answers", "risk", "alert"),
    [
        (NO_IDEATION, "none", False),
        ({**NO_IDEATION, "q1": 1}, "low", False),
        ({"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q5": 0, "q6": 0}, "low", False),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 0, "q5": 0, "q6": 0}, "moderate", True),
        ({"q1": 1, "q2": 1, "q3": 1, "q4": 1, "q5": 0, "q6": 0}, "high", True),
        ({"q1": 1, "q2": 1, "q3": 0, "q4": 0, "q5": 1, "q6": 0}, "high", True),
        ({**NO_IDEATION, "q6": 1}, "moderate", True),  # behaviour over 3 months ago
        ({**NO_IDEATION, "q6": 2}, "high", True),  # behaviour in the past 3 months
        ({**NO_IDEATION, "q1": 1, "q6": 1}, "moderate", True),  # the highest level wins
    ],
)
def test_cssrs_triage_levels(instruments, answers, risk, alert):
    """Columbia Lighthouse Project triage for the Screen Version - Recent: Q1/Q2 low; Q3 or
    lifetime behaviour moderate; Q4, Q5 or behaviour in the past 3 months high. The
    supervisor is alerted at moderate and above."""
    score = score_instrument(instruments["cssrs"], answers)
    assert (score.risk, score.alert) == (risk, alert)
    assert score.band is None


def test_cssrs_questions_3_to_5_are_required_when_question_2_is_yes(instruments):
    with pytest.raises(InstrumentError, match="q3"):
        score_instrument(instruments["cssrs"], {"q1": 1, "q2": 1, "q6": 0})


def test_cssrs_answer_given_after_a_skip_still_counts(instruments):
    """A "yes" to Q4 is never discarded because Q2 was "no"."""
    score = score_instrument(instruments["cssrs"], {**NO_IDEATION, "q4": 1})
    assert score.risk == "high"


def test_cssrs_question_6_is_always_asked(instruments):
    with pytest.raises(InstrumentError, match="q6"):
        score_instrument(instruments["cssrs"], {"q1": 0, "q2": 0})


# --- totals-only instruments ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "normal"), (6, "normal"), (7, "mild"), (19, "mild"), (20, "moderate")]
    + [(34, "moderate"), (35, "severe"), (60, "severe")],
)
def test_madrs_bands(instruments, total, band):
    """0-6 normal, 7-19 mild, 20-34 moderate, 35-60 severe (Snaith et al. 1986)."""
    assert record_totals(instruments["madrs"], total).band == band


def test_madrs_response_and_remission(instruments):
    """Response >= 50% reduction; remission <= 10 (Goodwin et al. 2022)."""
    madrs = instruments["madrs"]
    assert is_response(madrs, 30, 15) is True
    assert is_response(madrs, 30, 16) is False
    assert (is_remission(madrs, 10), is_remission(madrs, 11)) == (True, False)


@pytest.mark.parametrize("total", [12.5, 6.5])
def test_madrs_total_must_be_a_whole_number(instruments, total):
    """MADRS items are whole numbers 0-6, so a fractional total is a typing error."""
    with pytest.raises(InstrumentError, match="whole number"):
        record_totals(instruments["madrs"], total)


def test_meq30_complete_mystical_experience(instruments):
    """Complete: >= 60% of the maximum (3.0 of 5) on all four subscales (Barrett 2015)."""
    meq30 = instruments["meq30"]
    full = {"mystical": 3.0, "positive_mood": 4.2, "transcendence": 3.5, "ineffability": 5.0}
    score = record_totals(meq30, 3.6, full)
    assert score.subscales == full and score.band is None
    assert is_complete_experience(meq30, full) is True
    assert is_complete_experience(meq30, {**full, "transcendence": 2.9}) is False
    partial = {k: v for k, v in full.items() if k != "ineffability"}
    assert is_complete_experience(meq30, partial) is None
    assert is_complete_experience(instruments["ceq"], {}) is None  # no such rule


def test_ebi_records_a_mean_and_has_no_outcome_rules(instruments):
    ebi = instruments["ebi"]
    assert record_totals(ebi, 62.5).total == 62.5
    assert is_response(ebi, 20, 80) is None
    assert is_remission(ebi, 80) is None


def test_ceq_subscales_are_checked(instruments):
    ceq = instruments["ceq"]
    assert record_totals(ceq, 1.2, {"fear": 2.0, "paranoia": 0}).subscales == {
        "fear": 2.0,
        "paranoia": 0.0,
    }
    with pytest.raises(InstrumentError, match="unknown subscale 'anger'"):
        record_totals(ceq, 1.2, {"anger": 1.0})
    with pytest.raises(InstrumentError, match="subscale grief 5.5 is outside 0-5"):
        record_totals(ceq, 1.2, {"grief": 5.5})


# --- scoring errors ------------------------------------------------------------------------


def test_missing_item_is_named(instruments):
    answers = answers_totalling(instruments["phq9"], 10)
    del answers["q9"]
    with pytest.raises(InstrumentError, match="item q9 is not answered"):
        score_instrument(instruments["phq9"], answers)


@pytest.mark.parametrize("value", [4, -1, True, "2", 1.0])
def test_value_not_offered_is_named(instruments, value):
    answers = {**answers_totalling(instruments["phq9"], 0), "q3": value}
    with pytest.raises(InstrumentError, match="item q3: .* is not an offered value"):
        score_instrument(instruments["phq9"], answers)


def test_unknown_item_id_is_rejected(instruments):
    answers = {**answers_totalling(instruments["phq9"], 0), "q10": 1}
    with pytest.raises(InstrumentError, match="unknown item 'q10'"):
        score_instrument(instruments["phq9"], answers)


@pytest.mark.parametrize(("ident", "total"), [("madrs", 61), ("madrs", -1), ("ebi", 100.5)])
def test_total_out_of_range_is_rejected(instruments, ident, total):
    with pytest.raises(InstrumentError, match="is outside"):
        record_totals(instruments[ident], total)


def test_totals_are_numbers_not_booleans(instruments):
    with pytest.raises(InstrumentError, match="expected a number"):
        record_totals(instruments["madrs"], True)


def test_each_kind_of_instrument_is_scored_its_own_way(instruments):
    with pytest.raises(InstrumentError, match="use score_instrument"):
        record_totals(instruments["phq9"], 10)
    with pytest.raises(InstrumentError, match="use record_totals"):
        score_instrument(instruments["madrs"], {})


def test_outcome_totals_are_range_checked(instruments):
    with pytest.raises(InstrumentError, match="current total 28 is outside 0-27"):
        is_response(instruments["phq9"], 20, 28)


# --- validation on load --------------------------------------------------------------------

VALID = """\
id = "demo"
name = "Demo scale"
short_name = "DEMO"
source = "Test fixture"
copyright = "Test fixture"
reproduce_items = true
higher_is_better = false
total_min = 0
total_max = 4

[[options]]
value = 0
label = "No"

[[options]]
value = 2
label = "Yes"

[[items]]
id = "a"
text = "First"

[[items]]
id = "b"
text = "Second"

[[bands]]
min = 0
max = 1
label = "low"

[[bands]]
min = 2
max = 4
label = "high"
"""


def write(tmp_path, text, name="demo.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_fixture_loads(tmp_path):
    demo = load_instrument(write(tmp_path, VALID))
    assert [item.id for item in demo.items] == ["a", "b"]
    assert score_instrument(demo, {"a": 2, "b": 0}).band == "high"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ('name = "Demo scale"\n', "", "name", "missing"),
        ("reproduce_items = true", "reproduce_items = 1", "reproduce_items", "true or false"),
        ("total_max = 4", "total_max = true", "total_max", "got a boolean"),
        ("value = 2", "value = true", "options[1].value", "expected an integer, got a boolean"),
        ("value = 2", "value = 0", "options[1].value", "0 is offered twice"),
        ('label = "Yes"', 'label = "No"', "options[1].label", "offered twice"),
        ('id = "b"', 'id = "a"', "items[1].id", "duplicate item id 'a'"),
        ('id = "b"', 'id = "B!"', "items[1].id", "is not an id"),
        ('text = "Second"', 'text = ""', "items[1].text", "non-empty string"),
        ("min = 2\nmax = 4", "min = 3\nmax = 4", "bands[1].min", "3 leaves a gap"),
        ("min = 2\nmax = 4", "min = 1\nmax = 4", "bands[1].min", "1 overlaps"),
        ("min = 2\nmax = 4", "min = 2\nmax = 3", "bands[1].max", "does not reach total_max"),
        ("min = 0\nmax = 1", "min = 1\nmax = 1", "bands[0].min", "expected 0"),
        ("min = 0\nmax = 1", "min = 0\nmax = 1.5", "bands[0].max", "expected an integer"),
        ('label = "high"', 'label = "low"', "bands", "band labels repeat"),
        ("total_max = 4", "total_max = 5", "total_max", "items give 0-4"),
        ('id = "demo"', 'id = "other"', "id", "does not match the file name"),
        ("higher_is_better = false", "higher_is_better = false\ncolour = 1", "colour", "unknown"),
        ('text = "First"', 'text = "First"\nhint = "x"', "items[0].hint", "unknown key"),
        ("reproduce_items = true", "reproduce_items = false", "items", "must not be shipped"),
        ("total_max = 4", "total_max = 4\nremission_above = 2", "remission_above", "does not fit"),
        ("total_max = 4", "total_max = 4\nremission_below = 9", "remission_below", "outside 0-4"),
        ("total_max = 4", "total_max = 4\nresponse_percent = 0", "response_percent", "above 0"),
        ("total_max = 4", 'total_max = 4\nscoring = "mean"', "scoring", "not one of"),
    ],
)
def test_invalid_file_is_rejected_naming_file_and_key(tmp_path, old, new, where, message):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(InstrumentError) as raised:
        load_instrument(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: {where}: "), text
    assert message in text


def test_optional_unless_must_name_an_earlier_item(tmp_path):
    text = VALID.replace(
        'text = "First"', 'text = "First"\noptional_unless = { item = "b", value = 2 }'
    )
    text = text.replace("total_max = 4", 'total_max = 3\nscoring = "risk"')
    text = text.replace("max = 4", "max = 3")
    path = write(tmp_path, text)
    with pytest.raises(InstrumentError, match=r"items\[0\]\.optional_unless\.item: 'b'"):
        load_instrument(path)


def test_skip_rules_are_refused_in_summed_instruments(tmp_path):
    """An omitted answer would count as 0 in a sum, so only risk scoring may skip items."""
    text = VALID.replace(
        'text = "Second"', 'text = "Second"\noptional_unless = { item = "a", value = 2 }'
    )
    with pytest.raises(InstrumentError, match="optional_unless needs scoring = 'risk'"):
        load_instrument(write(tmp_path, text))


def test_risk_scored_instrument_must_say_when_to_alert(tmp_path):
    text = VALID.replace("total_max = 4", 'total_max = 3\nscoring = "risk"')
    text = text.split("[[bands]]")[0]
    text += '\n[[risk_rules]]\nitem = "a"\nvalue = 2\nlevel = "high"\n'
    with pytest.raises(InstrumentError, match="alert_at: None is not one of low, moderate, high"):
        load_instrument(write(tmp_path, text))
    demo = load_instrument(write(tmp_path, text.replace("scoring", 'alert_at = "high"\nscoring')))
    assert score_instrument(demo, {"a": 2, "b": 0}).alert is True


def test_risk_rule_must_use_an_offered_value(tmp_path):
    text = VALID.replace("total_max = 4", 'total_max = 3\nscoring = "risk"')
    text = text.replace("max = 4", "max = 3")
    text += '\n[[risk_rules]]\nitem = "a"\nvalue = 1\nlevel = "high"\n'
    with pytest.raises(InstrumentError, match=r"risk_rules\[0\]\.value: 1 is not an option of a"):
        load_instrument(write(tmp_path, text))


def test_subscale_range_must_match_its_items(tmp_path):
    subscale = '\n[[subscales]]\nid = "first"\nlabel = "First"\nmin = 0\nmax = 3\nitems = ["a"]\n'
    with pytest.raises(InstrumentError, match=r"subscales\[0\]\.max: items give 0-2"):
        load_instrument(write(tmp_path, VALID + subscale))


def test_subscale_items_must_exist(tmp_path):
    subscale = '\n[[subscales]]\nid = "first"\nlabel = "First"\nmin = 0\nmax = 2\nitems = ["z"]\n'
    with pytest.raises(InstrumentError, match=r"subscales\[0\]\.items: unknown item 'z'"):
        load_instrument(write(tmp_path, VALID + subscale))


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "id = \n")
    with pytest.raises(InstrumentError, match="demo.toml: not valid TOML"):
        load_instrument(path)


def test_load_instruments_reads_a_directory(tmp_path):
    write(tmp_path, VALID)
    assert list(load_instruments(tmp_path)) == ["demo"]


@pytest.mark.parametrize(("q9", "alerts"), [(0, False), (1, True), (3, True)])
def test_phq9_item_9_alerts_whatever_the_total(instruments, q9, alerts):
    """Every item 0 but item 9: a minimal total still alerts and asks for the C-SSRS."""
    phq9 = instruments["phq9"]
    answers = {item.id: 0 for item in phq9.items} | {"q9": q9}
    score = score_instrument(phq9, answers)
    assert (score.total, score.band) == (q9, "minimal")
    assert score.alert is alerts
    assert [hit.asks_for for hit in score.item_alerts] == (["cssrs"] if alerts else [])


def test_an_item_rule_must_name_a_known_item_and_a_reachable_value(tmp_path):
    base = (default_instrument_dir() / "phq9.toml").read_text()
    for rule, error in (
        ('item = "q10"\nat_least = 1', "unknown item 'q10'"),
        ('item = "q9"\nat_least = 4', "no option of q9 reaches 4"),
    ):
        path = tmp_path / "phq9.toml"
        text = base.split("[[item_rules]]")[0] + f"[[item_rules]]\n{rule}\nmessage = 'x'\n"
        path.write_text(text)
        with pytest.raises(InstrumentError, match=error):
            load_instrument(path)
