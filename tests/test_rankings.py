"""Head rankings beyond the paper's: the single-head oracle (resumed = naive) and iterative re-scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iclprune.analysis.importance import head_importance
from iclprune.analysis.pruning import head_ranking, pruning_sweep
from iclprune.analysis.rankings import ORACLE_COLUMNS, head_oracle, iterative_head_ranking
from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests, gold_index
from iclprune.evaluate.resume import masked_loglikelihoods
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model, tiny_model
from iclprune.model.sites import resolve

TASK = "icl_antonyms"


def _tiny(family: str) -> Evaluator:
    _, tok = load_model("tiny:llama")  # SmolLM2's tokenizer
    model = tiny_model(family, seed=5, vocab_size=len(tok), pad_token_id=tok.pad_token_id or 0)
    return Evaluator(model, tok, batch_size=3)


@pytest.fixture(scope="module", params=["opt", "llama"])
def tiny(request) -> Evaluator:
    return _tiny(request.param)


def _importance_reqs(shots: int = 1, n_docs: int = 5):
    return build_requests(task_config(TASK), shots, limit=n_docs, role="importance")


def _naive_gold(evaluator: Evaluator, reqs, mask: Mask) -> tuple[float, float]:
    """Mean gold log-likelihood and accuracy of one knock-out by a full lm-eval-equivalent evaluation."""
    from iclprune.evaluate.evaluation import score_responses

    result = score_responses(reqs, evaluator.loglikelihoods(reqs, mask))
    golds = [gold_index(reqs.task, doc) for _, doc in reqs.docs]
    ll = [row[g] for row, g in zip(result.per_doc.loglik, golds, strict=True)]
    return float(np.mean(ll)), float(result.per_doc.acc.mean())


def test_resumed_oracle_equals_one_full_forward_per_knockout(tiny) -> None:
    reqs = _importance_reqs()
    fast, fast_docs = head_oracle(tiny, reqs)
    slow, slow_docs = head_oracle(tiny, reqs, resume=False)
    L, H = resolve(tiny.model).shape
    assert list(fast.columns) == ORACLE_COLUMNS
    assert len(fast) == L * H
    assert (fast.variant == "oracle").all()
    np.testing.assert_allclose(fast.score, slow.score, atol=1e-4, rtol=0)
    np.testing.assert_allclose(fast.acc_drop, slow.acc_drop, atol=1e-9)
    np.testing.assert_allclose(fast_docs.gold_loglik, slow_docs.gold_loglik, atol=1e-4, rtol=0)
    # the scores are what a knock-out really costs, head by head (and they are not all zero)
    for layer, h in [(0, 0), (L - 1, H - 1)]:
        full_ll, full_acc = _naive_gold(tiny, reqs, Mask())
        ll, acc = _naive_gold(tiny, reqs, Mask(heads=frozenset({(layer, h)})))
        row = fast[(fast.layer == layer) & (fast["head"] == h)].iloc[0]
        assert row.score == pytest.approx(full_ll - ll, abs=1e-4)
        assert row.acc_drop == pytest.approx(100 * (full_acc - acc), abs=1e-9)
    assert fast.score.abs().max() > 1e-4


def test_resumed_oracle_is_bit_equal_to_the_same_work_from_layer_zero(tiny) -> None:
    """The resume path against ``resume=False`` of the same function (same rows, same unembedding)."""
    reqs = _importance_reqs(n_docs=3)
    L, H = resolve(tiny.model).shape
    masks = [Mask()] + [Mask(heads=frozenset({(layer, h)})) for layer in range(L) for h in range(H)]
    ex = tiny.examples(reqs)
    assert masked_loglikelihoods(tiny.model, ex, masks, batch_size=2) == masked_loglikelihoods(
        tiny.model, ex, masks, batch_size=2, resume=False
    )


def test_oracle_on_smollm2_equals_naive_knockouts(smollm2) -> None:
    """The embedded model (Llama, GQA), two importance documents, every head."""
    net, tok = smollm2
    ev = Evaluator(net, tok, batch_size=4)
    reqs = _importance_reqs(shots=1, n_docs=2)
    fast, _ = head_oracle(ev, reqs, layers_per_pass=10)
    L, H = resolve(net).shape
    assert len(fast) == L * H
    rng = np.random.default_rng(0)
    for i in rng.choice(L * H, size=4, replace=False):
        layer, h = divmod(int(i), H)
        full_ll, _ = _naive_gold(ev, reqs, Mask())
        ll, _ = _naive_gold(ev, reqs, Mask(heads=frozenset({(layer, h)})))
        assert fast.score.iloc[i] == pytest.approx(full_ll - ll, abs=2e-4)


def test_oracle_checkpoint_resumes_after_a_crash(tiny, tmp_path, monkeypatch) -> None:
    from iclprune.analysis import rankings

    reqs = _importance_reqs(n_docs=3)
    want, want_docs = head_oracle(tiny, reqs)
    ck = tmp_path / "oracle.partial.jsonl"
    real = rankings._resumed
    calls = []

    def crash_on_second(evaluator, reqs, keys, progress):
        calls.append(list(keys))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(evaluator, reqs, keys, progress)

    monkeypatch.setattr(rankings, "_resumed", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        head_oracle(tiny, reqs, checkpoint=ck, layers_per_pass=1)
    monkeypatch.setattr(rankings, "_resumed", lambda *a: calls.append(list(a[2])) or real(*a))
    got, got_docs = head_oracle(tiny, reqs, checkpoint=ck, layers_per_pass=1)
    H = resolve(tiny.model).n_heads
    assert calls[2][0] == (1, 0)  # the first pass (full model + layer 0) came from the checkpoint
    assert len(calls[2]) == H
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(got_docs, want_docs)


def test_oracle_cut_inside_a_pass_reruns_that_pass_whole(tiny, tmp_path, monkeypatch) -> None:
    """A kill between the checkpoint lines of one pass: the resumed oracle runs that pass with all its
    knock-outs (the same tiles as before), so its tables are bit-identical to the uninterrupted ones."""
    from iclprune.analysis import rankings

    reqs = _importance_reqs(n_docs=3)
    tiled = tiny  # mask_batch = 4: four knock-outs of a layer per tiled forward
    ck = tmp_path / "oracle.partial.jsonl"
    want, want_docs = head_oracle(tiled, reqs, checkpoint=ck, layers_per_pass=1)
    H = resolve(tiny.model).n_heads
    lines = ck.read_text().splitlines(keepends=True)
    ck.write_text("".join(lines[: H + 3]))  # pass 0 (full model + layer 0) and two knock-outs of layer 1
    real, calls = rankings._resumed, []
    monkeypatch.setattr(rankings, "_resumed", lambda *a: calls.append(list(a[2])) or real(*a))
    got, got_docs = head_oracle(tiled, reqs, checkpoint=ck, layers_per_pass=1)
    assert calls[0] == [(1, h) for h in range(H)]
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    pd.testing.assert_frame_equal(got_docs, want_docs, check_exact=True)
    assert len(ck.read_text().splitlines()) == len(lines)  # nothing checkpointed twice


def _examples(evaluator: Evaluator, n_docs: int = 6):
    return evaluator.importance_examples(_importance_reqs(shots=1, n_docs=n_docs))


def test_iterative_with_one_step_is_the_one_shot_ranking(tiny) -> None:
    ex = _examples(tiny)
    table = iterative_head_ranking(tiny.model, ex, step_pct=100, max_pct=90, batch_size=4)
    one_shot = head_importance(tiny.model, ex, batch_size=4).scores("bansal")
    order = [(int(r.layer), int(r["head"])) for _, r in table.sort_values("score").iterrows()]
    assert order == head_ranking(one_shot)
    assert (table.step == 0).all()
    ranking = head_ranking(table.pivot(index="layer", columns="head", values="score").to_numpy())
    assert ranking == order  # the table ranks like any score table (ascending = pruned first)


def test_iterative_sweep_with_one_step_equals_the_one_shot_sweep(tiny) -> None:
    ex = _examples(tiny)
    iterative = iterative_head_ranking(tiny.model, ex, step_pct=100, max_pct=90, batch_size=4)
    one_shot = head_importance(tiny.model, ex, batch_size=4).scores("bansal")
    reqs = build_requests(task_config(TASK), 1, limit=4)
    grid = [(p, 0.0) for p in (0, 30, 60, 90)]
    heads = head_ranking(iterative.pivot(index="layer", columns="head", values="score").to_numpy())
    a, a_docs = pruning_sweep(tiny, reqs, grid, heads=heads)
    b, b_docs = pruning_sweep(tiny, reqs, grid, heads=head_ranking(one_shot))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a_docs, b_docs)


def test_iterative_rescores_with_the_removed_heads_masked(tiny) -> None:
    from iclprune.analysis.agreement import n_removed
    from iclprune.model.surgery import masked

    ex = _examples(tiny)
    L, H = resolve(tiny.model).shape
    table = iterative_head_ranking(tiny.model, ex, step_pct=25, max_pct=75, batch_size=4)
    order = [(int(r.layer), int(r["head"])) for _, r in table.sort_values("score").iterrows()]
    k = n_removed(25, L * H)
    assert sorted(order) == [(la, h) for la in range(L) for h in range(H)]
    assert order[:k] == head_ranking(head_importance(tiny.model, ex, batch_size=4).scores("bansal"))[:k]
    # step 1 ranks the heads still present by the gradient with step 0's heads masked out
    with masked(tiny.model, Mask(heads=frozenset(order[:k]))):
        rescored = head_importance(tiny.model, ex, batch_size=4).scores("bansal")
    present = [x for x in head_ranking(rescored) if x not in set(order[:k])]
    assert order[k : 2 * k] == present[:k]
    assert list(table.sort_values("score").step) == sorted(table.step)
    # re-scored until 75% are removed (the last step orders the rest): ⌈⌊75%·N⌋ / k⌉ steps
    assert table.step.max() + 1 == -(-n_removed(75, L * H) // k)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"step_pct": 0}, "step_pct=0"), ({"max_pct": 120}, "max_pct=120"), ({"variant": "x"}, "variant 'x'")],
)
def test_iterative_refuses_bad_settings(tiny, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        iterative_head_ranking(tiny.model, _examples(tiny, 2), **kwargs)


@pytest.mark.parametrize("family", ["opt", "llama", "gpt_neox"])
def test_several_knockouts_per_forward_equal_one_at_a_time(family) -> None:
    """Masks that start at one layer, tiled into one forward (mask_batch), give each mask's own responses."""
    ev = _tiny(family)
    reqs = build_requests(task_config(TASK), 1, limit=4)
    L, H = resolve(ev.model).shape
    masks = [Mask()] + [Mask(heads=frozenset({(layer, h)})) for layer in range(L) for h in range(H)]
    masks.append(Mask(ffns=frozenset({1})))
    ex = ev.examples(reqs)
    one = masked_loglikelihoods(ev.model, ex, masks, batch_size=3)
    for mask_batch in (2, H):
        tiled = masked_loglikelihoods(ev.model, ex, masks, batch_size=3, mask_batch=mask_batch)
        for a, b in zip(one, tiled, strict=True):
            np.testing.assert_allclose([x[0] for x in a], [x[0] for x in b], atol=1e-5, rtol=0)
            assert [x[1] for x in a] == [x[1] for x in b]
    with pytest.raises(ValueError, match="mask_batch=0"):
        masked_loglikelihoods(ev.model, ex, masks, mask_batch=0)
