"""The relation network and classifier on a tiny encoder built from a config (no download, random weights)."""

from __future__ import annotations

import json

import pytest

from medkb.nlp.relation_candidates import MeshTree, doc_candidates
from medkb.nlp.relation_classifier import RelationClassifier, RelationModelError
from medkb.nlp.relation_model import MARKER, encode_doc, windows
from medkb.nlp.relations import LinkedSpan


@pytest.fixture(scope="module")
def tiny_re_dir(tmp_path_factory, tokenizer):
    """A self-contained relation model directory: a 2-layer 32-wide BERT and an untrained head."""
    import torch
    from transformers import BertConfig, BertModel

    from medkb.nlp.relation_model import build_head
    from medkb.training.relation_train import save

    torch.manual_seed(0)
    enc = BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=512), add_pooling_layer=False)
    head_cfg = {"dim": 16, "heads": 2, "emb": 32, "block": 8, "dropout": 0.0}
    out = tmp_path_factory.mktemp("tiny-re")
    save(enc, build_head(32, **head_cfg), tokenizer, out, {"kind": "re", "marker": MARKER, "max_tokens": 64,
                                                            "head": head_cfg, "threshold": 0.0, "version": "re-tiny-1"})
    return out


def test_windows_overlap_and_cover_everything():
    assert windows(10, 64) == [(0, 10)]
    ws = windows(150, 62)
    assert ws[0][0] == 0 and ws[-1][1] == 150 and all(hi - lo <= 62 for lo, hi in ws)
    assert all(b[0] < a[1] for a, b in zip(ws, ws[1:], strict=False))  # consecutive windows overlap


def test_markers_wrap_every_mention_nested_ones_too(tokenizer):
    text = "Lithium carbonate caused renal failure."
    dc = doc_candidates("PMID:1", text, [(0, len(text))], [LinkedSpan(0, 17, "Chemical", ("MESH:C1",)),
                                                          LinkedSpan(0, 7, "Chemical", ("MESH:C2",)),
                                                          LinkedSpan(25, 38, "Disease", ("MESH:D1",))])
    marker = tokenizer.convert_tokens_to_ids(MARKER)
    enc = encode_doc(tokenizer, dc, marker)
    assert enc.ids.count(marker) == 6
    assert all(enc.ids[p] == marker for p in enc.mention_pos)
    assert len(enc.piece_sentence) == len(enc.ids)


def test_predict_gives_scores_and_evidence_sentences(tiny_re_dir):
    clf = RelationClassifier(tiny_re_dir)
    text = "Cocaine induced seizures. Later, hypotension was seen."
    dc = doc_candidates("PMID:1", text, [(0, 25), (26, 54)], [LinkedSpan(0, 7, "Chemical", ("MESH:C1",)),
                                                             LinkedSpan(16, 24, "Disease", ("MESH:D1",)),
                                                             LinkedSpan(33, 44, "Disease", ("MESH:D2",))])
    [pairs] = clf.predict([dc], threshold=0.0)
    by = {p.disease_id: p for p in pairs}
    assert set(by) == {"MESH:D1", "MESH:D2"} and clf.version == "re-tiny-1"
    assert by["MESH:D1"].evidence == ((0, 25),) and by["MESH:D1"].sentence(text) == "Cocaine induced seizures."
    assert by["MESH:D2"].evidence == ((0, 25), (26, 54)) and " … " in by["MESH:D2"].sentence(text)
    assert all(0.0 <= p.score <= 1.0 for p in pairs)


def test_a_document_longer_than_the_window_is_scored_whole(tiny_re_dir):
    clf = RelationClassifier(tiny_re_dir)  # max_tokens 64: this text needs several windows
    filler = "The patients were followed for many weeks in the clinic. " * 12
    text = "Cocaine was given. " + filler + "Seizures occurred."
    d0 = text.index("Seizures")
    dc = doc_candidates("PMID:1", text, [(0, 18), (19, d0 - 1), (d0, len(text))],
                        [LinkedSpan(0, 7, "Chemical", ("MESH:C1",)), LinkedSpan(d0, d0 + 8, "Disease", ("MESH:D1",))])
    enc = clf.encode([dc])[0]
    assert len(enc.ids) > 64
    [[pair]] = clf.predict([dc], threshold=0.0)
    assert pair.evidence == ((0, 18), (d0, len(text)))


def test_documents_without_candidates_score_nothing(tiny_re_dir):
    clf = RelationClassifier(tiny_re_dir)
    empty = doc_candidates("PMID:2", "No entities here.", [(0, 17)], [])
    only = doc_candidates("PMID:3", "Aspirin alone.", [(0, 14)], [LinkedSpan(0, 7, "Chemical", ("MESH:C1",))])
    assert clf.predict([empty, only]) == [[], []]


def test_hypernym_filter_keeps_the_specific_disease(tiny_re_dir):
    clf = RelationClassifier(tiny_re_dir)
    text = "Cocaine caused arrhythmia and heart disease."
    dc = doc_candidates("PMID:1", text, [(0, len(text))], [LinkedSpan(0, 7, "Chemical", ("MESH:C1",)),
                                                          LinkedSpan(15, 25, "Disease", ("MESH:D_arr",)),
                                                          LinkedSpan(30, 43, "Disease", ("MESH:D_heart",))])
    tree = MeshTree({"MESH:D_heart": ("C14.280",), "MESH:D_arr": ("C14.280.067",)})
    assert {p.disease_id for p in clf.predict([dc], threshold=0.0)[0]} == {"MESH:D_arr", "MESH:D_heart"}
    assert {p.disease_id for p in clf.predict([dc], tree, threshold=0.0)[0]} == {"MESH:D_arr"}


def test_bf16_autocast_scores_close_to_fp32(tiny_re_dir):
    text = "Cocaine induced seizures."
    dc = doc_candidates("PMID:1", text, [(0, 25)], [LinkedSpan(0, 7, "Chemical", ("MESH:C1",)), LinkedSpan(16, 24, "Disease", ("MESH:D1",))])
    a = RelationClassifier(tiny_re_dir).score([dc])[0][0]
    b = RelationClassifier(tiny_re_dir, precision="bf16").score([dc])[0][0]
    assert abs(a[0] - b[0]) < 0.05


def test_a_directory_that_is_not_a_relation_model_is_refused(tmp_path, tiny_re_dir):
    with pytest.raises(RelationModelError, match="medkb train re"):
        RelationClassifier(tmp_path)
    meta = json.loads((tiny_re_dir / "medkb.json").read_text())
    bad = tmp_path / "ner"
    bad.mkdir()
    (bad / "medkb.json").write_text(json.dumps({**meta, "kind": "ner"}))
    (bad / "relation_head.pt").write_bytes((tiny_re_dir / "relation_head.pt").read_bytes())
    with pytest.raises(RelationModelError, match="not 're'"):
        RelationClassifier(bad)


def test_the_extractor_takes_its_induces_assertions_from_the_relation_step(tiny_re_dir):
    from medkb.nlp.dictionary import DictionaryTagger
    from medkb.nlp.extract import Extractor, SourceDoc
    from medkb.nlp.normalise import Normaliser
    from medkb.nlp.relation_stage import ModelRelations
    from medkb.nlp.vocab import Entry

    entries = [Entry("cocaine", "MESH:D003042", "Chemical", "gold"), Entry("seizures", "MESH:D012640", "Disease", "gold")]
    relations = ModelRelations(RelationClassifier(tiny_re_dir))
    relations.classifier.threshold = 0.0
    ex = Extractor(DictionaryTagger(entries), Normaliser(entries), relations=relations)
    assert ex.version == f"{DictionaryTagger.version}+re-tiny-1"
    [res] = ex.extract([SourceDoc("PMID:1", "Cocaine induced seizures.", "Nothing else happened.")])
    [a] = res.assertions
    assert (a.subject_id, a.predicate, a.object_id, a.model) == ("MESH:D003042", "INDUCES", "MESH:D012640", ex.version)
    assert a.sentence == "Cocaine induced seizures." and (a.start, a.end) == (0, 25)
    [none] = ex.extract([SourceDoc("PMID:2", "Cocaine alone.", "No disease here.")])
    assert none.assertions == ()


def test_relation_choice_is_a_setting():
    from medkb.nlp.relation_stage import relation_choice

    assert relation_choice({}) == "model"
    assert relation_choice({"MEDKB_RELATIONS": "cue_words"}) == "cue_words"
    with pytest.raises(ValueError, match="MEDKB_RELATIONS"):
        relation_choice({"MEDKB_RELATIONS": "magic"})


def _two_sentence_doc():
    text = "Cocaine induced seizures. Later, hypotension was seen."
    return doc_candidates("PMID:1", text, [(0, 25), (26, 54)], [LinkedSpan(0, 7, "Chemical", ("MESH:C1",)),
                                                                LinkedSpan(16, 24, "Disease", ("MESH:D1",)),
                                                                LinkedSpan(33, 44, "Disease", ("MESH:D2",))])


def test_at_least_one_keeps_the_best_pair_only_when_none_passes():
    from medkb.nlp.relation_classifier import kept

    cands = _two_sentence_doc().candidates
    assert kept(cands, [0.1, 0.2], 0.5, None) == []
    assert kept(cands, [0.1, 0.2], 0.5, None, at_least_one=True) == [1]
    assert kept(cands, [0.6, 0.2], 0.5, None, at_least_one=True) == [0]  # a pair passed: nothing added
    assert kept((), [], 0.5, None, at_least_one=True) == []  # no candidate, no pair
