"""The board shows the longest-waiting patients of each phase and links to the rest."""

from psiflow.domain.phases import Phase
from tests.factories import TEST_PASSWORD, gen_course, gen_patient


def test_a_board_column_shows_its_first_cards_and_links_to_all(make_app, team, db):
    for name in ("Alder Example", "Bramble Sample", "Cedar Notreal"):
        gen_course(gen_patient(team["clinician"], display_name=name), Phase.SCREENING)
    client = make_app(BOARD_CARDS_PER_PHASE=2).test_client()
    client.post("/login", data={"email": team["clinician"].email, "password": TEST_PASSWORD})
    html = client.get("/").get_data(as_text=True)
    assert sum(name in html for name in ("Alder", "Bramble", "Cedar")) == 2
    assert "All 3 in Screening" in html
    listing = client.get("/?phase=screening").get_data(as_text=True)
    assert all(name in listing for name in ("Alder", "Bramble", "Cedar"))
