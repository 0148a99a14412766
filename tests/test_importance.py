"""Gradient head importance against independent references: finite differences and a naive loop."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import torch

from iclprune.analysis.importance import HeadImportance, head_importance
from iclprune.analysis.importance_bootstrap import DocScores, reaggregate
from iclprune.evaluate.batching import Example, encode_pair
from iclprune.model.models import tiny_model
from iclprune.model.sites import resolve
from iclprune.model.surgery import gated


def _examples(n: int = 8, seed: int = 0, vocab: int = 500) -> list[Example]:
    """Examples of different context and continuation lengths (so a batch needs padding)."""
    rng = random.Random(seed)
    return [
        Example(
            tuple(rng.randrange(3, vocab) for _ in range(rng.randint(2, 14))),
            tuple(rng.randrange(3, vocab) for _ in range(rng.randint(1, 4))),
        )
        for _ in range(n)
    ]


def _example_loss(model, ex: Example) -> torch.Tensor:
    """Mean NLL of the continuation from the full logits (no logits_to_keep, no batching)."""
    ids = torch.tensor([ex.context + ex.continuation])
    logprobs = torch.log_softmax(model(ids).logits[0].double(), dim=-1)
    c = len(ex.context)
    targets = torch.tensor(ex.continuation)
    return -logprobs[c - 1 : c - 1 + len(targets)].gather(1, targets[:, None]).mean()


# OPT is exactly float64 but ReLU (kinks: small step); Llama is smooth (SiLU) but its RMSNorm rounds
# through float32 (noise: larger step).
@pytest.mark.parametrize(("family", "eps"), [("opt", 1e-5), ("llama", 2e-2)])
def test_michel_equals_finite_difference_of_a_head_gate(family: str, eps: float) -> None:
    model = tiny_model(family, seed=11, dtype="float64")
    examples = _examples(4, seed=1)
    got = head_importance(model, examples, batch_size=3).michel
    sites = resolve(model)

    def loss_at(gates: torch.Tensor) -> float:
        with torch.no_grad(), gated(model, gates):
            return float(torch.stack([_example_loss(model, e) for e in examples]).mean())

    # Central differences with Richardson extrapolation (error O(eps^4)).
    def central(layer: int, head: int, eps: float) -> float:
        up = torch.ones(sites.shape, dtype=torch.float64)
        down = up.clone()
        up[layer, head] += eps
        down[layer, head] -= eps
        return (loss_at(up) - loss_at(down)) / (2 * eps)

    fd = np.zeros(sites.shape)
    for layer in range(sites.n_layers):
        for head in range(sites.n_heads):
            fd[layer, head] = abs(4 * central(layer, head, eps / 2) - central(layer, head, eps)) / 3
    np.testing.assert_allclose(got, fd, rtol=1e-3, atol=1e-9)


def _naive_bansal(model, examples: list[Example]) -> np.ndarray:
    """Per example, per token, per head: retain A's gradient with trainable weights, loop in Python,
    then normalise like the paper's code (Σ(N_i − 1) below the last layer, answer tokens for the last)."""
    sites = resolve(model)
    total = np.zeros(sites.shape)
    n_pos = n_ans = 0
    for ex in examples:
        captured: list[torch.Tensor] = []

        def keep(module, args, captured=captured):
            args[0].retain_grad()
            captured.append(args[0])

        handles = [ls.o.register_forward_pre_hook(keep) for ls in sites.layers]
        try:
            model.zero_grad()
            _example_loss(model, ex).backward()
        finally:
            for h in handles:
                h.remove()
        T = len(ex.context) + len(ex.continuation)
        for layer, a in enumerate(captured):
            A = a[0].detach().view(T, sites.n_heads, sites.d_head)
            G = a.grad[0].view(T, sites.n_heads, sites.d_head)
            for t in range(T):
                for h in range(sites.n_heads):
                    total[layer, h] += abs(float((A[t, h] * G[t, h]).sum()))
        n_pos += T - 1
        n_ans += len(ex.continuation)
    total[:-1] /= n_pos
    total[-1] /= n_ans
    return total


@pytest.mark.parametrize("family", ["opt", "llama"])
def test_bansal_equals_naive_per_example_per_token_reference(family: str) -> None:
    model = tiny_model(family, seed=12, dtype="float64")
    examples = _examples(5, seed=2)
    want = _naive_bansal(model, examples)
    got = head_importance(model, examples, batch_size=5).bansal
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("family", ["opt", "llama"])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_padded_batch_equals_one_at_a_time(family: str, padding_side: str) -> None:
    model = tiny_model(family, seed=13)
    examples = _examples(8, seed=3)
    one = head_importance(model, examples, batch_size=1)
    batch = head_importance(model, examples, batch_size=8, padding_side=padding_side)
    for variant in ("bansal", "michel"):
        np.testing.assert_allclose(batch.scores(variant), one.scores(variant), rtol=1e-4, atol=1e-7)
    assert (batch.n_examples, batch.n_positions, batch.n_answer_tokens) == (
        one.n_examples,
        one.n_positions,
        one.n_answer_tokens,
    )


def test_no_weight_gradients_are_built_and_flags_are_restored() -> None:
    model = tiny_model("llama", seed=14)
    model.train()
    next(model.parameters()).requires_grad_(False)  # one frozen by the user: stays frozen
    flags = [p.requires_grad for p in model.parameters()]
    seen_flags: list[bool] = []
    first = resolve(model).layers[0].o
    first.register_forward_pre_hook(
        lambda m, a: seen_flags.extend(p.requires_grad for p in model.parameters())
    )
    head_importance(model, _examples(3))
    assert seen_flags
    assert not any(seen_flags)
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert model.training


def test_normalisers_and_long_table() -> None:
    model = tiny_model("opt", seed=15)
    examples = _examples(4, seed=4)
    raw = head_importance(model, examples, normalizer="none")
    paper = head_importance(model, examples)
    np.testing.assert_allclose(paper.bansal[:-1], raw.bansal[:-1] / raw.n_positions, rtol=1e-12)
    np.testing.assert_allclose(paper.bansal[-1], raw.bansal[-1] / raw.n_answer_tokens, rtol=1e-12)
    per_ex = head_importance(model, examples, normalizer="examples")
    np.testing.assert_allclose(per_ex.bansal, raw.bansal / 4, rtol=1e-12)
    np.testing.assert_allclose(raw.michel, paper.michel)  # michel is |dL/dξ| whatever the flag
    table = paper.to_frame()
    assert list(table.columns) == ["variant", "layer", "head", "score"]
    assert len(table) == 2 * 3 * 4
    row = table.query("variant == 'bansal' and layer == 2 and head == 1")
    assert float(row.score.iloc[0]) == paper.bansal[2, 1]


@pytest.mark.parametrize("normalizer", ["paper", "answer_tokens", "examples", "none"])
def test_per_example_sums_reaggregate_to_the_scores(normalizer: str) -> None:
    """The identity resample of the per-example sums gives the scores (to 1e-12), through the in-memory
    sums and through the long per-document table; the counts add up to the totals."""
    model = tiny_model("opt", seed=17, dtype="float64")
    examples = _examples(7, seed=5)
    result = head_importance(model, examples, batch_size=3, normalizer=normalizer)
    n, (L, H) = len(examples), result.bansal.shape
    assert result.doc_abs.shape == result.doc_signed.shape == (n, L, H)
    assert int(result.doc_n_positions.sum()) == result.n_positions
    assert int(result.doc_n_answer_tokens.sum()) == result.n_answer_tokens
    assert result.doc_n_positions.tolist() == [len(e.context) + len(e.continuation) - 1 for e in examples]
    ids = [100 + 3 * i for i in range(n)]
    frame = result.to_docs_frame(ids)
    assert list(frame.columns) == [
        "doc_id", "layer", "head", "abs_sum", "signed_sum", "n_positions", "n_answer_tokens", "normalizer",
    ]  # fmt: skip
    assert len(frame) == n * L * H
    assert sorted(set(frame.doc_id)) == ids
    for variant in ("bansal", "michel"):
        want = result.scores(variant)
        np.testing.assert_allclose(result.doc_scores().scores(variant), want, rtol=1e-12, atol=0)
        np.testing.assert_allclose(
            result.doc_scores().scores(variant, np.arange(n)), want, rtol=1e-12, atol=0
        )
        np.testing.assert_allclose(reaggregate(frame, variant=variant), want, rtol=1e-12, atol=0)
        np.testing.assert_allclose(
            reaggregate(frame.sample(frac=1.0, random_state=0), np.arange(n), variant=variant),
            want, rtol=1e-12, atol=0,
        )  # fmt: skip
    # each example's sums are the sums of its own tokens: the same as scoring it alone
    alone = head_importance(model, examples[2:3], normalizer="none")
    np.testing.assert_allclose(result.doc_abs[2], alone.bansal, rtol=1e-9)
    np.testing.assert_allclose(np.abs(result.doc_signed[2]), alone.michel, rtol=1e-9)


def test_a_resample_equals_scoring_the_resampled_examples() -> None:
    """Re-aggregating on a resample (repeats included) gives what scoring those examples gives."""
    model = tiny_model("llama", seed=18, dtype="float64")
    examples = _examples(6, seed=6)
    docs = head_importance(model, examples, batch_size=4).doc_scores()
    index = [4, 0, 0, 5, 2, 4]
    again = head_importance(model, [examples[i] for i in index], batch_size=4)
    for variant in ("bansal", "michel"):
        np.testing.assert_allclose(docs.scores(variant, index), again.scores(variant), rtol=1e-9)
    frame = docs.to_frame()
    back = DocScores.from_frame(frame)
    np.testing.assert_array_equal(back.abs_sum, docs.abs_sum)
    np.testing.assert_array_equal(back.n_answer_tokens, docs.n_answer_tokens)
    with pytest.raises(ValueError, match="one row per document and head"):
        DocScores.from_frame(frame.iloc[1:])
    with pytest.raises(ValueError, match="index must be positions"):
        docs.scores("bansal", [6])


def test_long_contexts_are_truncated_from_the_left() -> None:
    model = tiny_model("opt", seed=16)
    ex = Example(tuple(range(3, 40)), (5, 6))
    short = Example(tuple(range(3, 40))[-8:], (5, 6))
    np.testing.assert_allclose(
        head_importance(model, [ex], max_length=10).bansal, head_importance(model, [short]).bansal, rtol=1e-6
    )


def test_bad_input_is_named() -> None:
    model = tiny_model("opt")
    with pytest.raises(ValueError, match="empty continuation"):
        Example((1, 2), ())
    with pytest.raises(ValueError, match="no examples"):
        head_importance(model, [])
    with pytest.raises(ValueError, match="padding_side='middle'"):
        head_importance(model, _examples(1), padding_side="middle")
    with pytest.raises(ValueError, match="normalizer='l2'"):
        head_importance(model, _examples(1), normalizer="l2")
    with pytest.raises(ValueError, match="batch_size=0"):
        head_importance(model, _examples(1), batch_size=0)
    with pytest.raises(ValueError, match="continuation of 12 tokens does not fit"):
        head_importance(model, [Example((3,), tuple(range(3, 15)))], max_length=10)
    with pytest.raises(ValueError, match="unknown importance variant 'paper'"):
        HeadImportance(np.zeros((1, 1)), np.zeros((1, 1)), 1, 1, 1, "paper").scores("paper")


class _WordTokenizer:
    """Whitespace-aware toy tokenizer: each word with its leading space is one token."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        import re

        return {"input_ids": [hash(w) % 1000 for w in re.findall(r"\s*\S+|\s+$", text)]}


def test_encode_pair_moves_trailing_space_to_the_continuation() -> None:
    tok = _WordTokenizer()
    ex = encode_pair(tok, "Question: is it? Answer: ", "yes")
    assert ex == encode_pair(tok, "Question: is it? Answer:", " yes")
    assert len(ex.continuation) == 1


def test_the_stage_writes_the_per_document_table_before_the_scores(tmp_path) -> None:
    """``heads.docs.parquet`` beside ``heads.parquet``: lm-eval's doc ids, and the identity resample of its
    sums gives the stage's scores."""
    from iclprune.core.settings import ImportanceSettings
    from iclprune.workflow import stages

    out = tmp_path / "heads.parquet"
    stages.head_importance(
        {"source": "tiny:llama", "dtype": "float32"}, "icl_antonyms", 1, out,
        importance=ImportanceSettings(n_docs=3, batch_size=2),
    )  # fmt: skip
    docs = pd.read_parquet(tmp_path / "heads.docs.parquet")
    scores = pd.read_parquet(out)
    assert list(docs.columns[:3]) == ["task", "shot", "doc_id"]
    assert set(docs.task) == {"icl_antonyms"}
    assert set(docs.shot) == {1}
    assert sorted(set(docs.doc_id)) == [0, 1, 2]  # the first three training documents
    assert (tmp_path / "heads.docs.parquet").stat().st_mtime_ns <= out.stat().st_mtime_ns
    for variant in ("bansal", "michel"):
        want = scores[scores.variant == variant].pivot(index="layer", columns="head", values="score")
        np.testing.assert_allclose(reaggregate(docs, variant=variant), want.to_numpy(), rtol=1e-12)
