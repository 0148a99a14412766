"""The workflow on the paper's real benchmarks: a data job per task, offline compute jobs that read only
what it settled, and the real-data study (config/superglue.yaml) run on ../shared/data.

The SuperGLUE/GLUE copies in ../shared/data are read in place through the local-source block
(``data_root``); nothing is copied into the repository or the hub.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import snakemake

pytestmark = pytest.mark.slow

DATA_RULE_TASKS = {
    "hellaswag", "piqa", "arc_easy", "arc_challenge", "openbookqa", "winogrande", "boolq", "cb", "copa",
    "multirc_fixed", "record_fixed", "rte", "wic", "wsc", "mathqa", "lambada_openai",
}  # fmt: skip
TASK_JOBS = {"head_importance", "ffn_oracle", "head_pruning", "ood_head_pruning", "ffn_pruning"}


def _workdir(root: Path, path: Path) -> Path:
    (path / "config").mkdir(parents=True, exist_ok=True)
    for name in ("schema.yaml", "config.yaml"):
        (path / "config" / name).write_text((root / "config" / name).read_text())
    return path


def dry_run_jobs(dry_run: str) -> list[dict]:
    """The jobs of a ``snakemake -n`` printout: rule, input, output, and wildcards and resources (dicts)
    of each."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m:
            continue
        fields = dict(re.findall(r"^\s+(input|output|wildcards|resources): (.*)$", block, re.M))
        pairs = {
            key: dict(kv.split("=", 1) for kv in fields.get(key, "").split(", ") if "=" in kv)
            for key in ("wildcards", "resources")
        }
        jobs.append({"rule": m.group(1), "input": "", **fields, **pairs})
    return jobs


def test_an_unpinned_revision_stops_the_data_job_naming_the_task(root: Path, tmp_path: Path) -> None:
    work = _workdir(root, tmp_path)
    done = snakemake(
        root, work, "--configfile", str(root / "config/paper.yaml"), "--cores", "1",
        "results/data/copa/hub-aps--super_glue-copa-unpinned.json", timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    log = (work / "logs/data/copa/hub-aps--super_glue-copa-unpinned.log").read_text()
    assert (
        "task 'copa': dataset 'aps/super_glue' has no pinned revision; expected `revision: <40-hex commit>`"
        in log
    )
    assert not (work / "results/data/copa").exists() or not list((work / "results/data/copa").iterdir())


def _superglue_overlay(path: Path, shared_data: Path, **extra: object) -> Path:
    """A second config file: the study small enough for a test, its data from ../shared/data."""
    overlay = {
        "data_root": str(shared_data),
        "tasks": ["copa", "rte"],
        "shots": [1],
        "sweep_shots": [1],
        "importance": {"n_docs": 4, "batch_size": 4},
        "evaluation": {"limit": 4, "batch_size": 8},
        "pruning": {
            "head_percents": [0, 50],
            "ffn_percents": [0, 10],
            "combined_head_percents": [0],
            "combined_ffn_percents": [0],
            "transfer_percents": [50],
        },
        "induction": {"n_seeds": 1},
        "claims": {"pairs": [["copa", "rte"]]},
        **extra,
    }
    path.write_text(yaml.safe_dump(overlay))
    return path


@pytest.mark.integration
def test_the_real_data_study_makes_figs_5_and_8_and_the_claims_table(
    root: Path, tmp_path: Path, shared_data: Path
) -> None:
    work = _workdir(root, tmp_path / "work")
    overlay = _superglue_overlay(tmp_path / "small.yaml", shared_data)
    targets = ["results/superglue/figures/smollm2/fig05_head_pruning.pdf",
               "results/superglue/figures/smollm2/fig08_cross_task_srcc.pdf", "results/superglue/claims/smollm2.tsv"]  # fmt: skip
    args = ["--configfile", str(root / "config/superglue.yaml"), str(overlay), "--cores", "2"]
    done = snakemake(root, work, *args, *targets)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    for target in targets:
        assert (work / target).stat().st_size > 0
    base = work / "results/superglue"  # results/<study>/; the data manifests are shared by studies
    manifests = {p.parent.name: json.loads(p.read_text()) for p in (work / "results").glob("data/*/*.json")}
    assert set(manifests) == {"copa", "rte"}
    assert manifests["rte"]["documents"] == {"train": 2490, "validation": 277}  # GLUE RTE, read in place
    assert all(f["path"].endswith(".jsonl") for m in manifests.values() for f in m["files"])
    sweep = pd.read_parquet(base / "pruning/smollm2/copa/1shot/heads.parquet")
    assert sweep.pct_heads.tolist() == [0.0, 50.0]
    sidecar = json.loads((base / "importance/smollm2/rte/1shot/heads.json").read_text())
    data = json.dumps(sidecar)
    assert "files_sha256" in data
    assert str(shared_data / "rte") in data
    claims = pd.read_csv(base / "claims/smollm2.tsv", sep="\t")
    assert len(claims) > 0
    assert claims["ours"].notna().all()
    # nothing left to do
    again = snakemake(root, work, *args, *targets, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("field", "task 'copa': documents of split 'validation' lack field 'premise'"),
        ("split", "task 'copa': its data source has no split to evaluate on (it has ['train'])"),
    ],
)
def test_bad_local_data_stops_before_any_model_loads(
    root: Path, tmp_path: Path, shared_data: Path, kind: str, expected: str
) -> None:
    work = _workdir(root, tmp_path / "work")
    copa = tmp_path / "copa"
    copa.mkdir()
    for split in ("train", "validation"):
        rows = [
            json.loads(line)
            for line in (shared_data / "copa" / f"{split}.jsonl").read_text().splitlines()[:6]
        ]
        if kind == "field" and split == "validation":
            rows = [{("context" if k == "premise" else k): v for k, v in r.items()} for r in rows]
        if kind == "split" and split == "validation":
            continue
        (copa / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    overlay = _superglue_overlay(
        tmp_path / "bad.yaml", shared_data, data_sources={"copa": {"path": str(copa)}}
    )
    done = snakemake(
        root, work, "--configfile", str(root / "config/superglue.yaml"), str(overlay), "--cores", "1"
    )
    assert done.returncode != 0
    logs = "".join(p.read_text() for p in (work / "logs/data").rglob("*.log"))
    assert expected in logs
    assert not (work / "results/superglue").exists()  # no job read the task, no model was loaded
