"""The README's claims tables are renderings of claims tables that runs wrote (docs/*_claims.tsv), and the
bigger study that decides more of them is a valid config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from iclprune.reporting.claims import render_claims
from iclprune.reporting.timings import read_block

VERDICTS = {"reproduced", "not reproduced", "undecided", "not assessed"}


@pytest.mark.parametrize(
    ("block", "table"), [("claims-embedded", "embedded"), ("claims-decisive", "decisive")]
)
def test_readme_claims_tables_are_the_runs_tables(root: Path, block: str, table: str) -> None:
    claims = pd.read_csv(root / f"docs/{table}_claims.tsv", sep="\t")
    assert read_block((root / "README.md").read_text(), block) == render_claims(claims).strip()
    assert set(claims.verdict) <= VERDICTS
    assert {"fig05", "fig20", "fig21"} <= set(claims.figure)  # the paper's claims and the ranking rows
    decided = claims[claims.verdict.isin(["reproduced", "not reproduced"])]
    assert (decided.low.notna() & decided.high.notna()).all()  # every verdict comes from an interval
    config = f"config/{'config' if table == 'embedded' else table}.yaml"
    assert claims.config.iloc[0].endswith(f"({config})")  # made by the config the README names


@pytest.mark.slow
def test_the_decisive_config_plans_the_whole_study(root: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-n", "--quiet", "rules", "--forceall",
           "--configfile", str(root / "config/decisive.yaml")]  # fmt: skip
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for rule in ("head_oracle", "iterative_ranking", "figure_fig20_gradient_vs_oracle", "claims"):
        assert rule in done.stdout
