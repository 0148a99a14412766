"""Placement of big models over GPUs (meta device, no weights) and the per-rule resources derived from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from iclprune.model.placement import (
    KNOWN_CONFIGS,
    ClusterSpec,
    GiB,
    PlacementError,
    Workload,
    check_gpu_requests,
    config_from_dict,
    decoder_layers,
    device_of,
    meta_model,
    model_size,
    parse_memory,
    plan_placement,
    stage_resources,
)

ROOT = Path(__file__).resolve().parents[1]
OPT66B = {"source": "facebook/opt-66b", "dtype": "float16"}


@pytest.fixture(scope="module")
def opt66b():
    """OPT-66B on the meta device, from the shipped config (no network, no weights)."""
    return meta_model(model_size(OPT66B).config, "float16")


def _check_plan(plan, model, caps_gib: dict) -> None:
    """Every layer and every parameter is placed; no GPU holds more than its cap (weights + activations)."""
    layers = decoder_layers(model)
    assert sum(plan.layers.values()) == len(layers) == 64
    for name, _ in model.named_parameters():
        assert device_of(name, plan.device_map) in plan.weight_bytes
    assert sum(plan.weight_bytes.values()) == pytest.approx(2 * plan.n_params, rel=1e-6)
    for device, cap in caps_gib.items():
        used = plan.weight_bytes.get(device, 0) + plan.activation_bytes.get(device, 0)
        assert used <= cap * GiB, (device, used / GiB)


def test_opt66b_config_ships_with_the_package(opt66b) -> None:
    cfg = KNOWN_CONFIGS["facebook/opt-66b"]
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]) == (9216, 64, 72)
    assert (cfg["ffn_dim"], cfg["vocab_size"], cfg["max_position_embeddings"]) == (36864, 50272, 2048)
    assert cfg["do_layer_norm_before"] is True
    n = sum(p.numel() for p in opt66b.parameters())
    assert 65.6e9 < n < 65.8e9  # ~65.7B, input and output embeddings tied
    assert next(opt66b.parameters()).device.type == "meta"
    assert set(opt66b._no_split_modules) == {"OPTDecoderLayer"}


def test_opt66b_fits_eight_80gib_gpus_and_respects_the_caps(opt66b) -> None:
    caps = dict.fromkeys(range(8), 80)
    plan = plan_placement(opt66b, max_memory={i: "80GiB" for i in caps}, dtype="float16")
    _check_plan(plan, opt66b, caps)
    assert set(plan.weight_bytes) <= set(range(8))  # nothing on cpu or disk
    assert plan.n_gpus == 2  # 131.4 GB of fp16 weights + evaluation's reserve
    json.dumps(plan.to_dict())  # plain data


def test_importance_needs_more_gpus_than_evaluation(opt66b) -> None:
    caps = dict.fromkeys(range(8), 80)
    forward = plan_placement(opt66b, max_memory={i: "80GiB" for i in caps}, workload=Workload("forward", 8))
    backward = plan_placement(opt66b, max_memory={i: "80GiB" for i in caps}, workload=Workload("backward", 4))
    _check_plan(backward, opt66b, caps)
    assert backward.n_gpus > forward.n_gpus >= 2
    for g in range(forward.n_gpus):  # every GPU keeps room for the tensors its layers save
        assert backward.activation_bytes[g] > forward.activation_bytes[g]
    assert all(backward.activation_bytes[g] > 0 for g in range(backward.n_gpus))


def test_opt66b_on_one_80gib_gpu_is_refused_with_the_numbers(opt66b) -> None:
    with pytest.raises(PlacementError) as err:
        plan_placement(opt66b, max_memory={0: "80GiB"}, dtype="float16", name="facebook/opt-66b")
    text = str(err.value)
    for part in ("facebook/opt-66b", "65.7B parameters", "131.4 GB of float16", "1 GPU(s)", "0: 80.0 GiB"):
        assert part in text, (part, text)
    assert "it needs about 2 GPUs of 80.0 GiB" in text
    assert "offload" in text


def test_cpu_offload_fits_one_gpu_and_puts_layers_on_cpu(opt66b) -> None:
    plan = plan_placement(opt66b, max_memory={0: "80GiB", "cpu": "200GiB"}, dtype="float16", cpu_offload=True)
    assert plan.layers[0] > 0
    assert plan.layers["cpu"] > 0
    assert plan.layers[0] + plan.layers["cpu"] == 64
    assert plan.weight_bytes["cpu"] <= 200 * GiB
    assert plan.weight_bytes[0] + plan.activation_bytes[0] <= 80 * GiB
    assert "disk" not in plan.weight_bytes
    # without offload the same caps are refused (the cpu cap is ignored)
    with pytest.raises(PlacementError, match="does not fit"):
        plan_placement(opt66b, max_memory={0: "80GiB", "cpu": "200GiB"}, dtype="float16")


def test_balanced_plan_spreads_layers_evenly(opt66b) -> None:
    plan = plan_placement(opt66b, max_memory=dict.fromkeys(range(4), "80GiB"), balanced=True)
    counts = [plan.layers[g] for g in range(4)]
    assert sum(counts) == 64
    assert max(counts) - min(counts) <= 3, counts


def test_bfloat16_and_float32_change_the_plan(opt66b) -> None:
    cfg = model_size(OPT66B).config
    bf16 = plan_placement(cfg, max_memory=dict.fromkeys(range(8), "80GiB"), dtype="bfloat16")
    fp32 = plan_placement(cfg, max_memory=dict.fromkeys(range(8), "80GiB"), dtype="float32")
    assert bf16.n_gpus == 2
    assert fp32.n_gpus == 4
    assert fp32.total_weight_bytes == 2 * bf16.total_weight_bytes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "int8"}, r"unknown dtype 'int8'; expected one of \['bfloat16', 'float16'"),
        ({"max_memory": {0: "80 gigs"}}, r"bad max_memory\[0\] '80 gigs'; expected a number with a unit"),
        ({"max_memory": {0: "-5GiB"}}, r"bad max_memory\[0\] '-5GiB'"),
        ({"max_memory": {"tpu": "80GiB"}}, r"bad device 'tpu' in max_memory"),
        ({"max_memory": {0: "1GiB"}}, r"each GPU holds less than one decoder layer"),
    ],
)
def test_bad_plan_inputs_are_named(opt66b, kwargs: dict, message: str) -> None:
    args = {"max_memory": {0: "80GiB"}, "dtype": "float16"} | kwargs
    with pytest.raises(PlacementError, match=message):
        plan_placement(opt66b, **args)


def test_parse_memory_units() -> None:
    assert parse_memory("80GiB") == 80 * GiB
    assert parse_memory("75GB") == 75 * 10**9
    assert parse_memory("1.5 TiB") == int(1.5 * 2**40)
    assert parse_memory(1024) == 1024
    for bad in ("80", "GiB", "", "80XB", 0, True):
        with pytest.raises(PlacementError, match="bad memory size"):
            parse_memory(bad)


# ------------------------------------------------------------------------------------------- resources
def _paper() -> dict:
    return yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())


def _resources(config: dict, stage: str) -> dict:
    spec = config["models"][config["model"]]
    batch = {"importance": config["importance"]["batch_size"], "model": 1, "induction": 1}.get(
        stage, config["evaluation"]["batch_size"]
    )
    return stage_resources(spec, stage, cluster=config.get("cluster"), batch_size=batch)


def test_paper_config_resources_come_from_opt66b_size() -> None:
    paper = _paper()
    res = {
        stage: _resources(paper, stage)
        for stage in ("importance", "ffn_oracle", "head_pruning", "ffn_pruning")
    }
    assert res["importance"]["gpu"] == 4  # fp16 weights + batch-4 backward activations, 80 GiB GPUs
    for stage in ("ffn_oracle", "head_pruning", "ffn_pruning"):
        assert res[stage]["gpu"] == 2
    assert all(r["gpu"] <= paper["cluster"]["gpus_per_node"] for r in res.values())
    assert all(r["mem_mb"] >= 32 * 1024 for r in res.values())
    assert res["ffn_pruning"]["runtime"] > res["head_pruning"]["runtime"] > res["importance"]["runtime"]
    assert "gpu" not in stage_resources(paper["models"]["opt-66b"], "light")
    # user overrides: bigger GPUs need fewer, a runtime scale scales, a cap caps
    big = _resources(paper | {"cluster": {"gpu_mem_gib": 141, "runtime_scale": 0.5}}, "importance")
    assert big["gpu"] == 2
    assert big["runtime"] == res["importance"]["runtime"] // 2
    assert _resources(paper | {"cluster": {"max_runtime_min": 600}}, "ffn_pruning")["runtime"] == 600


def test_cpu_models_get_no_gpu_and_the_cpu_numbers() -> None:
    embedded = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert _resources(embedded, "importance") == {"gpu": 0, "mem_mb": 8000, "runtime": 60}
    assert _resources(embedded, "ffn_pruning") == {"gpu": 0, "mem_mb": 8000, "runtime": 360}
    assert stage_resources({"source": "tiny:opt"}, "model") == {"gpu": 0, "mem_mb": 4000, "runtime": 30}
    assert stage_resources({"source": "embedded"}, "light") == {"mem_mb": 2000, "runtime": 10}


def test_more_gpus_than_a_node_is_refused_naming_the_rule() -> None:
    paper = _paper() | {"cluster": {"gpus_per_node": 2}}
    spec = paper["models"]["opt-66b"]
    with pytest.raises(PlacementError) as err:
        stage_resources(spec, "importance", cluster=paper["cluster"], batch_size=4, rule="head_importance")
    text = str(err.value)
    assert "rule head_importance needs 4 GPUs of 80 GiB" in text
    assert "gpus_per_node = 2" in text
    with pytest.raises(
        PlacementError, match=r"rule head_sweep asks for 16 GPUs \(--set-resources\) but a node has 8"
    ):
        check_gpu_requests({"head_sweep": 16}, 8)
    check_gpu_requests({"head_sweep": 8, "claims": 0}, 8)
    with pytest.raises(PlacementError, match="unknown cluster setting"):
        ClusterSpec.from_config({"gpus": 4})


def test_model_size_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    # a hub id that is neither cached nor known: a clear error suggesting params_b
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(PlacementError, match=r"cannot size model 'example-org/big-model'.*params_b"):
        stage_resources({"source": "example-org/big-model", "dtype": "float16"}, "importance", batch_size=1)
    sized = stage_resources(
        {"source": "example-org/big-model", "dtype": "float16", "params_b": 70}, "importance", batch_size=1
    )
    assert sized["gpu"] == 4  # 140 GB fp16, doubled for the backward pass, over 78 GiB usable
    with pytest.raises(PlacementError, match="bad params_b"):
        model_size({"source": "example-org/big-model", "params_b": -1})
    # a cached snapshot's config.json wins over the shipped table (here: half the layers)
    half = KNOWN_CONFIGS["facebook/opt-66b"] | {"num_hidden_layers": 32}
    snap = tmp_path / "hub" / "models--facebook--opt-66b" / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(half))
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("a" * 40)
    size = model_size(OPT66B)
    assert size.config.num_hidden_layers == 32
    assert "cached" in size.source
    # a local directory's config.json
    local = tmp_path / "local"
    config_from_dict(KNOWN_CONFIGS["facebook/opt-13b"]).save_pretrained(local)
    assert model_size({"source": str(local)}).config.hidden_size == 5120


def test_snakemake_refuses_a_gpu_request_larger_than_a_node_before_any_job() -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--nolock", "--set-resources", "head_importance:gpu=16"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert (
        "rule head_importance asks for 16 GPUs (--set-resources) but a node has 8"
        in done.stdout + done.stderr
    )


def test_every_opt_and_pythia_size_is_planned_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scale studies' models are sized from the shipped configs (no network, no cached config.json):
    on 80 GiB GPUs a bigger model never gets fewer GPUs or less time, opt-125m one GPU, opt-66b several."""
    from huggingface_hub import constants

    from iclprune.model.footprint import OPT_SIZES, PYTHIA_SIZES

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    paper = _paper()
    batch = {"importance": paper["importance"]["batch_size"]}
    stages = ("importance", "ffn_oracle", "head_oracle", "head_pruning", "ffn_pruning", "induction")
    families = {
        "opt": [f"facebook/opt-{s}" for s in OPT_SIZES],
        "pythia": [f"EleutherAI/pythia-{s}" for s in PYTHIA_SIZES],
    }
    plans: dict[str, dict[str, dict]] = {}
    for family, sources in families.items():
        for source in sources:
            spec = {"source": source, "dtype": "float16", "revision": None}
            assert model_size(spec).source == "iclprune.model.placement.KNOWN_CONFIGS", source
            plans[source] = {
                stage: stage_resources(
                    spec, stage, cluster=paper["cluster"], batch_size=batch.get(stage, 8), rule=stage
                )
                for stage in stages
            }
        for stage in stages:  # sources listed smallest first
            gpus = [plans[s][stage]["gpu"] for s in sources]
            runtimes = [plans[s][stage]["runtime"] for s in sources]
            assert gpus == sorted(gpus), (family, stage, gpus)
            assert runtimes == sorted(runtimes), (family, stage, runtimes)
    assert all(plans["facebook/opt-125m"][stage]["gpu"] == 1 for stage in stages)
    assert plans["facebook/opt-66b"]["ffn_oracle"]["gpu"] == 2
    assert plans["facebook/opt-66b"]["importance"]["gpu"] == 4
    assert plans["facebook/opt-30b"]["importance"]["gpu"] == 2
    assert all(plans["EleutherAI/pythia-12b"][stage]["gpu"] == 1 for stage in stages)
    # a -deduped model and a training checkpoint (step) are sized as the final model of the same size
    final = {"source": "EleutherAI/pythia-1.4b", "dtype": "float16"}
    for spec in (
        {**final, "step": 1000, "revision": None},
        {**final, "source": "EleutherAI/pythia-1.4b-deduped"},
    ):
        assert model_size(spec).config.to_dict() == model_size(final).config.to_dict()
        assert stage_resources(spec, "importance", batch_size=4) == stage_resources(
            final, "importance", batch_size=4
        )
    # the error for an unknown hub id lists the families it knows
    with pytest.raises(PlacementError, match=r"EleutherAI/pythia-\{70m, .*12b\} and their -deduped variants"):
        model_size({"source": "EleutherAI/pythia-20b"})
