"""One definition per concept (issue 29): each test fails when a second, possibly disagreeing, definition
appears somewhere in the code."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from tools import labels
from tools.perception import emotion

ROOT = Path(__file__).resolve().parents[1]
CODE = [p for d in ("agents", "tools", "graphs", "evals", "ui", "scripts") for p in (ROOT / d).rglob("*.py")]


def _trees():
    for p in CODE:
        try:
            yield p, ast.parse(p.read_text())
        except SyntaxError:  # a file being edited by someone else: not this test's business
            continue


# ------------------------------------------------------------------------------ AU prototypes


def _au_tables(tree: ast.AST) -> list[int]:
    """Line numbers of dict literals mapping >= 3 basic labels to dicts of AU codes."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        hits = 0
        for k, v in zip(node.keys, node.values):
            if (isinstance(k, ast.Constant) and k.value in labels.BASIC and isinstance(v, ast.Dict)
                    and any(isinstance(x, ast.Constant) and str(x.value).startswith("AU") for x in v.keys)):
                hits += 1
        if hits >= 3:
            out.append(node.lineno)
    return out


def test_au_prototypes_are_written_once():
    """The AU prototypes of the basic emotions are one table, tools/labels.AU_PROTOTYPES: the emotion tool's
    PROTOTYPES is that table, and no other module writes label -> AU weights."""
    found = {str(p.relative_to(ROOT)): lines for p, tree in _trees() if (lines := _au_tables(tree))}
    assert list(found) == ["tools/labels.py"] and len(found["tools/labels.py"]) == 1, found
    assert emotion.PROTOTYPES is labels.AU_PROTOTYPES


def test_profiles_take_their_aus_from_the_prototypes():
    """Each label's affect-vector profile holds exactly its family's prototype AUs (scaled by AU_SHARE):
    Fear's wide eyes (AU5) are in both, the disagreement the issue found."""
    for lab, prof in labels.PROFILES.items():
        aus = {k: v for k, v in prof.items() if k.startswith("AU")}
        share = labels.AU_SHARE.get(lab, 1.0)
        want = {a: pytest.approx(w * share) for a, w in labels.AU_PROTOTYPES.get(labels.family(lab), {}).items()}
        assert aus == (want if share > 0 else {}), lab
    assert labels.PROFILES["Fear"]["AU5"] == labels.AU_PROTOTYPES["Fear"]["AU5"]


# -------------------------------------------------------------------- moments a question asks for


def test_the_most_moments_a_question_asks_for_is_one_number():
    """agents/schemas.MAX_MOMENTS bounds Intent.n_moments, and the question reader reads the same number;
    no other module defines it (agents/arc_words' per-person summary length is another concept, named
    MOMENTS_PER_PERSON)."""
    from agents import schemas
    lim = [m.le for m in schemas.Intent.model_fields["n_moments"].metadata if hasattr(m, "le")]
    assert lim == [schemas.MAX_MOMENTS]
    if importlib.util.find_spec("agents.intent.reading") is not None:
        from agents.intent import reading
        assert reading.MAX_MOMENTS is schemas.MAX_MOMENTS
    defs = [str(p.relative_to(ROOT)) for p in CODE
            if re.search(r"^MAX_MOMENTS\s*[:=]\s*[^=\n]*\d", p.read_text(), re.M)]
    assert defs == ["agents/schemas.py"], defs
    n_moments_literal = [str(p.relative_to(ROOT)) for p in CODE
                         if re.search(r"n_moments\W.{0,40}\ble=\d", p.read_text())]
    assert n_moments_literal == []


# ------------------------------------------------------------------ how a question is read


def test_ask_dir_reads_the_question_like_ask_video():
    """`affectlens ask DIR` starts no language model to read the question (the default elsewhere gives the
    LLM no vote), and no code gives the LLM a vote by a literal weight."""
    from ui import cli
    import inspect
    src = inspect.getsource(cli._ask_library)
    assert "client_from_settings" not in src and "llm=" not in src
    from tools.settings import Settings
    s = Settings()
    assert not hasattr(s, "intent_llm_weight") and not s.llm_role_on("interpret") and not s.llm_needed()
    votes = [str(p.relative_to(ROOT)) for p in CODE if re.search(r"intent_llm_weight", p.read_text())]
    assert votes == []  # no setting gives an LLM a vote on how a question is read


# ------------------------------------------------------------------ index defaults


def test_index_config_defaults_are_the_settings_defaults():
    """IndexConfig's defaults (frame rate, window, frame size, ASR models) are read from tools/settings.py, so
    a default changed there (as the ASR default did: tiny.en -> tiny.en+base) cannot leave a second, stale
    copy in the index key."""
    from tools.index.store import IndexConfig
    from tools.settings import Settings
    fresh = IndexConfig.from_settings(Settings()).model_dump(exclude={"backends"})
    assert IndexConfig().model_dump(exclude={"backends"}) == fresh
    src = (ROOT / "tools/index/store.py").read_text()
    assert not re.search(r"^\s+(sample_fps|window_s|max_side|whisper)\s*:\s*\w+\s*=\s*[\"\d]", src, re.M)
