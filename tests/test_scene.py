"""Shot changes come from PySceneDetect: the same cuts the hand-written keyframe-histogram detector found
on the shipped media (its outputs frozen here before the switch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tools.index.decode import shot_changes
from tools.perception.scene import shot_cuts

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "tests/data/faces"

# cut times (s) the hand-written detector (HSV histograms, Bhattacharyya > 0.35) gave on these files
FROZEN = {"face_noface.mov": [3.11], "noface_face.mov": [3.722, 4.745], "single_face.mp4": [],
          "WolfgangLanger_Pexels.mp4": [], "no_face.mp4": []}


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_pyscenedetect_finds_the_frozen_cuts(name):
    assert shot_changes(FACES / name) == pytest.approx(FROZEN[name], abs=0.05)


def test_one_continuous_shot_has_no_cut():
    assert shot_changes(ROOT / "assets/sample_pexels.mp4") == []


def test_shot_cuts_on_frames_black_to_white_is_one_cut():
    black, white = np.zeros((36, 64, 3), np.uint8), np.full((36, 64, 3), 255, np.uint8)
    frames = [(0.0, black), (1.0, black), (2.0, white), (3.0, white)]
    assert shot_cuts(frames) == [2.0]
    assert shot_cuts(frames[:2]) == []


def test_no_hand_written_histogram_detector_is_left():
    src = (ROOT / "tools/index/decode.py").read_text()
    assert "compareHist" not in src and "calcHist" not in src
