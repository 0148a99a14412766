"""Masked in-memory evaluation through lm-eval, importance data from lm-eval's prompts, FFN oracle, sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from iclprune.analysis.pruning import ffn_oracle, ffn_ranking, head_ranking, pruning_mask, pruning_sweep
from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.taskdefs import TaskConfigError, task_config
from iclprune.model.models import load_model

TASK = "icl_antonyms"


@pytest.fixture(scope="module")
def tiny():
    """A tiny random Llama (GQA) sharing SmolLM2's tokenizer, wrapped once in lm-eval's HFLM."""
    model, tok = load_model("tiny:llama", seed=0)
    return Evaluator(model, tok, batch_size=4)


def test_in_memory_path_equals_lm_eval_simple_evaluate(tiny) -> None:
    from lm_eval import simple_evaluate

    cfg = task_config(TASK)
    ours = tiny.evaluate(build_requests(cfg, 2, limit=6))
    theirs = simple_evaluate(
        model=tiny.lm, tasks=[cfg], num_fewshot=2, limit=6, log_samples=True, bootstrap_iters=0,
        fewshot_random_seed=1234, cache_requests=False,
    )  # fmt: skip
    samples = sorted(theirs["samples"][TASK], key=lambda s: s["doc_id"])
    assert ours.metrics["acc"] == pytest.approx(theirs["results"][TASK]["acc,none"])
    assert ours.per_doc["acc"].tolist() == [s["acc"] for s in samples]
    their_ll = [[r[0] for r in s["filtered_resps"]] for s in samples]
    their_greedy = [[bool(r[1]) for r in s["filtered_resps"]] for s in samples]
    np.testing.assert_allclose(np.array(ours.per_doc["loglik"].tolist()), np.array(their_ll), atol=1e-4)
    assert ours.per_doc["is_greedy"].tolist() == their_greedy


def test_masks_change_results_and_the_resident_model_is_restored(tiny) -> None:
    reqs = build_requests(task_config(TASK), 1, limit=5)
    before = tiny.loglikelihoods(reqs)
    knocked = tiny.loglikelihoods(reqs, Mask.of(["ffn:0", "head:1:2", "head:2:0"]))
    after = tiny.loglikelihoods(reqs)
    assert before == after
    assert knocked != before


def test_prompts_are_identical_across_builds_and_seeds_matter() -> None:
    cfg = task_config(TASK)
    a, b = build_requests(cfg, 3, limit=8), build_requests(cfg, 3, limit=8)
    c = build_requests(cfg, 3, limit=8, seed=7)
    assert [i.args for i in a.instances] == [i.args for i in b.instances]
    assert [i.args for i in a.instances] != [i.args for i in c.instances]
    assert a.instances[0].args[0].count("\n\n") == 3  # three demonstrations, then the query


def test_importance_examples_are_the_gold_answers_in_evaluation_format(tiny) -> None:
    cfg = task_config(TASK)
    reqs = build_requests(cfg, 2, limit=5, role="importance")
    examples = tiny.importance_examples(reqs)
    tok = tiny.lm.tokenizer
    train_file = Path(cfg["dataset_kwargs"]["data_files"]["train"])
    train = [json.loads(line) for line in train_file.read_text().splitlines()]
    for ex, (doc_id, doc) in zip(examples, reqs.docs, strict=True):
        assert doc == train[doc_id]  # the first N training documents, in order
        gold = doc["choices"][doc["label"]]
        assert tok.decode(ex.continuation) == " " + gold
        context = tok.decode(ex.context)
        query = reqs.task.doc_to_text(doc)
        assert context.endswith(query)
        assert context.count("\n\n") == 2
        assert context[: -len(query)].count(query) == 0  # a document never demonstrates itself


def test_ffn_oracle_scores_rank_and_resume(tiny, tmp_path) -> None:
    reqs = build_requests(task_config(TASK), 0, limit=6)
    table, docs = ffn_oracle(tiny, reqs)
    assert len(docs) == 4 * 6  # the full model and three knock-outs, six documents each
    assert list(table.layer) == [0, 1, 2]
    base = tiny.evaluate(reqs).metrics["acc"]
    for _, row in table.iterrows():
        knocked = tiny.evaluate(reqs, Mask(ffns=frozenset({int(row.layer)}))).metrics["acc"]
        assert row.score == pytest.approx(100 * (base - knocked))
    # a checkpoint left by an interrupted run is reused, not recomputed
    ck = tmp_path / "oracle.partial.jsonl"
    fake_docs = {"doc_id": [0], "acc": [1.0], "loglik": [[-1.0, -2.0]]}
    lines = [{"layer": -1, "value": 0.5, "docs": fake_docs}, {"layer": 1, "value": 0.25, "docs": fake_docs}]
    ck.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"layer": 2, "val')  # torn last line
    resumed, resumed_docs = ffn_oracle(tiny, reqs, checkpoint=ck)
    assert resumed_docs.query("layer == 1").acc.tolist() == [1.0]  # reused, not recomputed
    assert len(resumed_docs.query("layer == 2")) == 6  # the torn record was recomputed
    assert resumed.baseline_acc.iloc[0] == 0.5
    assert resumed.knocked_out_acc.iloc[1] == 0.25
    assert resumed.score.iloc[1] == pytest.approx(25.0)


def test_rankings_and_pruning_masks() -> None:
    scores = np.array([[0.3, 0.1], [0.1, 0.9]])
    assert head_ranking(scores) == [(0, 1), (1, 0), (0, 0), (1, 1)]
    assert ffn_ranking(np.array([2.0, -1.0, 2.0, 0.0])) == [1, 3, 0, 2]
    heads = [(layer, h) for layer in range(64) for h in range(72)]
    assert len(pruning_mask(heads, 70, None, 0).heads) == 3225
    assert len(pruning_mask(None, 0, list(range(64)), 10).ffns) == 6
    with pytest.raises(ValueError, match="pct_ffns=20 but no FFN ranking"):
        pruning_mask(heads, 10, None, 20)


def test_sweep_removes_cumulatively(tiny) -> None:
    reqs = build_requests(task_config(TASK), 0, limit=4)
    heads = head_ranking(np.arange(18.0).reshape(3, 6))
    table, docs = pruning_sweep(tiny, reqs, [(0, 0), (50, 0), (100, 0)], heads=heads)
    assert docs.groupby("pct_heads").acc.mean().tolist() == table.acc.tolist()
    assert {"doc_id", "loglik", "is_greedy"} <= set(docs.columns)
    assert table.n_heads_removed.tolist() == [0, 9, 18]
    assert table.acc.iloc[0] == tiny.evaluate(reqs).metrics["acc"]


def test_unknown_task_is_named(tmp_path) -> None:
    with pytest.raises(TaskConfigError, match=r"unknown task\(s\) \['no_such_task'\]"):
        task_config("no_such_task", tmp_path)
    (tmp_path / "broken.yaml").write_text(
        "task: broken\ndataset_kwargs: {data_files: {train: missing.jsonl}}\n"
    )
    with pytest.raises(TaskConfigError, match="data file for split 'train' not found"):
        task_config("broken", tmp_path)
    with pytest.raises(ValueError, match="shots=-1"):
        build_requests(task_config(TASK), -1)


def test_acc_all_counts_a_question_only_when_every_answer_is_right() -> None:
    from iclprune.evaluate.evaluation import acc_all, question_groups

    docs = [{"idx": {"paragraph": p, "question": q, "answer": a}} for p, q, a in
            [(0, 0, 0), (0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 0, 1)]]  # fmt: skip
    groups = question_groups(docs)
    assert acc_all([1, 1, 0, 1, 0], groups) == pytest.approx(1 / 3)
    assert acc_all([1, 1, 1, 1, 1], groups) == 1.0
    assert question_groups([{"idx": 3}]) is None


def test_per_document_logliks_equal_a_direct_computation(tiny) -> None:
    import torch

    reqs = build_requests(task_config(TASK), 1, limit=3)
    result = tiny.evaluate(reqs)
    tok, model = tiny.lm.tokenizer, tiny.model
    by_doc: dict[int, list] = {}
    for inst in reqs.instances:
        by_doc.setdefault(inst.doc_id, []).append(inst)
    for row in result.per_doc.itertuples():
        direct = []
        for inst in sorted(by_doc[row.doc_id], key=lambda i: i.idx):
            context, continuation = inst.args
            ctx = tok(context, add_special_tokens=False)["input_ids"]
            whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
            cont = whole[len(ctx) :]
            with torch.no_grad():
                logits = model(torch.tensor([whole])).logits[0].double()
            logprobs = torch.log_softmax(logits, -1)[len(ctx) - 1 : len(whole) - 1]
            direct.append(float(logprobs.gather(1, torch.tensor(cont)[:, None]).sum()))
        np.testing.assert_allclose(row.loglik, direct, atol=1e-4)


def test_ffn_oracle_equals_each_physically_pruned_model(tiny) -> None:
    from iclprune.model.surgery import prune

    reqs = build_requests(task_config(TASK), 1, limit=6)
    table, _ = ffn_oracle(tiny, reqs)
    for layer in range(3):
        small = prune(tiny.model, Mask(ffns=frozenset({layer})))
        alone = Evaluator(small, tiny.lm.tokenizer, batch_size=4).evaluate(reqs).metrics["acc"]
        assert table.knocked_out_acc.iloc[layer] == pytest.approx(alone)


def _task_dir(tmp_path, root, edit) -> str:
    """Copy a bundled task into tmp_path with `edit(yaml_text)` applied; returns its name."""
    import shutil

    shutil.copytree(root / "tasks/data" / TASK, tmp_path / "data" / TASK)
    text = (root / "tasks" / f"{TASK}.yaml").read_text()
    (tmp_path / f"{TASK}.yaml").write_text(edit(text))
    return TASK


def test_bad_task_inputs_are_named(root, tmp_path) -> None:
    with pytest.raises(TaskConfigError, match=r"unknown task\(s\) \['icl_nope'\].*icl_antonyms"):
        task_config("icl_nope")
    name = _task_dir(tmp_path / "a", root, lambda t: t.replace("validation: data", "valid: data"))
    with pytest.raises(TaskConfigError, match=r"validation_split='validation' has no data file"):
        task_config(name, tmp_path / "a")
    name = _task_dir(tmp_path / "b", root, lambda t: t.replace("{{word}}", "{{lemma}}"))
    with pytest.raises(TaskConfigError, match=r"lack fields \['lemma'\]"):
        task_config(name, tmp_path / "b")
    name = _task_dir(tmp_path / "c", root, lambda t: t.replace("doc_to_text:", "text:"))
    with pytest.raises(TaskConfigError, match=r"lacks required keys \['doc_to_text'\]"):
        task_config(name, tmp_path / "c")
    with pytest.raises(TaskConfigError, match=r"shots=151 exceeds the 150 documents"):
        build_requests(task_config(TASK), 151, limit=1)
    with pytest.raises(TaskConfigError, match=r"shots=150 exceeds the 149 documents"):
        build_requests(task_config(TASK), 150, limit=1, role="importance")


def test_bad_rankings_and_percentages_are_named(tiny) -> None:
    reqs = build_requests(task_config(TASK), 0, limit=2)
    wrong = head_ranking(np.zeros((2, 6)))
    with pytest.raises(
        ValueError,
        match=r"head ranking covers 12 heads .*expected every head of the model's \(3 layers, 6 heads\)",
    ):
        pruning_sweep(tiny, reqs, [(10, 0)], heads=wrong)
    with pytest.raises(ValueError, match=r"FFN ranking covers 4 layers; expected every one of the model's 3"):
        pruning_sweep(tiny, reqs, [(0, 10)], ffns=[0, 1, 2, 3])
    heads = head_ranking(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="150"):
        pruning_sweep(tiny, reqs, [(150, 0)], heads=heads)


def test_cli_bad_input_leaves_nothing_behind(tmp_path, capsys) -> None:
    from iclprune.workflow.cli import main

    out = tmp_path / "eval.parquet"
    code = main(["evaluate", "--model", "tiny:llama", "--task", TASK, "--shots", "0", "--limit", "2",
                 "--remove", "head:9:0", "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "head index out of range: head:9:0" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit) as exit_:  # argparse rejects the grid point before any work
        main(["sweep", "--model", "tiny:llama", "--task", TASK, "--shots", "0", "--grid", "70;0",
              "--out", str(out)])  # fmt: skip
    assert exit_.value.code == 2
    assert "bad grid point '70;0'" in capsys.readouterr().err
    code = main(["evaluate", "--model", "tiny:llama", "--task", TASK, "--shots", "0", "--limit", "2",
                 "--remove", "ffn:1", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json", "eval.parquet"]
