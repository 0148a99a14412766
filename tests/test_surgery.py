"""Masks via hooks and physical removal on tiny random OPT, Llama (GQA) and GPT-NeoX models."""

from __future__ import annotations

import random

import pytest
import torch

from iclprune.core.components import Mask, component_str, parse_component
from iclprune.model.models import tiny_model
from iclprune.model.sites import UnsupportedArchitectureError, resolve
from iclprune.model.surgery import gated, masked, n_parameters, prune

FAMILIES = ["opt", "llama", "gpt_neox"]


def _ids(seed: int = 0, batch: int = 3, T: int = 17) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, 500, (batch, T), generator=g)


def _logits(model, ids, **kw) -> torch.Tensor:
    with torch.no_grad():
        return model(ids, **kw).logits


def _random_masks(n_layers: int, n_heads: int, group: int, seed: int) -> list[Mask]:
    """Random head/FFN sets plus the hard cases: a whole layer's heads, a whole KV group, everything."""
    rng = random.Random(seed)
    heads = [(l_, h) for l_ in range(n_layers) for h in range(n_heads)]
    masks = []
    for frac in (0.1, 0.3, 0.5, 0.7, 0.9):
        chosen = rng.sample(heads, int(frac * len(heads)))
        ffns = rng.sample(range(n_layers), rng.randint(0, n_layers - 1))
        masks.append(Mask(frozenset(chosen), frozenset(ffns)))
    masks.append(Mask(frozenset((1, h) for h in range(n_heads))))  # a whole layer's heads
    masks.append(Mask(frozenset((0, h) for h in range(group))))  # a whole KV group (one head for MHA)
    # a whole group plus part of another: groups left uneven
    masks.append(Mask(frozenset([(2, h) for h in range(group)] + [(2, n_heads - 1)]), frozenset({0})))
    masks.append(Mask(frozenset(heads), frozenset(range(n_layers))))  # everything
    return masks


@pytest.mark.parametrize("family", FAMILIES)
def test_masked_equals_physically_pruned(family: str) -> None:
    model = tiny_model(family, seed=1)
    sites = resolve(model)
    ids = _ids()
    full = _logits(model, ids)
    before = n_parameters(model)
    for mask in _random_masks(sites.n_layers, sites.n_heads, sites.group_size, seed=2):
        with masked(model, mask):
            want = _logits(model, ids)
        small = prune(model, mask)
        got = _logits(small, ids)
        assert (got - want).abs().max().item() <= 1e-5, (family, mask)
        if len(mask):
            assert not torch.equal(want, full)
        # GQA groups left uneven are padded with dummy query heads, so a few removed heads may not
        # shrink a layer; never does pruning grow one, and removing everything shrinks it a lot.
        assert n_parameters(small) <= before
        if len(mask) == sites.n_layers * (sites.n_heads + 1):
            assert n_parameters(small) < 0.8 * before
    # prune() copied: the original model is untouched
    assert torch.equal(_logits(model, ids), full)
    assert n_parameters(model) == before


def test_gqa_kv_heads_only_go_with_their_whole_group() -> None:
    model = tiny_model("llama", seed=0)
    sites = resolve(model)
    assert (sites.n_heads, sites.n_kv_heads, sites.d_head) == (6, 2, 16)
    partial = prune(model, Mask(frozenset({(0, 0), (0, 1)})))  # 2 of group 0's 3 heads
    whole = prune(model, Mask(frozenset({(0, 0), (0, 1), (0, 2)})))  # all of group 0
    d = sites.d_head
    assert partial.model.layers[0].self_attn.k_proj.out_features == 2 * d
    assert whole.model.layers[0].self_attn.k_proj.out_features == 1 * d
    assert whole.model.layers[0].self_attn.q_proj.out_features == 3 * d
    assert whole.model.layers[1].self_attn.k_proj.out_features == 2 * d  # other layers untouched


def test_all_gates_on_is_bit_identical_and_context_restores() -> None:
    for family in FAMILIES:
        model = tiny_model(family, seed=3)
        ids = _ids(1)
        ref = _logits(model, ids)
        with masked(model, Mask(), hook_all_layers=True):
            assert torch.equal(_logits(model, ids), ref)
        with masked(model, Mask.of(["head:0:0", "ffn:1"])):
            assert not torch.equal(_logits(model, ids), ref)
        assert torch.equal(_logits(model, ids), ref)
        assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


def test_hooks_removed_when_the_body_raises() -> None:
    model = tiny_model("opt")
    with pytest.raises(RuntimeError, match="boom"), masked(model, Mask.of(["head:1:2", "ffn:0"])):
        raise RuntimeError("boom")
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


def test_head_removal_zeroes_the_out_projection_input_and_keeps_its_bias() -> None:
    model = tiny_model("opt", seed=4)
    attn = model.model.decoder.layers[1].self_attn
    seen: dict[str, torch.Tensor] = {}

    def record(module, args, output):  # a forward hook sees the input after every pre-hook ran
        seen["in"], seen["out"] = args[0].detach().clone(), output.detach().clone()

    attn.out_proj.register_forward_hook(record)
    all_heads = Mask(frozenset((1, h) for h in range(4)))
    with masked(model, all_heads):
        _logits(model, _ids())
    assert torch.count_nonzero(seen["in"]) == 0
    assert torch.equal(seen["out"], attn.out_proj.bias.detach().expand_as(seen["out"]))
    with masked(model, Mask.of(["head:1:2"])):
        _logits(model, _ids())
    d = 16
    assert torch.count_nonzero(seen["in"][..., 2 * d : 3 * d]) == 0
    assert torch.count_nonzero(seen["in"][..., : 2 * d]) > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_ffn_removal_leaves_the_post_attention_residual(family: str) -> None:
    model = tiny_model(family, seed=5)
    ls = resolve(model).layers[1]
    seen: dict[str, torch.Tensor] = {}

    def layer_in(m, args, kwargs):
        seen["in"] = (args[0] if args else kwargs["hidden_states"]).detach().clone()

    ls.layer.register_forward_pre_hook(layer_in, with_kwargs=True)
    ls.attn.register_forward_hook(lambda m, a, o: seen.__setitem__("attn", o[0].detach().clone()))
    ls.layer.register_forward_hook(
        lambda m, a, o: seen.__setitem__("out", (o[0] if isinstance(o, tuple) else o).detach().clone())
    )
    with masked(model, Mask.of(["ffn:1"])):
        _logits(model, _ids())
    # (GPT-NeoX's parallel residual x + attn(ln1 x) + mlp(ln2 x) reduces to the same thing)
    assert torch.equal(seen["out"], seen["in"] + seen["attn"])


def test_gates_are_differentiable_and_scale_heads() -> None:
    model = tiny_model("llama", seed=6, dtype="float64")
    ids = _ids(2)
    heads = torch.ones(3, 6, dtype=torch.float64, requires_grad=True)
    ffns = torch.ones(3, dtype=torch.float64, requires_grad=True)
    with gated(model, heads, ffns):
        model(ids).logits.sum().backward()
    assert heads.grad is not None
    assert torch.count_nonzero(heads.grad) == heads.numel()
    assert ffns.grad is not None
    assert torch.count_nonzero(ffns.grad) == 3


def test_bad_masks_name_the_value() -> None:
    model = tiny_model("llama")
    with pytest.raises(ValueError, match=r"head:1:6.*head in \[0, 6\)"), masked(model, Mask.of(["head:1:6"])):
        pass
    with pytest.raises(ValueError, match=r"head:3:0.*layer in \[0, 3\)"):
        prune(model, Mask.of(["head:3:0"]))
    with pytest.raises(ValueError, match=r"ffn:7"), masked(model, Mask.of(["ffn:7"])):
        pass
    with pytest.raises(ValueError, match="bad component 'heads:1'"):
        Mask.of(["heads:1"])
    with pytest.raises(ValueError, match=r"head_gates has shape \(2, 6\)"), gated(model, torch.ones(2, 6)):
        pass


def test_component_string_form_round_trips() -> None:
    for key in [("head", 0, 0), ("head", 63, 71), ("ffn", 12)]:
        assert parse_component(component_str(key)) == key
    assert Mask.of(["head:1:2", ("ffn", 0)]).components() == [("head", 1, 2), ("ffn", 0)]


def test_unknown_architecture_is_a_clear_error() -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64))
    with pytest.raises(UnsupportedArchitectureError, match=r"model_type='gpt2'.*expected one of .*'llama'"):
        resolve(model)
    with pytest.raises(UnsupportedArchitectureError, match="do_layer_norm_before=False"):
        resolve(tiny_model("opt", do_layer_norm_before=False))
