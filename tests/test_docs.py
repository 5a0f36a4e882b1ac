"""The README is a front door (issue 29, item 7): short, the two set-up commands on its first screen, and
every document it points to exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_is_short_and_opens_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    first_screen = "\n".join(lines[:25])
    assert "make demo" in first_screen and "make test" in first_screen


def test_readme_links_point_to_files_that_exist():
    text = (ROOT / "README.md").read_text()
    links = set(re.findall(r"\]\(([^)#:]+)\)", text))
    for doc in ("docs/architecture.md", "docs/results.md", "docs/ui.md", "docs/deployment.md", "docs/models.md",
                "docs/reader.md", "CHANGELOG.md"):
        assert doc in links, doc
    assert [x for x in links if not (ROOT / x).exists()] == []


def test_every_measured_section_names_its_command():
    """docs/results.md: each measured section says how to reproduce it (a script, a test or an affectlens command)."""
    text = (ROOT / "docs/results.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) >= 4
    for s in sections:
        assert re.search(r"scripts/|tests/|affectlens |pytest", s), s.splitlines()[0]
