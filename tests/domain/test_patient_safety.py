"""The patient header's interacting medicines: protocol data matched against a medicine list."""

import pytest

from psiflow.domain.patient_safety import current_medicines
from psiflow.domain.protocols import (
    InteractingMedicine,
    ProtocolError,
    default_protocol_dir,
    load_protocol,
    load_protocols,
)

MAOI = InteractingMedicine("maoi", "MAO inhibitor", ("maoi", "phenelzine"), "Serotonin toxicity.")
LITHIUM = InteractingMedicine("lithium", "Lithium", ("lithium",), "Seizures reported.")


def test_a_medicine_naming_a_listed_drug_is_marked_with_its_class():
    lines = ["Phenelzine 15 mg three times daily", "Levothyroxine 75 mcg", "LITHIUM carbonate"]
    found = current_medicines(lines, (MAOI, LITHIUM))
    assert [m.text for m in found] == lines  # the order the clinician wrote
    assert [m.interacts_with for m in found] == [(MAOI,), (), (LITHIUM,)]


def test_names_match_whole_words_only():
    # "maoi" inside another word is not an MAO inhibitor.
    assert current_medicines(["Kamaoilo tea"], (MAOI,))[0].interacts_with == ()
    assert current_medicines(["an MAOI (unnamed)"], (MAOI,))[0].interacts_with == (MAOI,)


def test_without_a_protocol_nothing_is_highlighted():
    assert current_medicines(["Sertraline 50 mg"], ())[0].interacts_with == ()


@pytest.mark.parametrize(
    "protocol_id, medicine, expected",
    [
        ("mdma-three-session", "Sertraline 50 mg daily", "serotonergic_antidepressants"),
        ("mdma-three-session", "Phenelzine 15 mg", "maoi"),
        ("mdma-three-session", "Lithium carbonate 400 mg", "lithium"),
        ("psilocybin-single-dose", "Lithium 300 mg", "lithium"),
        ("esketamine-monitoring", "Lorazepam 0.5 mg as needed", "cns_depressants"),
        ("ketamine-assisted-psychotherapy", "Methylphenidate 10 mg", "sympathomimetics"),
    ],
)
def test_shipped_protocols_list_the_medicines_their_substance_interacts_with(
    protocol_id, medicine, expected
):
    protocol = next(
        p for p in load_protocols(default_protocol_dir()).values() if p.id == protocol_id
    )
    (found,) = current_medicines([medicine], protocol.interacting_medicines)
    assert expected in [c.id for c in found.interacts_with]


def test_an_interacting_class_without_names_is_refused_with_file_and_key(tmp_path):
    source = (default_protocol_dir() / "mdma-three-session.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(source.replace('names = ["lithium"]', "names = []"))
    with pytest.raises(ProtocolError, match=r"broken.toml: interacting_medicines\[2\].names"):
        load_protocol(broken)
