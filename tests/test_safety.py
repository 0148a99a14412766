"""Safe loading and plain-data outputs: no pickle, eval or exec anywhere in the project's code, torch.load
only weights-only, remote code never trusted by a literal, and every workflow output a data format."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
UNSAFE_CALLS = {"eval", "exec", "read_pickle", "to_pickle"}
DATA_SUFFIXES = {".parquet", ".tsv", ".json", ".jsonl", ".pdf", ".png", ".html", ".log"}


def unsafe_uses(source: str, filename: str = "<string>") -> list[str]:
    """Every unsafe construct in Python ``source``, as ``file:line: what``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [
                f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where}: from {node.module} import …")
        elif isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in UNSAFE_CALLS and not (
                isinstance(func, ast.Attribute) and name == "eval" and not node.args
            ):
                found.append(f"{where}: {name}(…)")  # model.eval() (no arguments) is torch's eval mode
            if (
                name == "load"
                and isinstance(func, ast.Attribute)
                and getattr(func.value, "id", "") == "torch"
            ):
                weights_only = [k for k in node.keywords if k.arg == "weights_only"]
                if not weights_only or not (
                    isinstance(weights_only[0].value, ast.Constant) and weights_only[0].value.value is True
                ):
                    found.append(f"{where}: torch.load without weights_only=True")
            for kw in node.keywords:
                if (
                    kw.arg == "trust_remote_code"
                    and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True
                ):
                    found.append(f"{where}: trust_remote_code=True")
    return found


def project_python(root: Path) -> list[Path]:
    return sorted(
        p
        for d in ("src", "scripts", "bench", "tasks")
        for p in (root / d).rglob("*.py")
        if ".venv" not in p.parts
    )


def test_the_checker_finds_what_it_forbids() -> None:
    bad = (
        "import pickle\nfrom joblib import load\nx = eval('1')\nexec('y = 1')\nimport torch\n"
        "torch.load('m.bin')\ntorch.load('m.bin', weights_only=False)\ndf.to_pickle('t.pkl')\n"
        "AutoModel.from_pretrained('x', trust_remote_code=True)\n"
    )
    found = unsafe_uses(bad)
    assert [int(f.split(":")[1]) for f in found] == [1, 2, 3, 4, 6, 7, 8, 9], found
    ok = "import torch\nmodel.eval()\ntorch.load('m.bin', weights_only=True)\nliteral_eval = 1\n"
    assert unsafe_uses(ok) == []


def test_no_pickle_eval_exec_or_unsafe_load_in_the_project(root: Path) -> None:
    files = project_python(root)
    assert any(p.name == "stages.py" for p in files)
    problems = [u for p in files for u in unsafe_uses(p.read_text(), str(p.relative_to(root)))]
    assert problems == []


@pytest.mark.parametrize("smk", sorted(Path(__file__).resolve().parents[1].joinpath("rules").glob("*.smk")))
def test_workflow_outputs_are_plain_data(smk: Path) -> None:
    """Every output, log and benchmark path a rule declares ends in a data/figure suffix, never a pickle."""
    paths = re.findall(r'f?"((?:results|logs|benchmarks)/[^"]+)"', smk.read_text())
    for path in paths:
        assert Path(path).suffix in DATA_SUFFIXES, f"{smk.name}: {path}"
