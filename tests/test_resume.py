"""Residual-stream resume (iclprune.evaluate.resume) against lm-eval's HFLM and the naive FFN oracle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from iclprune.analysis.pruning import ffn_oracle
from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.resume import capture, first_layer, layer_forwards, masked_loglikelihoods
from iclprune.evaluate.scoring import encode_instances
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model, tiny_model
from iclprune.model.sites import resolve, resolve_output

TASK = "icl_antonyms"
FAMILIES = ["opt", "llama", "gpt_neox"]


def _hflm(evaluator: Evaluator, reqs, mask: Mask) -> list[tuple[float, bool]]:
    """The reference: lm-eval's stock HFLM.loglikelihood on the hooked model."""
    from iclprune.model.surgery import masked

    cloned = [inst for inst in reqs.instances for _ in range(inst.repeats)]
    with masked(evaluator.model, mask):
        return evaluator.lm.loglikelihood(cloned, disable_tqdm=True)


def _tiny(family: str, **overrides) -> Evaluator:
    _, tok = load_model("tiny:llama")  # SmolLM2's tokenizer
    model = tiny_model(family, seed=3, vocab_size=len(tok), pad_token_id=tok.pad_token_id or 0, **overrides)
    return Evaluator(model, tok, batch_size=3)


@pytest.fixture(scope="module", params=FAMILIES)
def tiny(request) -> Evaluator:
    return _tiny(request.param)


def _assert_same(got, want) -> None:
    assert len(got) == len(want)
    np.testing.assert_allclose([g[0] for g in got], [w[0] for w in want], atol=1e-4, rtol=0)
    assert [g[1] for g in got] == [w[1] for w in want]


def test_every_mask_equals_lm_eval(tiny) -> None:
    reqs = build_requests(task_config(TASK), 1, limit=5)
    L, H = resolve(tiny.model).shape
    masks = [Mask(), Mask(ffns=frozenset({0})), Mask(ffns=frozenset({L - 1}))]
    masks += [Mask(heads=frozenset({(1, 0), (1, H - 1)}), ffns=frozenset({2}))]  # starts at layer 1
    got = masked_loglikelihoods(
        tiny.model, encode_instances(reqs, tiny.lm), masks, batch_size=2, max_length=tiny.lm.max_length
    )
    for mask, resps in zip(masks, got, strict=True):
        _assert_same(resps, _hflm(tiny, reqs, mask))
    # the knock-outs really change something (the test could fail)
    assert max(abs(a[0] - b[0]) for a, b in zip(got[0], got[1], strict=True)) > 1e-3


def test_without_resume_every_knockout_runs_every_layer_and_gives_the_same_responses(
    tiny, monkeypatch
) -> None:
    """``resume=False`` (the bench's reference) does the same work but the resume: knock-outs from layer 0."""
    from iclprune.evaluate import resume

    reqs = build_requests(task_config(TASK), 1, limit=4)
    L = resolve(tiny.model).n_layers
    masks = [Mask(), *(Mask(ffns=frozenset({layer})) for layer in range(L))]
    examples = encode_instances(reqs, tiny.lm)
    starts: list[int] = []
    real = resume.run_from
    monkeypatch.setattr(
        resume, "run_from", lambda sites, start, inputs: starts.append(start) or real(sites, start, inputs)
    )
    fast = masked_loglikelihoods(tiny.model, examples, masks, batch_size=8)
    assert starts == [L, *range(L)]  # one batch: the full model reads the clean pass, layer l starts at l
    starts.clear()
    slow = masked_loglikelihoods(tiny.model, examples, masks, batch_size=8, resume=False)
    assert starts == [L] + [0] * L
    assert slow == fast
    assert layer_forwards(masks, L, resume=False) == L * (L + 1)
    assert layer_forwards(masks, L) == L + L * (L + 1) // 2
    eight = [Mask(), *(Mask(ffns=frozenset({layer})) for layer in range(8))]
    assert (layer_forwards(eight, 8, resume=False), layer_forwards(eight, 8)) == (72, 44)  # issue 20's bound


def test_truncation_to_the_window_equals_lm_eval() -> None:
    ev = _tiny("llama")
    ev_short = Evaluator(ev.model, ev.lm.tokenizer, batch_size=4, max_length=12)
    reqs = build_requests(task_config(TASK), 2, limit=3)
    masks = [Mask(), Mask(ffns=frozenset({1}))]
    examples = encode_instances(reqs, ev.lm)  # whole: masked_loglikelihoods truncates them
    assert max(len(e.context) + len(e.continuation) for e in examples) > 13  # truncation happens
    got = masked_loglikelihoods(ev.model, examples, masks, batch_size=4, max_length=12)
    for mask, resps in zip(masks, got, strict=True):
        _assert_same(resps, _hflm(ev_short, reqs, mask))


def test_opt_project_out_is_on_the_output_path() -> None:
    ev = _tiny("opt", word_embed_proj_dim=32)
    assert resolve_output(ev.model).project_out is not None
    reqs = build_requests(task_config(TASK), 0, limit=4)
    masks = [Mask(), Mask(ffns=frozenset({1}))]
    got = masked_loglikelihoods(ev.model, encode_instances(reqs, ev.lm), masks, max_length=ev.lm.max_length)
    for mask, resps in zip(masks, got, strict=True):
        _assert_same(resps, _hflm(ev, reqs, mask))


def test_capture_records_what_each_layer_received() -> None:
    model = tiny_model("llama", seed=0)
    sites = resolve(model)
    ids = torch.randint(3, 500, (2, 7))
    inputs = capture(model, sites, ids)
    assert len(inputs.hidden) == sites.n_layers
    assert all(h.shape == (2, 7, 96) for h in inputs.hidden)
    assert "position_embeddings" in inputs.kwargs[0]  # rotary tables travel with the layer call
    with torch.no_grad():
        want = model(ids, use_cache=False).logits
        got = resolve_output(model).logits(inputs.output)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert first_layer(Mask(heads=frozenset({(2, 0)}), ffns=frozenset({1})), 3) == 1
    assert first_layer(Mask(), 3) == 3


def test_bad_arguments_are_named() -> None:
    model = tiny_model("gpt_neox", seed=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        masked_loglikelihoods(model, [], [Mask()], batch_size=0)
    with pytest.raises(ValueError, match="ffn:7"):
        masked_loglikelihoods(model, [], [Mask(ffns=frozenset({7}))])


def _oracle_pair(evaluator: Evaluator, shots: int, limit: int):
    reqs = build_requests(task_config(TASK), shots, limit=limit)
    fast = ffn_oracle(evaluator, reqs, resume=True)
    naive = ffn_oracle(evaluator, reqs, resume=False)
    return fast, naive


def _assert_oracles_equal(fast, naive) -> None:
    (t_fast, d_fast), (t_naive, d_naive) = fast, naive
    pd.testing.assert_frame_equal(t_fast, t_naive)
    assert list(d_fast.columns) == list(d_naive.columns)
    assert d_fast[["layer", "doc_id", "acc"]].equals(d_naive[["layer", "doc_id", "acc"]])
    np.testing.assert_allclose(
        np.concatenate(d_fast.loglik.tolist()), np.concatenate(d_naive.loglik.tolist()), atol=1e-4, rtol=0
    )
    assert d_fast.is_greedy.tolist() == d_naive.is_greedy.tolist()


def test_ffn_oracle_resume_equals_naive_on_tiny_models(tiny) -> None:
    _assert_oracles_equal(*_oracle_pair(tiny, 1, 6))


def test_ffn_oracle_resume_equals_naive_on_smollm2(smollm2) -> None:
    model, tok = smollm2
    fast, naive = _oracle_pair(Evaluator(model, tok, batch_size=8), 0, 3)
    _assert_oracles_equal(fast, naive)
    assert len(fast[0]) == 30


def test_resume_checkpoints_each_knockout_and_reuses_finished_ones(tmp_path) -> None:
    ev = _tiny("llama")
    reqs = build_requests(task_config(TASK), 0, limit=4)
    ck = tmp_path / "oracle.partial.jsonl"
    fake = {"layer": 1, "value": 0.25, "docs": {"doc_id": [0], "acc": [1.0], "loglik": [[-1.0]]}}
    ck.write_text(json.dumps(fake) + "\n")
    table, docs = ffn_oracle(ev, reqs, checkpoint=ck, layers_per_pass=2)
    assert docs.query("layer == 1").acc.tolist() == [1.0]  # reused, not recomputed
    assert table.knocked_out_acc.iloc[1] == 0.25
    records = [json.loads(line) for line in ck.read_text().splitlines()]
    assert sorted(r["layer"] for r in records if "layer" in r) == [-1, 0, 1, 2]
    naive_table, _ = ffn_oracle(ev, reqs, resume=False)
    assert table.knocked_out_acc.iloc[[0, 2]].tolist() == naive_table.knocked_out_acc.iloc[[0, 2]].tolist()
    with pytest.raises(ValueError, match="layers_per_pass=0"):
        ffn_oracle(ev, reqs, layers_per_pass=0)


def test_resume_out_of_memory_halves_the_batch_and_results_are_unchanged(caplog) -> None:
    import logging

    from iclprune.evaluate.scoring import ScoringOutOfMemoryError

    ev = _tiny("llama")
    ev.batch_size = 4
    reqs = build_requests(task_config(TASK), 1, limit=4)
    clean, _ = ffn_oracle(ev, reqs)
    raised = []

    def oom_above_one(module, args):  # the stock embedding, as the scorer's OOM tests use
        if args[0].shape[0] > 1:
            raised.append(args[0].shape[0])
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    handle = ev.model.get_input_embeddings().register_forward_pre_hook(oom_above_one)
    try:
        with caplog.at_level(logging.WARNING):
            halved, _ = ffn_oracle(ev, reqs)
        assert raised[:2] == [4, 2]  # 4 → 2 → 1
        assert "out of memory at batch size 4 (FFN oracle resume); retrying at 2" in caplog.text
        pd.testing.assert_frame_equal(halved, clean)
        handle.remove()
        handle = ev.model.get_input_embeddings().register_forward_pre_hook(
            lambda module, args: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory"))
        )
        with pytest.raises(
            ScoringOutOfMemoryError, match="FFN oracle's residual resume even at batch size 1"
        ):
            ffn_oracle(ev, reqs)
    finally:
        handle.remove()
