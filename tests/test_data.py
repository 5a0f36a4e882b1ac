"""The media shipped in tests/data: each file is listed in its README (source, licence), none is
research-licensed, and the synthetic speech is what make_synthetic.sh says it is."""

import re

from tests.conftest import DATA


def test_every_shipped_file_is_listed_and_licence_clean():
    readme = (DATA / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \| ([\d,]+) \|", readme, flags=re.M))
    files = {p for p in DATA.rglob("*") if p.is_file() and p.parent != DATA}
    assert files, "tests/data is empty"
    for p in files:
        assert not re.match(r"(mead|emodb)_", p.name, flags=re.I), f"{p}: research-licensed media in the repository"
        assert (p.name, f"{p.stat().st_size:,}") in listed, f"{p.name} ({p.stat().st_size:,} bytes) not in tests/data/README.md"
    assert {name for name, _ in listed} == {p.name for p in files}, "README lists files that are not there"


def test_synthetic_speech_script_names_its_files():
    script = (DATA / "make_synthetic.sh").read_text()
    for p in (DATA / "speech").glob("synth_*.wav"):
        assert f"-w {p.name}" in script, p.name
