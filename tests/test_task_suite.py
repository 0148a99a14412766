"""Invariants of the hand-written task suite under tasks/ (fast; no model is loaded).

Checks: the generator is deterministic and the committed files match it; each task's sizes, ids, labels and
choices; no prompt repeats within or across splits; chance levels match tasks/README.md; and every YAML
loads through lm-eval's own machinery and builds 5-shot requests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

# Before anything imports `datasets` / `huggingface_hub`: never touch the network.
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
TASKS_DIR = ROOT / "tasks"
OOD_TASKS = {"icl_arith", "icl_lastword"}
LEXICAL_FIELDS = {  # lexical tasks: the cue field whose values must not be shared by train and validation
    "icl_city_country": "city",
    "icl_antonyms": "word",
    "icl_plural": "singular",
    "icl_past_tense": "verb",
    "icl_french": "english",
    "icl_category": "word",
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("iclprune_task_generator", TASKS_DIR / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


GEN = _load_generator()
TASK_NAMES = list(GEN.TASKS)


@cache
def config(name: str) -> dict:
    return yaml.safe_load((TASKS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@cache
def docs(name: str, split: str) -> tuple[dict, ...]:
    path = TASKS_DIR / "data" / name / f"{split}.jsonl"
    return tuple(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())


def absolute_config(name: str) -> dict:
    """The YAML as a dict with data_files made absolute (what the project's loader does)."""
    cfg = yaml.safe_load((TASKS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    files = cfg["dataset_kwargs"]["data_files"]
    cfg["dataset_kwargs"]["data_files"] = {k: str((TASKS_DIR / v).resolve()) for k, v in files.items()}
    return cfg


@cache
def lm_task(name: str):
    """Build the task exactly as lm-eval does for a YAML config dict."""
    task_mod = pytest.importorskip("lm_eval.api.task")
    task = task_mod.ConfigurableTask(config=absolute_config(name))
    task.set_fewshot_seed(1234)
    return task


# --------------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------------


def test_generator_check_passes():
    res = subprocess.run(
        [sys.executable, str(TASKS_DIR / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_generator_output_is_byte_identical_to_committed_files(tmp_path):
    """Run the command line into an empty directory: it writes exactly the committed files under tasks/
    (every tasks/icl_*.yaml and tasks/data/<task>/{train,validation}.jsonl), byte for byte."""
    res = subprocess.run(
        [sys.executable, str(TASKS_DIR / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 3 * len(TASK_NAMES)  # a YAML and two JSONL files per task
    assert written == GEN.generated_paths(TASKS_DIR)  # nothing committed is missing, nothing extra
    differing = [rel for rel in written if (tmp_path / rel).read_bytes() != (TASKS_DIR / rel).read_bytes()]
    assert differing == []


def test_generator_is_deterministic():
    assert GEN.build_all() == GEN.build_all()


def test_check_detects_tampering(tmp_path):
    GEN.write_all(tmp_path, GEN.build_all())
    assert GEN.check(tmp_path) == []
    victim = tmp_path / "data" / "icl_copa" / "validation.jsonl"
    victim.write_text(victim.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    (tmp_path / "icl_stale.yaml").write_text("task: icl_stale\n", encoding="utf-8")
    problems = GEN.check(tmp_path)
    assert any("differs" in p and "icl_copa" in p for p in problems)
    assert any("stale" in p and "icl_stale.yaml" in p for p in problems)


def test_suite_composition():
    assert len(TASK_NAMES) == 16
    assert all(n.startswith("icl_") for n in TASK_NAMES)
    assert sorted(p.stem for p in TASKS_DIR.glob("icl_*.yaml")) == sorted(TASK_NAMES)
    ood = {n for n in TASK_NAMES if config(n)["metadata"]["ood"]}
    assert ood == OOD_TASKS
    assert len(set(TASK_NAMES) - ood) == 14


# --------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASK_NAMES)
def test_yaml_fields(name):
    cfg = config(name)
    assert cfg["task"] == name
    assert cfg["dataset_path"] == "json"
    assert cfg["dataset_kwargs"]["data_files"] == {
        "train": f"data/{name}/train.jsonl",
        "validation": f"data/{name}/validation.jsonl",
    }
    assert cfg["fewshot_split"] == "train"
    assert cfg["validation_split"] == "validation"
    assert cfg["metric_list"] == [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}]
    meta = cfg["metadata"]
    assert isinstance(meta["chance"], float)
    assert meta["kind"]
    assert meta["mirrors"]
    assert "!function" not in (TASKS_DIR / f"{name}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_sizes_and_ids(name):
    meta = config(name)["metadata"]
    for split in ("train", "validation"):
        ds = docs(name, split)
        assert len(ds) >= 100
        assert len(ds) == meta[f"num_{split}"]
        assert [d["id"] for d in ds] == [f"{name}-{split}-{i:04d}" for i in range(len(ds))]
    assert len(docs(name, "validation")) <= 200


@pytest.mark.parametrize("name", TASK_NAMES)
def test_choices_labels_and_chance(name):
    cfg = config(name)
    chance = cfg["metadata"]["chance"]
    if cfg["output_type"] == "loglikelihood":
        assert chance == 0.0
        return
    assert cfg["output_type"] == "multiple_choice"
    for split in ("train", "validation"):
        for d in docs(name, split):
            ch, label = d["choices"], d["label"]
            assert isinstance(label, int)
            assert 0 <= label < len(ch), d
            assert len(set(ch)) == len(ch), d
            assert all(isinstance(c, str) and c.strip() == c and c for c in ch), d
            assert 1 / len(ch) == pytest.approx(chance), d


@pytest.mark.parametrize("name", TASK_NAMES)
def test_no_duplicate_prompts(name):
    """Within and across splits, by the text the model sees (rendered by lm-eval itself)."""
    task = lm_task(name)
    seen = {}
    for split in ("train", "validation"):
        for d in docs(name, split):
            text = task.doc_to_text(d)
            assert text not in seen, f"{d['id']} repeats {seen[text]}: {text!r}"
            seen[text] = d["id"]
            assert text == GEN.render(config(name)["doc_to_text"], d)  # generator's dedup saw the same text


@pytest.mark.parametrize("name", sorted(LEXICAL_FIELDS))
def test_lexical_items_disjoint(name):
    field = LEXICAL_FIELDS[name]
    train = {d[field] for d in docs(name, "train")}
    val = {d[field] for d in docs(name, "validation")}
    assert not train & val


@pytest.mark.parametrize(
    "name", ["icl_boolq", "icl_entail", "icl_wic", "icl_pronoun", "icl_copa", "icl_physical"]
)
def test_binary_tasks_roughly_balanced(name):
    for split in ("train", "validation"):
        labels = [d["label"] for d in docs(name, split)]
        assert abs(sum(labels) / len(labels) - 0.5) <= 0.05


def test_lastword_target_recoverable_from_context():
    for split in ("train", "validation"):
        for d in docs("icl_lastword", split):
            word = d["answer"]
            assert re.fullmatch(r"[A-Za-z]+", word), d
            assert d["text"] == f"{d['context']} {word}"
            assert re.search(rf"\b{word}\b", d["context"]), d  # mentioned earlier in the passage


def test_reading_comprehension_options_grounded():
    """icl_boolq: the gold value is stated in the passage, the question names neither option, and the
    distractor occurs in the passage (as the other entity's value) in about half of the docs."""
    for split in ("train", "validation"):
        ds = docs("icl_boolq", split)
        in_passage = 0
        for d in ds:
            gold, dis = d["choices"][d["label"]], d["choices"][1 - d["label"]]
            words = set(re.findall(r"[a-z]+", d["passage"]))
            assert gold in words, d
            assert not {gold, dis} & set(re.findall(r"[a-z]+", d["question"])), d
            in_passage += dis in words
        assert abs(in_passage / len(ds) - 0.5) <= 0.05


def test_arith_answers_correct_and_one_digit():
    ops = {"plus": int.__add__, "minus": int.__sub__}
    for split in ("train", "validation"):
        for d in docs("icl_arith", split):
            a, op, b = re.search(r"(\d+) \w+ (plus|minus) (\d+) \w+\?$", d["question"]).groups()
            assert d["choices"][d["label"]] == str(ops[op](int(a), int(b))), d
            assert len(d["choices"]) == 4
            assert all(re.fullmatch(r"[2-9]", c) for c in d["choices"]), d


def test_readme_table_matches_yaml():
    readme = (TASKS_DIR / "README.md").read_text(encoding="utf-8")
    assert "## Measured accuracy on SmolLM2" in readme
    rows = {}
    for line in readme.splitlines():
        m = re.match(r"\| `(icl_\w+)` \| (.+?) \| (.+?) \| ([\d.]+) \| (\d+) \| (\d+) \|$", line)
        if m:
            rows[m.group(1)] = m.groups()[1:]
    assert sorted(rows) == sorted(TASK_NAMES)
    for name, (kind, mirrors, chance, n_train, n_val) in rows.items():
        meta = config(name)["metadata"]
        assert kind == meta["kind"]
        assert mirrors == meta["mirrors"]
        assert float(chance) == pytest.approx(meta["chance"])
        assert (int(n_train), int(n_val)) == (meta["num_train"], meta["num_validation"])
    assert GEN.markdown_table() in readme


# --------------------------------------------------------------------------------------------------------
# lm-eval
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASK_NAMES)
def test_loads_through_lm_eval(name):
    cfg = config(name)
    task = lm_task(name)
    assert task.has_training_docs()
    assert task.has_validation_docs()
    assert len(task.training_docs()) == len(docs(name, "train"))
    assert len(task.validation_docs()) == len(docs(name, "validation"))
    assert len(task.fewshot_docs()) == len(docs(name, "train"))

    for doc in list(task.validation_docs())[:5]:
        text = task.doc_to_text(doc)
        assert isinstance(text, str)
        assert text
        assert not text.endswith(" ")
        target = task.doc_to_target(doc)
        if cfg["output_type"] == "multiple_choice":
            choices = task.doc_to_choice(doc)
            assert choices == doc["choices"]
            assert target == doc["label"]
        else:
            assert target == " " + doc["answer"]
        ctx = task.fewshot_context(doc, num_fewshot=5)
        assert isinstance(ctx, str)
        assert ctx.endswith(text)
        assert ctx.count(cfg["fewshot_delimiter"]) == 5
        assert len(ctx) < 2000, len(ctx)

    task.build_all_requests(limit=3, rank=0, world_size=1)
    instances = task.instances
    per_doc = len(docs(name, "validation")[0]["choices"]) if cfg["output_type"] == "multiple_choice" else 1
    assert len(instances) == 3 * per_doc
    for inst in instances:
        ctx, cont = inst.arguments[:2]
        assert cont.startswith(" ")
        assert not cont.startswith("  ")
        assert len(ctx) < 2000


def test_lastword_fewshot_format():
    task = lm_task("icl_lastword")
    doc = task.validation_docs()[0]
    ctx = task.fewshot_context(doc, num_fewshot=2)
    shots = ctx.split("\n\n")
    assert len(shots) == 3
    for shot in shots[:2]:
        assert "  " not in shot  # context + " " + answer, no double space
        assert shot.split(" ")[-1].isalpha()
    assert shots[2] == doc["context"]
