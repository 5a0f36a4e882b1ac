"""The trained question reader (agents/intent): the shipped weights read ordinary questions and every
follow-up form into the structured reading, the remaining deterministic rules each do what they say, and the
graph routes by the reader (no keyword routing). Built from the corpus by `affectlens train-reader`."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from agents.intent import intent_from, read_question
from agents.intent.model import CORPUS_DIR, WEIGHTS_DIR
from agents.intent.reading import Reading
from agents.schemas import Intent
from tools.labels import family
from tools.schemas import PersonRef


def fam(r: Reading) -> str:
    return family(r.emotions[0]) if r.emotions else "none"


def test_the_ui_example_reads_as_joy():
    """'when does she cheer up?' (the UI's own example) was read as Sadness by the old readers."""
    r = read_question("when does she cheer up?")
    assert fam(r) == "Joy" and r.mode == "new" and r.person.kind == "pronoun"


@pytest.mark.parametrize("q, prev, mode", [
    ("why?", "when does she laugh?", "why"),
    ("are you sure?", "when is he angry?", "why"),
    ("show me another", "when does she laugh?", "next"),
    ("show me the next one", "find the saddest moment", "next"),
    ("the one before that", "when does he look scared?", "previous"),
    ("how does the mood change over the video?", None, "summary"),
    ("is she happier in the second half than in the first?", None, "compare"),
])
def test_follow_up_modes(q, prev, mode):
    assert read_question(q, prev).mode == mode


def test_a_switch_of_person_keeps_the_emotion():
    """'and him?' after a question about her laughing: a new search about him that keeps the emotion."""
    prev = read_question("when does she laugh?")
    r = read_question("and him?", "when does she laugh?")
    assert r.mode == "new" and r.person.kind == "pronoun" and "emotions" in r.keeps
    intent = intent_from(r, intent_from(prev))
    assert intent.emotions[:1] == ["Joy"] and intent.person.value == "him"


def test_the_other_guy_is_a_new_question_about_the_other_person():
    """'when does the other guy crack up?' was routed as 'show the next moment' by keyword. (The reader
    often hears no feeling in a follow-up that names a new one, e.g. 'crack up' after a question about anger:
    a known miss, docs/reader.md.)"""
    r = read_question("when does the other guy crack up?", "when does the woman get angry?")
    assert r.mode == "new" and (r.person.kind, r.person.value) == ("other", "man")


@pytest.mark.parametrize("q, value", [("and the other one?", ""), ("what about the other one?", ""),
                                      ("and the other guy?", "man"), ("and my other daughter?", "girl")])
def test_the_other_ones_gender_is_the_one_its_words_say(q, value):
    """The gender head gave "and the other one?" the value man (then "how does the man feel?" was taken
    for the previous turn's person); the other person's gender is kept only when a word of the question
    means it (QuestionReader._says)."""
    r = read_question(q, "when does the person on the left smile?")
    assert (r.person.kind, r.person.value) == ("other", value), r.person


@pytest.mark.parametrize("q, kind, value", [
    ("what about the woman?", "gender", "woman"),
    ("when does the man on the left get angry?", "side", "left"),
    ("when does person 2 smile?", "number", "2"),
    ("when does Anne-Marie laugh?", "name", "Anne-Marie"),        # a span is the question's own characters
    ("when do the kids get scared?", "role", "child"),             # the role head names it as the writers did
    ("when does the one asking the questions get annoyed?", "role", "interviewer"),
])
def test_person_references(q, kind, value):
    r = read_question(q, "when does he laugh?" if q.startswith("what about") else None)
    assert (r.person.kind, r.person.value) == (kind, value)


def test_channel_words_and_things_that_are_not_people():
    """"face or voice" asks for either channel; music or an animation is nobody (fourth writers' round)."""
    assert read_question("the nervous parts, face or voice").modality == "any"
    assert read_question("when does the soundtrack kick in?").person.kind == "none"
    assert read_question("when does she sound annoyed?").modality == "voice"


def test_look_alike_words_are_not_sides_or_times():
    r = read_question("what does he do right after she laughs?")
    assert r.person.kind != "side" and r.time.kind == "after"
    assert read_question("when does she start crying?").time.kind == "none"
    assert read_question("show me where nothing at all happens").count != "all"
    assert read_question("how does she look after he left the room?").person.kind != "side"


def test_counts_and_time_constraints():
    assert read_question("show me every time he laughs").count == "all"
    assert read_question("find two moments where she looks scared").count == 2
    assert read_question("when is he angry in the second half?").time.kind == "second_half"


def test_negation_excludes_the_denied_label():
    r = read_question("she isn't angry, just disappointed: where is that?")
    assert "Anger" not in r.emotions and fam(r) == "Sadness"


def test_presence_and_condition():
    assert read_question("when does he walk out of the room?").presence == "leaves"
    r = read_question("how does he react while she is crying?")
    assert r.condition is not None and r.condition.emotions and family(r.condition.emotions[0]) == "Sadness"


# ---------------------------------------------------------------- the deterministic rules that remain

@pytest.mark.xfail(strict=True, reason="known miss (docs/reader.md): the span tagger leans on the condition's own "
                   "word; 'while she is angry' is a condition, 'while she is furious' is not")
def test_a_condition_in_a_strong_word():
    r = read_question("when does the man on the right smile while she is furious?")
    assert r.condition is not None and r.condition.emotions == ["Anger"] and r.emotions == ["Joy"]


def test_rule_no_follow_up_without_a_previous_question():
    """A follow-up mode needs a previous question: without one the reading is a new question."""
    assert read_question("why?", None).mode == "new"


def test_rule_presence_question_names_no_feeling():
    """A presence reading with no emotion becomes a presence question; with an emotion on the voice it stays
    an emotion question with presence as a condition; 'present' is a description search."""
    base = Reading(q="x", presence="leaves")
    assert intent_from(base).presence_question
    heard = Reading(q="x", presence="absent", emotions=["Fear"], modality="voice")
    assert intent_from(heard).off_camera
    assert intent_from(Reading(q="x", presence="present")).presence is None


def test_rule_keeps_take_only_what_the_question_does_not_say():
    prev = Intent(emotions=["Anger"], person=PersonRef(kind="side", value="left"), search_text="angry left")
    r = Reading(q="what about sadness?", prev="when is the left one angry?", emotions=["Sadness"],
                keeps=["person", "emotions"])
    it = intent_from(r, prev)
    assert it.emotions == ["Sadness"] and it.person.value == "left" and it.search_text == "what about sadness?"
    bare = intent_from(Reading(q="and him?", prev="x", person=PersonRef(kind="pronoun", value="him"),
                               keeps=["emotions"]), prev)
    assert bare.emotions == ["Anger"] and bare.person.value == "him" and bare.search_text == "angry left"


# ---------------------------------------------------------------- the shipped weights and their build

def test_shipped_weights_were_built_from_the_shipped_corpus():
    from agents.intent.train import corpus_hash
    meta = json.loads((WEIGHTS_DIR / "reader.json").read_text())
    assert meta["corpus_sha256"] == corpus_hash(CORPUS_DIR)
    assert meta["n_train"] >= 5000


def test_span_shape_reads_the_taggers_marks():
    """The stacked span features: what the tagger's person words look like, and which clauses it marked."""
    from agents.intent.model import span_shape
    q = "when does the person labelled 2 look annoyed ?"
    tags = ["O", "O", "PER", "PER", "PER", "PER", "O", "O", "O"]
    assert span_shape(q, tags).tolist() == [1, 1, 0, 0, 1, 1, 0, 0, 0]
    assert span_shape("when does Priya laugh", ["O", "O", "PER", "O"]).tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 0]
    assert span_shape("he smiles while she cries", ["PER", "O", "O", "COND", "COND"]).tolist() == \
        [1, 0, 0, 1, 0, 0, 1, 0, 0]
    assert span_shape("when does she laugh", ["O", "O", "O", "O"]).tolist() == [0] * 9


def test_a_possessive_is_its_own_word_so_the_name_is_found():
    from agents.intent.model import tokens
    assert tokens("how does Lucia's mood change?") == ["how", "does", "Lucia", "'s", "mood", "change", "?"]
    assert tokens("she's sad, don't ask, at 4:15") == ["she", "'s", "sad", ",", "don't", "ask", ",", "at", "4:15"]
    assert tokens("Kenji’s face") == ["Kenji", "’s", "face"]
    assert tokens("when does Prof. Müller smile") == ["when", "does", "Prof", ".", "Müller", "smile"]


def test_a_role_written_in_other_words_is_tagged_where_the_question_names_it():
    """The writers wrote roles as dictionary words ("grandma" -> grandmother): the span tagger learns the
    question's own word (closest in meaning, cosine >= ALIGN_MIN); a value found nowhere leaves the line out
    of the tagger's training instead of marking the person's words as no person."""
    from agents.intent.model import align_people, span_tags
    from tools.retrieval import embedder
    mk = lambda q, v: Reading.model_validate({"q": q, "prev": None, "mode": "new", "emotions": [], "not": [],  # noqa: E731
                                              "valence": "any", "arousal": "any", "modality": "any", "count": 1,
                                              "person": {"kind": "role", "value": v}, "time": {"kind": "none", "value": ""},
                                              "condition": None, "presence": None, "topic": "", "keeps": []})
    rows = [mk("when did grandma get all teary?", "grandmother"), mk("my dad's face at the speech", "father"),
            mk("why that one?", "arbitrator")]
    aligned = align_people(rows, embedder().embed)
    assert span_tags(rows[0], aligned) == ["O", "O", "PER", "O", "O", "O", "O"]
    assert span_tags(rows[1], aligned)[1] == "PER"
    assert (rows[2].q, "arbitrator") not in aligned and span_tags(rows[2], aligned) is None


def test_rule_a_person_number_is_read_not_guessed():
    """Rule 5: the id of a person named by number comes from the digits or number word of the tagged words."""
    from agents.intent.model import person_number
    assert [person_number(w) for w in ("P10", "participant #4", "speaker 3 's", "speaker two", "the host")] == \
        ["10", "4", "3", "2", ""]
    r = read_question("is P4 nervous when the prototype loads?")
    assert (r.person.kind, r.person.value) == ("number", "4")


def test_rule_an_indefinite_person_is_anyone_of_them():
    """Rule 6: "a man" / "some guy" is anyone of that kind; "the man" is one person (tools/who.py asks back)."""
    for q in ("when does a man start shouting?", "some guy in the crowd looks furious, where"):
        r = read_question(q)
        assert (r.person.kind, r.person.value, r.person.indefinite) == ("gender", "man", True), q
    for q in ("when does the man start shouting?", "when does the woman look worried?"):
        assert read_question(q).person.kind == "gender" and not read_question(q).person.indefinite, q
    assert PersonRef(kind="gender", value="woman", indefinite=True).words() == "a woman"


def test_a_role_is_one_the_tagged_words_say_and_an_unseen_one_is_still_read():
    """The role head names only a role the tagged words say (ROLE_MATCH), so in a question about two people
    the tagged one is kept; a role or name word the tagger never saw is read from its PER marginal."""
    r = read_question("after the teacher walked out, did the student cry?")
    assert (r.person.kind, r.person.value) == ("role", "student")
    for q, kind, value in (("the part where the stagehand trips", "role", "stagehand"),
                           ("when does kofi laugh", "name", "kofi")):  # the tagger marks neither word
        r = read_question(q)
        assert (r.person.kind, r.person.value) == (kind, value), q


def test_training_builds_a_reader_that_reads(tmp_path):
    """`train-reader`'s code path on a small slice of the corpus: a reader is written (the same weights on a
    second run), loads without pickles, and reads a question."""
    from agents.intent.model import QuestionReader
    from agents.intent.train import corpus_by_writer
    rows = [r for rs in corpus_by_writer().values() for r in rs[:60]]
    QuestionReader(C=4.0).fit(rows, crf_path=tmp_path / "spans.crfsuite").save(tmp_path)
    again = QuestionReader(C=4.0).fit(rows, crf_path=tmp_path / "again" / "spans.crfsuite").save(tmp_path / "again")
    for name in ("heads.npz", "spans.crfsuite"):  # repeatable: the same corpus gives the same weights
        assert (tmp_path / name).read_bytes() == (again / name).read_bytes(), name
    r = QuestionReader.load(tmp_path).predict("when does she laugh?")
    assert r.mode in ("new", "next", "previous", "why", "summary", "compare")
    assert set(r.probs) and all(0 <= p <= 1 for p in r.probs.values())
    unsaved = QuestionReader(C=4.0).fit(rows[:200])  # cross-validation's readers: their tagger in a temp folder
    folder = Path(unsaved.crf_path).parent
    assert folder.exists() and unsaved.predict("when does he smile?").mode
    del unsaved
    gc.collect()
    assert not folder.exists()  # ... removed with the reader, not left in /tmp


def test_eval_intent_blind_prints_only_aggregates(capsys):
    from ui.cli import main
    assert main(["eval-intent", "--blind"]) == 0
    out = capsys.readouterr().out
    assert "label_family" in out and "| mode |" in out
    blind = [json.loads(line)["q"] for line in
             (WEIGHTS_DIR.parents[3] / "evals/data/reader_blind.jsonl").read_text().splitlines() if line.strip()]
    assert not any(q in out for q in blind if len(q) > 12)


def test_grouped_cross_validation_holds_writers_out_and_scores_every_field():
    """`train-reader --cv-groups N`'s code path on a small slice: each group of writers is read by a reader
    trained on the others, and the table has every field and the per-kind rows."""
    from agents.intent.train import corpus_by_writer
    from evals.reader import grouped_cv
    bw = {w: rs[::30] for w, rs in list(corpus_by_writer().items())[:3]}  # spread over each writer's files
    seen = []
    out = grouped_cv(bw, groups=3, log=seen.append)
    assert len(seen) == 3 and all(f"held out {w}" in " ".join(seen) for w in bw)
    assert "| person |" in out and "| label_family |" in out and "| person kind |" in out
