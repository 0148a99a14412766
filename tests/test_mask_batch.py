"""Several masks in the same forwards (``evaluation.mask_batch``) give the results of one mask at a time."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from iclprune.analysis.pruning import head_ranking, pruning_mask, pruning_sweep
from iclprune.core.components import Mask
from iclprune.evaluate.evaluation import Evaluator, build_requests
from iclprune.evaluate.taskdefs import task_config
from iclprune.model.models import load_model
from iclprune.model.sites import resolve
from iclprune.model.surgery import masked, variants_masked

TOL = 1e-4  # fp32, |Δ loglik|


@pytest.fixture(scope="module", params=["llama", "opt", "gpt_neox"])
def tiny(request):
    return load_model(f"tiny:{request.param}", seed=0)


def _masks(model) -> list[Mask]:
    """The full model, heads only, an FFN only, and both, in different layers."""
    last = resolve(model).n_layers - 1
    return [
        Mask(),
        Mask(frozenset({(0, 1), (last, 0)})),
        Mask(ffns=frozenset({last})),
        Mask(frozenset({(last, 1)}), frozenset({0})),
    ]


def _assert_close(got, ref) -> None:
    assert len(got) == len(ref)
    np.testing.assert_allclose([g[0] for g in got], [r[0] for r in ref], atol=TOL, rtol=0)
    assert [g[1] for g in got] == [r[1] for r in ref]


def test_variant_hooks_give_each_block_of_rows_its_mask(tiny) -> None:
    model, _ = tiny
    masks = _masks(model)
    ids = torch.randint(3, 60, (2, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        refs = []
        for m in masks:
            with masked(model, m):
                refs.append(model(input_ids=ids).logits)
        with variants_masked(model, masks):
            tiled = model(input_ids=ids.repeat(len(masks), 1)).logits
    for k, ref in enumerate(refs):
        torch.testing.assert_close(tiled[2 * k : 2 * k + 2], ref, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(refs[0], refs[3])  # the masks change the logits
    bad = pytest.raises(ValueError, match="5 rows cannot hold 4 mask variants")
    with bad, variants_masked(model, masks), torch.no_grad():
        model(input_ids=ids[:1].repeat(5, 1))
    with torch.no_grad():  # the hooks are gone
        torch.testing.assert_close(model(input_ids=ids).logits, refs[0], atol=0, rtol=0)


@pytest.mark.parametrize(("task", "shots"), [("icl_continuation", 3), ("icl_lastword", 2)])
def test_mask_batch_matches_one_mask_at_a_time(tiny, task, shots) -> None:
    model, tok = tiny
    reqs = build_requests(task_config(task), shots, limit=5)
    masks = _masks(model)
    one = Evaluator(model, tok, batch_size=3)
    ref = [one.loglikelihoods(reqs, m) for m in masks]
    for mask_batch in (2, 3, 8):  # chunks of 2+2, 3+1, and all four in one
        got = Evaluator(model, tok, batch_size=3, mask_batch=mask_batch).loglikelihoods_many(reqs, masks)
        for g, r in zip(got, ref, strict=True):
            _assert_close(g, r)


def test_sweep_tables_equal_with_and_without_mask_batch(tmp_path) -> None:
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_antonyms"), 1, limit=6)
    heads = head_ranking(np.random.default_rng(0).random(resolve(model).shape))
    grid = [(p, 0.0) for p in (0, 25, 50, 75, 100)] + [(0, 0.0)]  # a repeated mask is scored once
    tables = {}
    for k in (1, 4):
        ev = Evaluator(model, tok, batch_size=2, mask_batch=k)
        tables[k] = pruning_sweep(ev, reqs, grid, heads=heads, checkpoint=tmp_path / f"k{k}.jsonl")
    table1, docs1 = tables[1]
    table4, docs4 = tables[4]
    assert table1.equals(table4)
    assert docs1.drop(columns="loglik").equals(docs4.drop(columns="loglik"))
    np.testing.assert_allclose(np.stack(docs1["loglik"]), np.stack(docs4["loglik"]), atol=TOL, rtol=0)
    by_point = docs1.groupby("pct_heads")["loglik"].apply(lambda s: float(np.sum(np.stack(s))))
    assert by_point.nunique() == 5  # every mask changes the scores (a random model's accuracy is flat)


def test_out_of_memory_splits_the_masks(caplog) -> None:
    model, tok = load_model("tiny:opt", seed=0)
    reqs = build_requests(task_config("icl_continuation"), 2, limit=3)
    masks = _masks(model)
    ref = [Evaluator(model, tok, batch_size=2).loglikelihoods(reqs, m) for m in masks]

    def oom_above_two_variants(module, args):  # even one context per mask does not fit with 4 masks
        if args[0].shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    handle = model.get_input_embeddings().register_forward_pre_hook(oom_above_two_variants)
    try:
        with caplog.at_level(logging.WARNING):
            got = Evaluator(model, tok, batch_size=2, mask_batch=4).loglikelihoods_many(reqs, masks)
    finally:
        handle.remove()
    for g, r in zip(got, ref, strict=True):
        _assert_close(g, r)
    assert "out of memory with 4 mask variants per forward; splitting them" in caplog.text


def test_bad_mask_batch_is_refused() -> None:
    model, tok = load_model("tiny:llama", seed=0)
    with pytest.raises(ValueError, match="mask_batch=0; expected a positive integer"):
        Evaluator(model, tok, mask_batch=0)


def test_a_sweep_resumed_mid_chunk_tiles_the_masks_as_before(tmp_path, monkeypatch) -> None:
    """A kill can land between the checkpoint lines of one chunk; the resumed sweep must form the same
    tiles (the same masks per forward) as the uninterrupted one, or its floats differ in the last bits."""
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_antonyms"), 1, limit=4)
    heads = head_ranking(np.random.default_rng(0).random(resolve(model).shape))
    grid = [(p, 0.0) for p in range(0, 100, 10)]
    ev = Evaluator(model, tok, batch_size=2, mask_batch=4)
    tiles: list[list[Mask]] = []
    many = Evaluator.evaluate_many

    def spy(self, reqs, masks):
        tiles.append(list(masks))
        return many(self, reqs, masks)

    monkeypatch.setattr(Evaluator, "evaluate_many", spy)
    full = pruning_sweep(ev, reqs, grid, heads=heads, checkpoint=tmp_path / "full.jsonl")
    uninterrupted = list(tiles)
    assert [len(t) for t in uninterrupted] == [4, 4, 2]
    lines = (tmp_path / "full.jsonl").read_text().splitlines(keepends=True)
    for cut in (1, 4, 5):  # inside the first chunk, at its end, inside the second
        (tmp_path / "cut.jsonl").write_text("".join(lines[:cut]))
        tiles.clear()
        resumed = pruning_sweep(ev, reqs, grid, heads=heads, checkpoint=tmp_path / "cut.jsonl")
        assert tiles == uninterrupted[cut // 4 :], cut
        pd.testing.assert_frame_equal(resumed[0], full[0], check_exact=True)
        pd.testing.assert_frame_equal(resumed[1], full[1], check_exact=True)


def test_points_loaded_from_a_checkpoint_count_as_evaluated_for_later_sweeps(tmp_path) -> None:
    model, tok = load_model("tiny:llama", seed=0)
    reqs = build_requests(task_config("icl_antonyms"), 1, limit=4)
    heads = head_ranking(np.random.default_rng(0).random(resolve(model).shape))
    ev = Evaluator(model, tok, batch_size=2, mask_batch=4)
    pruning_sweep(ev, reqs, [(0, 0.0), (50, 0.0)], heads=heads, checkpoint=tmp_path / "a.jsonl")
    memo: dict = {}
    pruning_sweep(ev, reqs, [(0, 0.0), (50, 0.0)], heads=heads, checkpoint=tmp_path / "a.jsonl", memo=memo)
    assert set(memo) == {pruning_mask(heads, 0, None, 0), pruning_mask(heads, 50, None, 0)}
