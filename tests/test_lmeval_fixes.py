"""The two lm-eval 0.4.13 registry tasks the project overrides (:mod:`iclprune.evaluate.lmeval_fixes`): each defect
shown on the real data in ``../shared/data``, and the fix shown to remove it.

Why: a silent defect in a task's scoring would turn every number of that task into noise or its
complement, and nothing downstream would notice. So the claims of the module docstring are checked here
against the data, not against our own reading of it.

* MultiRC (no model): a "model" that always prefers "…Is the answer correct? yes" is scored on all 4848
  validation answers. Under ``multirc_fixed`` it is right exactly on the answers labelled 1 (correct); under
  the registry's ``multirc`` exactly on those labelled 0, the inversion. Reverting the fix (the registry's
  choice order put back into ``MULTIRC_CHOICES``) flips the numbers back, so this test guards the fix.
  ``acc_all`` is checked against a per-question computation of our own from the raw file (953 questions).
* ReCoRD: the registry task cannot load with the pinned transformers (its ``util.py`` import fails; if it
  ever imports, the test says the override may be unnecessary), and ``task_config("record")`` says so and
  points to ``record_fixed``. The SQuAD metric is checked on hand-computed cases and its normalisation
  against lm-eval's own copy of SQuAD's (``record/t5_utils.normalize_squad``). On the 64 real documents the
  fixed prompts, choices and targets equal those of the registry's ``util.py`` (loaded with a stub in place
  of the missing transformers module), demonstrations never show a document itself, an oracle scores
  em = f1 = 1 and a wrong entity em = 0 with F1 equal to lm-eval's own SQuAD F1 (``squad_f1_agg``).
  Finally SmolLM2 scores two documents end to end (integration), each document's em/f1 checked
  against its most likely entity.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import sys
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from iclprune.evaluate import lmeval_fixes
from iclprune.evaluate.evaluation import build_requests, question_groups, score_responses
from iclprune.evaluate.lmeval_fixes import (
    best_over_answers,
    exact_match,
    normalize_answer,
    record_process_results,
    token_f1,
)
from iclprune.evaluate.taskdata import DataSource, prepare, task_config_for, task_sources
from iclprune.evaluate.taskdefs import TaskConfigError, registry_config, task_config

YES, NO = "Is the answer correct? yes", "Is the answer correct? no"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------ MultiRC
@pytest.fixture(scope="module")
def multirc(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Data manifests of ``multirc_fixed`` and ``multirc`` over the real files, and the raw validation
    rows read straight from the file (our own reference, independent of lm-eval)."""
    out = tmp_path_factory.mktemp("multirc")
    sources = task_sources({"data_root": str(shared_data)}, ["multirc_fixed", "multirc"])
    manifests = {}
    for task, source in sources.items():
        manifests[task] = out / f"{task}.json"
        assert prepare(source, manifests[task])["documents"] == {"train": 321, "validation": 4848}
    return {"manifests": manifests, "rows": read_jsonl(shared_data / "multirc" / "validation.jsonl")}


def always_yes(task: str, manifest: Path) -> tuple[Any, Any]:
    """All 4848 validation answers of ``task`` scored by a model that always prefers "…? yes"."""
    reqs = build_requests(task_config_for(task, manifest), 0)
    conts = [inst.args[1] for inst in reqs.cloned()]
    assert all(c.endswith((YES, NO)) for c in conts), conts[:4]
    return reqs, score_responses(reqs, [(0.0 if c.endswith(YES) else -5.0, False) for c in conts])


def per_question_all(rows: list[dict[str, Any]], correct: list[bool]) -> tuple[int, float]:
    """Number of questions and the share of them whose every answer is ``correct`` (our own acc_all)."""
    by_question: dict[tuple[int, int], bool] = defaultdict(lambda: True)
    for row, ok in zip(rows, correct, strict=True):
        key = (row["idx"]["paragraph"], row["idx"]["question"])
        by_question[key] = by_question[key] and ok
    return len(by_question), sum(by_question.values()) / len(by_question)


def check_always_yes(reqs: Any, result: Any, rows: list[dict[str, Any]], *, gold_is_yes_for: int) -> None:
    """The always-"yes" model is right exactly on the answers labelled ``gold_is_yes_for``."""
    labels = [row["label"] for row in rows]
    assert [doc["label"] for _, doc in reqs.docs] == labels  # lm-eval read the file in order
    right = [label == gold_is_yes_for for label in labels]
    assert result.per_doc["acc"].tolist() == [float(r) for r in right]
    assert result.metrics["acc"] == pytest.approx(sum(right) / len(right), abs=1e-12)
    n_questions, expected_all = per_question_all(rows, right)
    assert n_questions == 953
    assert len(set(question_groups([doc for _, doc in reqs.docs]))) == 953
    assert result.metrics["acc_all"] == pytest.approx(expected_all, abs=1e-12)


def test_multirc_fixed_scores_yes_as_gold_for_correct_answers(multirc: dict[str, Any]) -> None:
    rows = multirc["rows"]
    assert len(rows) == 4848
    assert {row["label"] for row in rows} == {0, 1}
    share_correct = sum(row["label"] for row in rows) / len(rows)
    assert 0.3 < share_correct < 0.7  # both labels common: the two accuracies below cannot coincide
    reqs, result = always_yes("multirc_fixed", multirc["manifests"]["multirc_fixed"])
    check_always_yes(reqs, result, rows, gold_is_yes_for=1)
    assert result.metrics["acc"] == pytest.approx(share_correct)
    assert 0 < result.metrics["acc_all"] < result.metrics["acc"]  # per question, not per answer


def test_registry_multirc_is_inverted(multirc: dict[str, Any]) -> None:
    rows = multirc["rows"]
    registry = registry_config("multirc")["doc_to_choice"]
    assert registry.index("? yes") < registry.index("? no")  # yes first, so label 1 → "no"
    assert registry_config("multirc")["doc_to_target"] == "label"
    reqs, result = always_yes("multirc", multirc["manifests"]["multirc"])
    check_always_yes(reqs, result, rows, gold_is_yes_for=0)
    assert result.metrics["acc"] == pytest.approx(1 - sum(row["label"] for row in rows) / len(rows))


def test_reverting_the_multirc_fix_flips_the_numbers(
    multirc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the fix: with the registry's choice order put back, ``multirc_fixed`` is inverted again."""
    registry = registry_config("multirc")["doc_to_choice"]
    assert registry != lmeval_fixes.MULTIRC_CHOICES
    monkeypatch.setattr(lmeval_fixes, "MULTIRC_CHOICES", registry)
    cfg = task_config("multirc_fixed")
    assert cfg["doc_to_choice"] == registry
    assert cfg["metadata"]["iclprune_fix_of"] == "multirc"
    reqs, result = always_yes("multirc_fixed", multirc["manifests"]["multirc_fixed"])
    check_always_yes(reqs, result, multirc["rows"], gold_is_yes_for=0)


# ------------------------------------------------------------------------------------ ReCoRD: loading
def test_registry_record_cannot_load_and_task_config_says_so() -> None:
    with pytest.raises(TaskConfigError) as err:
        task_config("record")
    message = str(err.value)
    assert "transformers" in message
    assert "squad_metrics" in message
    assert "record_fixed" in message
    try:
        importlib.import_module("lm_eval.tasks.super_glue.record.util")
        missing = ""
    except ImportError as exc:  # ModuleNotFoundError included
        missing = str(exc)
    if not missing:
        pytest.fail(
            "lm_eval.tasks.super_glue.record.util imports fine with the pinned transformers: the registry's "
            "`record` may load now, so the `record_fixed` override may be unnecessary (see lmeval_fixes.py)"
        )
    assert "transformers.data.metrics" in missing  # the module transformers 5 removed


# ------------------------------------------------------------------------------------- ReCoRD: metric
@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("The  Quick, Brown fox!", "quick brown fox"),  # case, punctuation, article, spaces
        ("An apple a day", "apple day"),
        ("  the\tend\n", "end"),
        ("Theatre another thee", "theatre another thee"),  # articles only as whole words
        ("U.S.-led", "usled"),
        ("A. Smith", "smith"),  # punctuation goes first, then "a" is an article (as in SQuAD)
        ("", ""),
        ("the a an", ""),
    ],
)
def test_normalisation_is_squads(text: str, normal: str) -> None:
    from lm_eval.tasks.super_glue.record.t5_utils import normalize_squad  # lm-eval's copy of SQuAD's

    assert normalize_answer(text) == normal
    assert normalize_squad(text) == normal


def test_exact_match_and_token_f1_by_hand() -> None:
    assert exact_match("the Eiffel Tower", "Eiffel  tower!") == 1
    assert exact_match("Paris", "London") == 0
    assert exact_match("Barack Obama", "Obama") == 0
    assert token_f1("the Eiffel Tower", "Eiffel  tower!") == 1.0
    assert token_f1("Paris", "London") == 0.0
    assert token_f1("Barack Obama", "Obama") == pytest.approx(2 / 3)  # p = 1, r = 1/2
    assert token_f1("Obama", "Barack Obama") == pytest.approx(2 / 3)  # p = 1/2, r = 1
    assert token_f1("New York City", "York City Hall") == pytest.approx(2 / 3)  # p = r = 2/3
    assert token_f1("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)  # p = 1, r = 3/4
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)  # tokens counted as a multiset: 2 shared
    assert token_f1("x x", "x") == pytest.approx(2 / 3)  # p = 1, r = 1/2
    assert token_f1("x x y", "x x") == pytest.approx(
        0.8
    )  # 2 shared (not 1, as sets would say): p = 1, r = 2/3
    assert token_f1("x x", "x x") == 1.0
    # empty strings, or strings that normalise to nothing: 1 when both are empty, else 0
    assert token_f1("", "") == 1.0
    assert exact_match("", "") == 1
    assert token_f1("", "Obama") == 0.0
    assert token_f1("Obama", "") == 0.0
    assert token_f1("the", "a") == 1.0
    assert exact_match("The!", "") == 1
    assert token_f1("the", "Obama") == 0.0
    assert exact_match("the", "Obama") == 0


def test_best_over_gold_answers() -> None:
    answers = ["Obama", "Barack Hussein Obama"]
    assert best_over_answers(token_f1, "Barack Obama", answers) == pytest.approx(0.8)  # max(2/3, 0.8)
    assert best_over_answers(exact_match, "Barack Obama", answers) == 0
    assert best_over_answers(exact_match, "obama.", answers) == 1
    assert best_over_answers(token_f1, "Michelle", answers) == 0.0
    assert best_over_answers(token_f1, "Obama", ["Michelle Obama", "Obama", "Barack Obama"]) == 1.0


def test_process_results_takes_the_first_most_likely_entity() -> None:
    doc = {
        "entities": ["Barack Obama", "Michelle Obama", "Obama Administration"],
        "answers": ["Barack Obama"],
    }
    assert record_process_results(doc, [(-3.0, False), (-2.0, False), (-1.0, False)]) == {
        "f1": 0.5,
        "em": 0.0,
    }
    assert record_process_results(doc, [(-1.0, False), (-2.0, False), (-3.0, False)]) == {
        "f1": 1.0,
        "em": 1.0,
    }
    # a tie goes to the first entity (numpy's argmax, as the registry's util.py does)
    assert record_process_results(doc, [(-1.0, False), (-1.0, False), (-3.0, False)])["em"] == 1.0
    assert record_process_results(doc, [(-3.0, False), (-1.0, False), (-1.0, False)]) == {
        "f1": 0.5,
        "em": 0.0,
    }
    two = dict(doc, answers=["Barack Obama", "Obama Administration"])
    assert record_process_results(two, [(-3.0, False), (-2.0, False), (-1.0, False)]) == {
        "f1": 1.0,
        "em": 1.0,
    }


# ------------------------------------------------------------------------------ ReCoRD: real documents
@pytest.fixture(scope="module")
def record(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``record_fixed`` over the 64 real documents (the train file read as both train and validation:
    there is no validation split), the raw rows, and the registry's ``util.py`` loaded under a stub for
    the transformers module it lacks (its prompt functions never touch that module)."""
    train = shared_data / "record" / "train.jsonl"
    manifest = tmp_path_factory.mktemp("record") / "record_fixed.json"
    source = DataSource("record_fixed", files={"train": [str(train)], "validation": [str(train)]})
    assert prepare(source, manifest)["documents"] == {"train": 64, "validation": 64}
    return {"cfg": task_config_for("record_fixed", manifest), "rows": read_jsonl(train)}


@pytest.fixture
def upstream_util(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    import lm_eval.tasks

    def unavailable(*args: Any) -> None:
        raise AssertionError("the stub for transformers' squad_metrics was used")

    stub = types.ModuleType("transformers.data.metrics.squad_metrics")
    stub.compute_f1 = stub.compute_exact = unavailable
    parent = types.ModuleType("transformers.data.metrics")
    parent.squad_metrics = stub
    monkeypatch.setitem(sys.modules, "transformers.data.metrics", parent)
    monkeypatch.setitem(sys.modules, "transformers.data.metrics.squad_metrics", stub)
    path = Path(lm_eval.tasks.__file__).parent / "super_glue" / "record" / "util.py"
    spec = importlib.util.spec_from_file_location("_registry_record_util", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def by_doc(reqs: Any) -> dict[int, list[Any]]:
    """Instances of each document, in choice order."""
    out: dict[int, list[Any]] = defaultdict(list)
    for inst in reqs.instances:
        out[inst.doc_id].append(inst)
    return {d: sorted(insts, key=lambda i: i.idx) for d, insts in out.items()}


def continuations(row: dict[str, Any]) -> dict[str, str]:
    """Continuation as lm-eval scores it (target delimiter " ", then the bullet) → entity, from a raw row."""
    assert row["query"].count("@placeholder") == 1
    return {" " + "  - " + row["query"].replace("@placeholder", e): e for e in row["entities"]}


def reference_scores(predictions: list[str], rows: list[dict[str, Any]]) -> tuple[list[float], float]:
    """Per-document EM (our max over answers of SQuAD-normalised equality) and mean F1 from lm-eval's own
    SQuAD F1 aggregation (``squad_f1_agg``, which keys answers as ``"<group>_<answer>"``)."""
    from lm_eval.tasks.super_glue.record.t5_utils import normalize_squad, squad_f1_agg

    pairs = list(zip(predictions, rows, strict=True))
    em = [float(any(normalize_squad(p) == normalize_squad(a) for a in r["answers"])) for p, r in pairs]
    assert not any("_" in a for r in rows for a in r["answers"])
    items = [(p, f"{i}_{a}") for i, (p, r) in enumerate(pairs) for a in r["answers"]]
    return em, float(squad_f1_agg(items))


def test_record_prompts_equal_the_registry_task(
    record: dict[str, Any], upstream_util: types.ModuleType
) -> None:
    from datasets import Dataset

    rows = record["rows"]
    reqs = build_requests(record["cfg"], 0)
    assert reqs.n_docs == 64
    upstream_docs = upstream_util.process_docs(Dataset.from_list(rows))
    instances = by_doc(reqs)
    for (doc_id, doc), row, theirs in zip(reqs.docs, rows, upstream_docs, strict=True):
        insts = instances[doc_id]
        assert {k: doc[k] for k in ("passage", "query", "entities", "answers")} == {
            k: theirs[k] for k in ("passage", "query", "entities", "answers")
        }
        context = insts[0].args[0]
        assert all(i.args[0] == context for i in insts)
        assert context == upstream_util.doc_to_text(doc)
        # by hand: the passage, then every highlight as a bullet line
        initial, *highlights = row["passage"].strip().split("\n@highlight\n")
        assert highlights
        assert context.startswith(initial + "\n\n")
        assert "@highlight" not in context
        assert all(f"\n  - {h}.\n" in context for h in highlights)
        # the choices: the query with @placeholder filled by each entity, once per distinct entity
        conts = [i.args[1] for i in insts]
        assert conts == [" " + c for c in upstream_util.doc_to_choice(doc)]
        assert set(conts) == set(continuations(row))
        assert len(conts) == len(set(row["entities"]))
        assert not any("@placeholder" in c for c in conts)
        assert reqs.task.doc_to_target(doc) == upstream_util.doc_to_target(doc)


def test_record_process_docs_sorts_and_dedupes_like_the_registry(
    record: dict[str, Any], upstream_util: types.ModuleType
) -> None:
    """The real rows already hold sorted, unique entities; shuffled and duplicated here, the fixed
    ``process_docs`` must still give the registry's documents, hence the same choices and target."""
    from datasets import Dataset

    from iclprune.evaluate.lmeval_fixes import record_doc_to_choice, record_doc_to_target, record_process_docs

    rows = [
        dict(r, entities=r["entities"][::-1] + r["entities"][:2], answers=r["answers"][::-1] * 2)
        for r in record["rows"]
    ]
    assert any(r["entities"] != sorted(r["entities"]) for r in rows)
    assert any(len(set(r["answers"])) > 1 for r in rows)
    keys = ("passage", "query", "entities", "answers")
    ours = record_process_docs(Dataset.from_list(rows))
    theirs = upstream_util.process_docs(Dataset.from_list(rows))
    for mine, doc in zip(ours, theirs, strict=True):
        assert {k: mine[k] for k in keys} == {k: doc[k] for k in keys}
        assert record_doc_to_choice(mine) == upstream_util.doc_to_choice(doc)
        assert record_doc_to_target(mine) == upstream_util.doc_to_target(doc)


def test_record_one_shot_demonstrates_another_document(
    record: dict[str, Any], upstream_util: types.ModuleType
) -> None:
    reqs = build_requests(record["cfg"], 1, role="importance")  # evaluated split = demo split: self excluded
    docs = dict(reqs.docs)
    assert len(docs) == 64
    demos = {
        j: upstream_util.doc_to_text(d) + " " + upstream_util.doc_to_target(d) + "\n\n"
        for j, d in docs.items()
    }
    shown = set()
    for doc_id, insts in by_doc(reqs).items():
        own = upstream_util.doc_to_text(docs[doc_id])
        context = insts[0].args[0]
        assert context.endswith(own)
        demo = [j for j, text in demos.items() if context[: -len(own)] == text]
        assert len(demo) == 1, (doc_id, demo)
        assert demo[0] != doc_id  # a document never demonstrates itself
        shown.add(demo[0])
    assert len(shown) > 1  # demonstrations drawn per document, not one fixed demo


@pytest.mark.parametrize("shots", [0, 1])
def test_record_oracle_and_wrong_entity_through_lm_eval(record: dict[str, Any], shots: int) -> None:
    rows = record["rows"]
    reqs = build_requests(record["cfg"], shots, role="importance" if shots else "eval")
    assert [doc_id for doc_id, _ in reqs.docs] == list(range(64))
    cloned = reqs.cloned()
    gold = {d: {c for c, e in continuations(r).items() if e in r["answers"]} for d, r in enumerate(rows)}
    oracle = score_responses(reqs, [(0.0 if i.args[1] in gold[i.doc_id] else -10.0, False) for i in cloned])
    assert oracle.metrics == {"f1": 1.0, "em": 1.0}
    assert oracle.per_doc["em"].tolist() == [1.0] * 64

    # the most likely choice is a wrong entity: the first whose normalised form matches no answer
    from lm_eval.tasks.super_glue.record.t5_utils import normalize_squad

    wrong: dict[int, str] = {}
    for doc_id, insts in by_doc(reqs).items():
        row = rows[doc_id]
        answers = {normalize_squad(a) for a in row["answers"]}
        entity = continuations(row)
        wrong[doc_id] = next(i.args[1] for i in insts if normalize_squad(entity[i.args[1]]) not in answers)
    adversarial = score_responses(
        reqs, [(0.0 if i.args[1] == wrong[i.doc_id] else -10.0, False) for i in cloned]
    )
    predictions = [continuations(rows[d])[wrong[d]] for d in range(64)]
    em, f1 = reference_scores(predictions, rows)
    assert em == [0.0] * 64
    assert adversarial.per_doc["em"].tolist() == em
    assert adversarial.metrics["em"] == 0.0
    assert adversarial.metrics["f1"] == pytest.approx(f1, abs=1e-12)
    assert adversarial.metrics["f1"] < 0.5


@pytest.mark.integration
def test_record_scored_by_smollm2(record: dict[str, Any], smollm2: tuple[Any, Any]) -> None:
    from iclprune.evaluate.evaluation import Evaluator

    model, tok = smollm2
    # the first two documents: ~1000 tokens in all (contexts + 14 choices); the third alone has as many
    reqs = build_requests(record["cfg"], 0, limit=2)
    result = Evaluator(model, tok, batch_size=4).evaluate(reqs)
    assert set(result.metrics) == {"em", "f1"}
    assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in result.metrics.values()), result.metrics
    # the metric of each document is that of its most likely entity (first maximum), by lm-eval's SQuAD code
    rows = record["rows"][:2]
    predictions = []
    for (doc_id, insts), logliks in zip(sorted(by_doc(reqs).items()), result.per_doc["loglik"], strict=True):
        assert len(logliks) == len(insts)
        assert all(math.isfinite(x) for x in logliks)
        best = max(range(len(logliks)), key=lambda i: (logliks[i], -i))
        predictions.append(continuations(rows[doc_id])[insts[best].args[1]])
    em, f1 = reference_scores(predictions, rows)
    assert result.per_doc["em"].tolist() == em
    assert result.metrics["f1"] == pytest.approx(f1, abs=1e-12)
