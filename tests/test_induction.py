"""Induction-head scores: prefix matching on hand-built patterns, a planted induction circuit, copying
against its loop reference, token pool, bad input, and the embedded model."""

from __future__ import annotations

import itertools
import string
import warnings

import numpy as np
import pytest
import torch

from iclprune.analysis import copying
from iclprune.analysis import induction as ind
from iclprune.model.models import tiny_model
from iclprune.model.sites import resolve

POOL = np.arange(3, 512)  # tiny models: vocab 512, ids 0..2 are pad/bos/eos


# ------------------------------------------------------------------------------- hand-built patterns
def _repeated_tokens(L: int, repeats: int = 4) -> np.ndarray:
    return np.concatenate([[0], np.tile(np.arange(1, L + 1), repeats)])


def _perfect_attention(L: int, repeats: int = 4) -> torch.Tensor:
    """Each query attends uniformly to the positions right after earlier occurrences of its token (or to
    itself when there are none), derived from token identity by brute force."""
    seq = _repeated_tokens(L, repeats)
    T = len(seq)
    attn = torch.zeros(T, T, dtype=torch.float64)
    for q in range(T):
        targets = [p + 1 for p in range(q) if seq[p] == seq[q]]
        for k in targets or [q]:
            attn[q, k] = 1.0 / len(targets or [q])
    return attn


def _uniform_causal(T: int) -> torch.Tensor:
    return (
        torch.tril(torch.ones(T, T, dtype=torch.float64))
        / torch.arange(1, T + 1, dtype=torch.float64)[:, None]
    )


def _uniform_analytic(L: int, repeats: int = 4) -> float:
    # query at q = r·L + i + 1 (0-based repeat r ≥ 1) has r targets among q + 1 attendable positions
    values = [r / (r * L + i + 2) for r in range(1, repeats) for i in range(L)]
    return float(np.mean(values))


@pytest.mark.parametrize("L", [1, 2, 5, 25])
def test_prefix_matching_perfect_pattern_is_one(L):
    attn = _perfect_attention(L)[None].expand(3, -1, -1)
    score = ind.prefix_matching_from_attention(attn, L)
    assert score.shape == (3,)
    torch.testing.assert_close(score, torch.ones(3), atol=1e-6, rtol=0)


@pytest.mark.parametrize("L", [2, 7, 25])
def test_prefix_matching_uniform_causal_matches_analytic(L):
    T = 4 * L + 1
    score = ind.prefix_matching_from_attention(_uniform_causal(T)[None, None], L)
    assert score.shape == (1, 1)
    assert score.item() == pytest.approx(_uniform_analytic(L), rel=1e-6)


def test_prefix_matching_compat_adds_only_the_spurious_term():
    L = 6
    T = 4 * L + 1
    last = [r * L + L for r in range(1, 4)]  # last token of repeats 2, 3, 4
    # perfect pattern: nothing at position 1 from those queries, so the flag changes nothing
    perfect = _perfect_attention(L)[None]
    assert ind.prefix_matching_from_attention(perfect, L, compat_off_by_one=True).item() == pytest.approx(1.0)
    # the last token of each repeat attends to position 1 only: the flag adds exactly 3 / (3L)
    attn = _perfect_attention(L)
    attn[last] = 0.0
    attn[last, 1] = 1.0
    plain = ind.prefix_matching_from_attention(attn[None], L).item()
    compat = ind.prefix_matching_from_attention(attn[None], L, compat_off_by_one=True).item()
    assert plain == pytest.approx(1.0 - 3 / (3 * L))
    assert compat - plain == pytest.approx(3 / (3 * L))
    # uniform attention: the spurious term is Σ_r 1/(q_last + 1) / (3L)
    uniform = _uniform_causal(T)[None]
    delta = (
        ind.prefix_matching_from_attention(uniform, L, compat_off_by_one=True)
        - ind.prefix_matching_from_attention(uniform, L)
    ).item()
    assert delta == pytest.approx(sum(1 / (q + 1) for q in last) / (3 * L), rel=1e-6)


def test_prefix_matching_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"expected \(heads, 21, 21\)"):
        ind.prefix_matching_from_attention(torch.zeros(2, 20, 20), L=5)


# ------------------------------------------------------------------------------- planted circuit
def _planted_induction_opt(vocab: int = 64, n_pos: int = 112, beta: float = 10.0):
    """A 2-layer, 2-head OPT with a hand-set induction circuit; every other weight is zero.

    Residual blocks: token one-hot [0, V), position one-hot [V, V+P), previous-token one-hot [V+P, 2V+P).
    Layer 0 head 0 is a previous-token head (position t attends to t−1 and copies its token into the
    previous-token block); layer 1 head 0 is the induction head (query: current token; key: previous
    token), so it attends to the positions that follow earlier occurrences of the current token.
    """
    from transformers import AutoModelForCausalLM, OPTConfig

    V, P = vocab, n_pos
    D = 2 * V + P
    config = OPTConfig(
        vocab_size=V, hidden_size=D, num_attention_heads=2, num_hidden_layers=2, ffn_dim=8,
        word_embed_proj_dim=D, max_position_embeddings=P, do_layer_norm_before=True, dropout=0.0,
        attention_dropout=0.0, activation_dropout=0.0, pad_token_id=1, bos_token_id=2, eos_token_id=2,
    )  # fmt: skip
    config._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config).eval()
    d_head = D // 2
    assert d_head >= max(V, P)
    tok, pos, prev = 0, V, V + P
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.fill_(1.0 if "layer_norm.weight" in name else 0.0)
        dec = model.model.decoder
        dec.embed_tokens.weight[torch.arange(V), tok + torch.arange(V)] = 1.0
        dec.embed_positions.weight[2 + torch.arange(P), pos + torch.arange(P)] = 1.0  # offset 2
        a0, a1 = dec.layers[0].self_attn, dec.layers[1].self_attn
        a0.q_proj.weight[torch.arange(P), pos + torch.arange(P)] = beta
        a0.k_proj.weight[1 + torch.arange(P - 1), pos + torch.arange(P - 1)] = 1.0
        a0.v_proj.weight[torch.arange(V), tok + torch.arange(V)] = 1.0
        a0.out_proj.weight[prev + torch.arange(V), torch.arange(V)] = 0.1
        a1.q_proj.weight[torch.arange(V), tok + torch.arange(V)] = beta
        a1.k_proj.weight[torch.arange(V), prev + torch.arange(V)] = 1.0
    return model


def test_planted_induction_head_scores_highest():
    model = _planted_induction_opt()
    pool = np.arange(3, 64)
    mean, var = ind.prefix_matching_scores(model, 2, pool, seeds=range(2), progress=False)
    assert mean.shape == var.shape == (2, 2)
    assert np.unravel_index(np.argmax(mean), mean.shape) == (1, 0)
    assert mean[1, 0] > 0.9
    assert np.delete(mean.ravel(), 2).max() < 0.2  # the previous-token head and the idle heads


# ------------------------------------------------------------------------------- copying
@pytest.fixture(scope="module", params=["opt", "opt-proj", "llama"])
def tiny(request):
    """Tiny OPT, tiny OPT with project_in/project_out (word_embed_proj_dim 32), tiny Llama (GQA)."""
    if request.param == "opt-proj":
        return tiny_model("opt", seed=0, attn_implementation="eager", word_embed_proj_dim=32)
    return tiny_model(request.param, seed=0, attn_implementation="eager")


def test_direct_path_reproduces_the_first_layer(tiny):
    """h0 and layer 0's attention on the direct path equal the real forward's (OPT offset, RoPE, mask)."""
    sites = resolve(tiny)
    seq = ind.induction_sequences(POOL, 0, bos_id=2, unique=True)
    path = ind.DIRECT_PATHS[sites.spec.family]
    with torch.no_grad():
        out = tiny(input_ids=torch.as_tensor(seq)[None], output_hidden_states=True, output_attentions=True)
        (inp,) = copying._direct_inputs(tiny, path, [seq])
        probs, vectors = ind.direct_path_layer(sites, sites.layers[0], inp.h0, inp.kwargs)
    torch.testing.assert_close(inp.h0, out.hidden_states[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(probs, out.attentions[0][0], atol=1e-6, rtol=0)
    assert vectors.shape == (sites.n_heads, len(seq), sites.d_head)


@pytest.mark.parametrize("source", ["value", "attention_output"])
def test_copying_vectorised_equals_naive(tiny, source):
    seeds = [0, 1] if source == "value" else [0]
    fast, fast_var = ind.copying_scores(tiny, POOL, seeds, bos_id=2, source=source, progress=False)
    slow, slow_var = ind.copying_scores_naive(tiny, POOL, seeds, bos_id=2, source=source)
    assert fast.shape == resolve(tiny).shape
    np.testing.assert_allclose(fast, slow, atol=1e-5, rtol=0)
    np.testing.assert_allclose(fast_var, slow_var, atol=1e-5, rtol=0, equal_nan=True)
    assert np.all((fast >= 0) & (fast <= 1))


def test_copying_small_logit_chunks_and_layer_subset(tiny):
    full, _ = ind.copying_scores(tiny, POOL, [0], bos_id=2, progress=False)
    part, _ = ind.copying_scores(tiny, POOL, [0], bos_id=2, layers=[1], max_logit_elems=1000, progress=False)
    np.testing.assert_allclose(part[1], full[1], atol=1e-6, rtol=0)
    assert np.isnan(part[[0, 2]]).all()


def test_copying_gpt_neox_not_implemented():
    with pytest.raises(NotImplementedError, match="gpt_neox"):
        ind.copying_scores(tiny_model("gpt_neox", attn_implementation="eager"), POOL, [0], bos_id=1)


def test_scores_restore_attention_implementation():
    model = tiny_model("llama", seed=1, attn_implementation="sdpa")
    mean, _ = ind.prefix_matching_scores(model, 1, POOL, [0], progress=False)
    assert model.config._attn_implementation == "sdpa"
    assert np.isfinite(mean).all()


def test_induction_table_columns():
    from transformers import PreTrainedTokenizerFast

    model = tiny_model("opt", seed=0, attn_implementation="eager")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_bpe_tokenizer(), bos_token="<s>", unk_token="<unk>")
    table = ind.induction_table(model, tokenizer, seeds=[0, 1], pool=POOL, progress=False)
    assert list(table.columns) == [
        "layer", "head", "prefix_matching", "prefix_matching_var", "copying", "copying_var",
    ]  # fmt: skip
    assert len(table) == 3 * 4
    assert table[["layer", "head"]].iloc[5].tolist() == [1, 1]
    assert table.notna().all().all()


# ------------------------------------------------------------------------------- sequences, pool
def test_induction_sequences_layout_and_determinism():
    rep = ind.induction_sequences(POOL, 3, bos_id=2)
    L = 2 * 3 + 25
    assert rep.shape == (4 * L + 1,)
    assert rep[0] == 2
    body = rep[1:].reshape(4, L)
    assert (body == body[0]).all()
    assert len(set(body[0])) == L
    uniq = ind.induction_sequences(POOL, 3, bos_id=2, unique=True)
    assert uniq.shape == (4 * L + 1,)
    assert len(set(uniq[1:])) == 4 * L
    assert set(uniq[1:]) <= set(POOL)
    np.testing.assert_array_equal(rep, ind.induction_sequences(POOL, 3, bos_id=2))
    assert not np.array_equal(rep, ind.induction_sequences(POOL, 4, bos_id=2)[: len(rep)])


def test_sequence_longer_than_context_is_rejected():
    with pytest.raises(ValueError, match=r"301 tokens.*context of 128"):
        ind.induction_sequences(POOL, 25, bos_id=2, max_length=128)
    model = tiny_model("opt", seed=0, attn_implementation="eager", max_position_embeddings=64)
    with pytest.raises(ValueError, match=r"101 tokens.*context of 64"):
        ind.prefix_matching_scores(model, 2, POOL, [0], progress=False)
    with pytest.raises(ValueError, match=r"101 tokens.*context of 64"):
        ind.copying_scores(model, POOL, [0], bos_id=2, progress=False)


def test_small_or_empty_pool_is_rejected():
    with pytest.raises(ValueError, match=r"holds 20 tokens but 25"):
        ind.induction_sequences(np.arange(20), 0, bos_id=2)
    with pytest.raises(ValueError, match=r"holds 50 tokens but 100"):
        ind.induction_sequences(np.arange(50), 0, bos_id=2, unique=True)
    model = tiny_model("opt", seed=0, attn_implementation="eager")
    with pytest.raises(ValueError, match="empty"):
        ind.prefix_matching_scores(model, 2, np.array([], dtype=int), [0], progress=False)
    with pytest.raises(ValueError, match="outside the model's vocabulary"):
        ind.prefix_matching_scores(model, 2, np.arange(400, 600), [0], progress=False)


def _bpe_tokenizer(n_merges: int = 50):
    from tokenizers import Tokenizer, models

    chars = list(string.ascii_lowercase)
    vocab = {"<s>": 0, "<unk>": 1} | {c: i + 2 for i, c in enumerate(chars)}
    merges = list(itertools.islice(itertools.product(chars, chars), n_merges))
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))


def test_token_pool_drops_specials_and_fractions():
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=_bpe_tokenizer(), bos_token="<s>", unk_token="<unk>")
    tokenizer.add_special_tokens({"additional_special_tokens": ["ac"]})  # a merge product made special
    special = tokenizer.convert_tokens_to_ids("ac")
    merged = list(range(28, 78))  # the 50 merge products, in merge-rank order
    pool = ind.token_pool(tokenizer)
    kept = [t for t in merged if t != special]  # 49 left: drop int(0.04·49) = 1 at each end
    assert pool.tolist() == kept[1:-1]
    assert special not in pool
    assert not set(pool) & set(tokenizer.all_special_ids)
    assert ind.token_pool(tokenizer, drop_frac=0.1).tolist() == kept[4:-4]
    np.testing.assert_array_equal(pool, ind.token_pool(tokenizer))
    with pytest.raises(ValueError, match="drop_frac"):
        ind.token_pool(tokenizer, drop_frac=0.5)


def test_token_pool_without_merges_warns_and_uses_id_order():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {"<s>": 0, "<unk>": 1} | {c: i + 2 for i, c in enumerate(string.ascii_lowercase)}
    word_level = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, bos_token="<s>", unk_token="<unk>")
    with pytest.warns(UserWarning, match="no BPE merges"):
        pool = ind.token_pool(tokenizer, drop_frac=0.1)
    assert pool.tolist() == list(range(4, 26))  # 26 non-special ids, int(2.6) = 2 dropped at each end


# ------------------------------------------------------------------------------- embedded model
@pytest.fixture
def one_thread():
    """One torch thread for the duration of a test, restored afterwards.

    On a shared 2-core machine, two OpenMP threads waiting on busy cores made SmolLM2's three forward
    passes take 27 s instead of 1.4 s; with the cores free, one thread costs at most a factor of two.
    """
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


@pytest.mark.integration
@pytest.mark.usefixtures("one_thread")
def test_smollm2_has_strong_prefix_matching_heads(smollm2):
    model, tokenizer = smollm2
    pool = ind.token_pool(tokenizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a real BPE tokenizer: no fallback
        assert len(pool) > 40_000
    mean, _ = ind.prefix_matching_scores(model, tokenizer, pool, seeds=range(3), progress=False)
    flat = mean.ravel()
    top = np.argsort(-flat)[:5]
    median = float(np.median(flat))
    print(
        "SmolLM2 prefix matching top 5:",
        [(*divmod(int(i), mean.shape[1]), round(float(flat[i]), 3)) for i in top],
    )
    print(f"SmolLM2 prefix matching median: {median:.4f}")
    assert flat.max() > 0.5
    assert flat.max() > 5 * median
    # copying on the layers of the two strongest prefix-matching heads (all layers cost minutes on CPU)
    layers = sorted({int(i) // mean.shape[1] for i in top[:2]})
    cp, _ = ind.copying_scores(model, pool, [0], bos_id=tokenizer, layers=layers, progress=False)
    print("SmolLM2 copying (seed 0) of layers", layers, ":", np.round(cp[layers], 3).tolist())
    assert np.all((cp[layers] >= 0) & (cp[layers] <= 1))
