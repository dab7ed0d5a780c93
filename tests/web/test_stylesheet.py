"""The stylesheet is the project's own: every rule closes, or every rule after it is lost."""

from pathlib import Path

import psiflow

STYLESHEET = Path(psiflow.__file__).parent / "static" / "psiflow.css"


def test_every_brace_in_the_stylesheet_closes_before_the_next_block():
    depth = 0
    for number, line in enumerate(STYLESHEET.read_text().splitlines(), 1):
        if line.strip().startswith("/*"):
            assert depth == 0, f"line {number}: a section starts inside an unclosed block"
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"line {number}: a brace closes nothing"
    assert depth == 0, "the stylesheet ends inside an unclosed block"
