"""Video libraries: a directory of real clips indexed as Ray tasks on a local Ray instance into one
shared cache, resumed (a second run finds everything cached), and a library-level question whose
results name the right video."""

from __future__ import annotations

import os
import shutil

import pytest

from tools.errors import MediaError
from graphs.library import ask_library
from tools.library import LibrarySearch, find_videos, index_library
from tools.settings import Settings
from ui.cli import main as cli


@pytest.fixture(scope="module")
def library(faces, speech, tmp_path_factory):
    """Three real clips of different kinds: a smiling face, an animation without a face, English speech."""
    d = tmp_path_factory.mktemp("library")
    for src in (faces / "single_face.mp4", faces / "no_face.mp4", speech / "synth_en.wav"):
        shutil.copy(src, d / src.name)
    (d / "notes.txt").write_text("not a video")
    return d


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return Settings(cache_dir=tmp_path_factory.mktemp("shared_cache"))


@pytest.fixture(scope="module")
def indexed(library, shared):
    done = []
    summary = index_library([library], shared, executor="ray", num_cpus=2,
                            on_done=lambda i, n, job: done.append((i, n, job.status)))
    return summary, done


def test_find_videos_takes_files_and_directories(library):
    vids = find_videos([library, library / "single_face.mp4"])
    assert [v.name for v in vids] == ["no_face.mp4", "single_face.mp4", "synth_en.wav"]
    with pytest.raises(MediaError):
        find_videos([library / "missing.mp4"])


def test_ray_indexes_each_video_as_a_task_into_the_shared_cache(indexed, shared):
    summary, done = indexed
    assert summary.executor == "ray" and len(summary.jobs) == 3
    assert all(j.status == "indexed" and j.windows > 0 for j in summary.jobs), summary.jobs
    for j in summary.jobs:  # each task's index lies in the configured cache and is marked complete
        assert j.folder.startswith(str(shared.cache_dir)) and os.path.exists(os.path.join(j.folder, "done.json"))
    assert [(i, n) for i, n, _ in done] == [(1, 3), (2, 3), (3, 3)]  # progress, one line per video
    assert "3 videos: 3 indexed" in summary.line()


def test_a_second_run_resumes_from_the_cache(indexed, library, shared):
    again = index_library([library], shared, executor="local")
    assert [j.status for j in again.jobs] == ["cached"] * 3
    assert [j.windows for j in again.jobs] == [j.windows for j in indexed[0].jobs]


def test_library_question_names_the_right_video(indexed, library, shared):
    lib = LibrarySearch([library], shared)
    assert len(lib.videos) == 3 and lib.missing == []
    ans = ask_library([library], "when does someone talk about the train station?", shared)
    assert os.path.basename(ans.hits[0].video) == "synth_en.wav", ans.hits
    ans = ask_library([library], "when does he smile?", shared)
    assert ans.emotions == ["Joy"]
    assert os.path.basename(ans.hits[0].video) == "single_face.mp4", ans.hits
    assert ans.videos == 3 and ans.windows == len(lib.records)


def test_cli_asks_a_directory(indexed, library, shared, capsys, monkeypatch):
    monkeypatch.setenv("AFFECTLENS_CACHE_DIR", str(shared.cache_dir))
    monkeypatch.setenv("AFFECTLENS_LLM_URL", "http://127.0.0.1:9/v1")  # no LLM: the lexicon reads the intent
    from tools.settings import get_settings
    get_settings.cache_clear()
    try:
        assert cli(["ask", str(library), "when does he smile?"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "3 videos" in out and "single_face.mp4" in out.splitlines()[1]


def test_library_matches_descriptions_with_the_picture_words(indexed, library, shared):
    """Across videos as in one: a description is matched against the descriptors with the picture words
    (shows.faiss), an emotional question against those without (text.faiss)."""
    lib = LibrarySearch([library], shared)
    q = "the part with bright colourful graphics and no people"
    assert os.path.basename(lib.search(q, [], k=1)[0].video) == "no_face.mp4"

    class Refuse:
        def __init__(self, what):
            self.what = what

        def search(self, *a, **k):
            raise AssertionError(f"{self.what} was searched")

    text = lib.text
    lib.text = Refuse("the emotional wording index")
    assert lib.search(q, [], k=1)
    lib.text, lib.shows = text, Refuse("the picture-words index")
    assert lib.search("when does he smile?", ["Joy"], k=1)
