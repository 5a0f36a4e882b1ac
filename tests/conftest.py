"""Shared test fixtures: real media from ../shared/media (tests skip with a reason when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("AFFECTLENS_TEST_MEDIA", ROOT.parent / "shared" / "media"))


@pytest.fixture(scope="session")
def media() -> Path:
    if not (MEDIA / "faces").is_dir():
        pytest.skip(f"real test media not found at {MEDIA} (set AFFECTLENS_TEST_MEDIA)")
    return MEDIA


@pytest.fixture(scope="session")
def faces(media: Path) -> Path:
    return media / "faces"


@pytest.fixture(scope="session")
def speech(media: Path) -> Path:
    return media / "speech"
