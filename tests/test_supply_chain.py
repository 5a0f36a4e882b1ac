"""Supply chain (issue 29, item 4): the lock file pins every package with its file's sha256, `make install`
refuses anything else, and the direct dependencies are the locked ones."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _requirements() -> list[str]:
    """The lock's requirements, each with its continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    return [" ".join(x.split()) for x in joined.splitlines() if x.strip() and not x.strip().startswith("#")]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_lock_line_is_pinned_with_a_sha256():
    reqs = _requirements()
    assert len(reqs) > 100
    bad = [r for r in reqs if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^\s]+( --hash=sha256:[0-9a-f]{64})+", r)]
    assert bad == [], f"lock lines without an exact pin and a sha256 (run scripts/lock_hashes.py): {bad[:5]}"
    names = [_norm(r.split("==")[0]) for r in reqs]
    assert len(names) == len(set(names)), "a package is pinned twice"


def test_make_install_requires_the_hashes():
    make = (ROOT / "Makefile").read_text()
    lines = [x for x in make.splitlines() if "-r requirements/lock.txt" in x]
    assert lines and all("--require-hashes" in x and "--no-deps" in x for x in lines)


def test_direct_dependencies_are_the_locked_versions():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = dict(r.split(" ")[0].split("==") for r in _requirements())
    locked = {_norm(k): v for k, v in locked.items()}
    for d in deps:
        name, ver = d.split("==")
        assert locked.get(_norm(name)) == ver, f"{d} is not the version in requirements/lock.txt"
