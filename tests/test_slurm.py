"""The cluster path against a real Slurm on this machine: ``snakemake --profile profiles/slurm``.

``tests/slurm/local_slurm.sh up`` brings up munge, MariaDB, slurmdbd, slurmctld and slurmd from Debian's
packages (installing them if missing), with two fake GPUs (GRES on character devices) and job
accounting, so the Slurm executor plugin polls ``sacct`` as it does on a real cluster. The tiny workflow
config then runs through the unchanged Slurm profile: every job goes through sbatch and srun.

No Apptainer binary can be installed here (not in Debian 12, not on PyPI), so ``tests/slurm/apptainer``,
put first on PATH, is a **stub**: it checks the arguments Snakemake calls it with (``exec``, ``--nv``, an
image the workflow names, the ``$HF_HOME`` bind from the profile, existing bind sources) and fails
loudly on anything else, then runs the command directly on the host in this project's virtual
environment. Everything else is real: munge, the Slurm daemons, slurmdbd with MariaDB, sbatch, srun,
sacct, Snakemake 9 and the official Slurm executor plugin.

Needs root (it starts system daemons) and apt (to install Slurm when missing); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests/slurm/local_slurm.sh"
STUB_DIR = ROOT / "tests/slurm"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# One GPU job per task (importance), one head-pruning job (its sweep + transfer), one figure: the GPU path,
# a dependency chain, a plot.
TARGETS = [
    "results/tiny/figures/tiny-llama/fig13_task_importance_1shot.pdf",
    "results/tiny/pruning/tiny-llama/icl_antonyms/1shot/heads.parquet",
]
# A target whose job starts in Slurm and fails there (the task does not exist): the failure report.
BAD_TARGET = "results/tiny/importance/tiny-llama/icl_nonesuch/1shot/heads.parquet"
# A target whose job asks for more GPUs than the test node has (2): sbatch refuses it.
GREEDY_TARGET = "results/tiny/induction/tiny-llama/scores.parquet"
# --set-resources: the importance rule asks for a GPU (the tiny model's own resources ask for none).
SET_RESOURCES = ["head_importance:gpu=1", "induction_scores:gpu=3"]
# What the Slurm run must reproduce byte for byte from the local run of the same config.
COMPARED = [
    "results/tiny/importance/tiny-llama/icl_antonyms/1shot/heads.parquet",
    "results/tiny/importance/tiny-llama/icl_city_country/1shot/heads.parquet",
    "results/tiny/pruning/tiny-llama/icl_antonyms/1shot/heads.parquet",
    "results/tiny/pruning/tiny-llama/icl_antonyms/1shot/heads.docs.parquet",
    "results/tiny/transfer/tiny-llama/icl_antonyms/1shot/high.parquet",
    "results/tiny/transfer/tiny-llama/icl_antonyms/1shot/aggregate.parquet",
    "results/tiny/figures/tiny-llama/fig13_task_importance_1shot.png",
    "results/tiny/figures/tiny-llama/fig13_task_importance_1shot.pdf",
]
# The user's site settings, as exported by a user: the profile must pass them to sbatch. Neither is
# the test cluster's default, so a job landing there proves the profile read them.
PARTITION, ACCOUNT = "gpu", "iclprune-alt"


def _why_no_slurm() -> str | None:
    """Why this machine cannot bring up the local Slurm, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"needs Linux to run Slurm daemons (this is {sys.platform})"
    if os.geteuid() != 0:
        return "needs root: tests/slurm/local_slurm.sh starts munge, MariaDB and the Slurm daemons"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "needs apt-get to install Slurm from Debian packages (or Slurm already installed)"
    return None


needs_slurm = pytest.mark.skipif(_why_no_slurm() is not None, reason=_why_no_slurm() or "")
pytestmark = pytest.mark.slow


def _images() -> set[str]:
    """Every Apptainer image the tiny config names: schema defaults, then config.yaml, then tiny.yaml."""
    schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())["properties"]
    config = {k: v["default"] for k, v in schema.items() if k.startswith("container") and "default" in v}
    for name in ("config.yaml", "tiny.yaml"):
        layer = yaml.safe_load((ROOT / "config" / name).read_text())
        config.update({k: v for k, v in layer.items() if k.startswith("container")})
    return {v for v in config.values() if isinstance(v, str) and v.endswith(".sif")}


def _env(workdir: Path, **extra: str) -> dict[str, str]:
    """Environment of a Snakemake run against the local Slurm, with the apptainer stub on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    hf_home = workdir / "hf_home"
    hf_home.mkdir(exist_ok=True)
    env.update(
        PATH=os.pathsep.join([str(STUB_DIR), str(Path(sys.executable).parent), env.get("PATH", "")]),
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        ICLPRUNE_TASKS=str(ROOT / "tasks"),
        ICLPRUNE_RESOURCES=str(ROOT / "resources"),
        APPTAINER_STUB_IMAGES=os.pathsep.join(sorted(_images())),
        APPTAINER_STUB_BINDS=str(hf_home),
        APPTAINER_STUB_LOG=str(workdir / "apptainer_calls.jsonl"),
        **extra,
    )
    return env


def _snakemake_slurm(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(ROOT / "config/tiny.yaml"), "--profile", str(ROOT / "profiles/slurm"),
           "--slurm-init-seconds-before-status-checks", "3", "--retries", "0", *args]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def local_slurm() -> None:
    """A healthy local Slurm for this module's tests: started by the script, and stopped again after
    them unless it was already running before."""
    status = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True, timeout=60)
    if status.returncode != 0:
        up = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
        assert up.returncode == 0, f"local Slurm did not come up:\n{up.stdout}\n{up.stderr}"
    yield
    if status.returncode != 0:
        subprocess.run([str(SCRIPT), "down"], capture_output=True, text=True, timeout=300)


@dataclass(frozen=True)
class SlurmRun:
    workdir: Path
    process: subprocess.CompletedProcess
    seconds: float
    jobs: dict[str, dict[str, str]]  # Slurm job id -> sacct fields (Rule, State, AllocTRES, ...)
    calls: list[dict]  # one record per apptainer stub call

    @property
    def output(self) -> str:
        return self.process.stdout + self.process.stderr

    def rule_jobs(self, rule: str) -> dict[str, dict[str, str]]:
        return {job: info for job, info in self.jobs.items() if info["Rule"] == rule}


def _sacct(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """sacct's record of each job (allocation lines only), with the rule name from the comment the
    plugin sets (``rule_<name>`` or ``rule_<name>_wildcards_<...>``)."""
    fields = ["JobID", "Comment", "State", "AllocTRES", "Partition", "Account", "ExitCode"]
    done = subprocess.run(
        ["sacct", "-X", "-P", "-n", "-j", ",".join(job_ids), "-o", ",".join(fields)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    jobs = {}
    for line in done.stdout.splitlines():
        record = dict(zip(fields, line.split("|"), strict=True))
        record["Rule"] = record["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        jobs[record["JobID"]] = record
    return jobs


@pytest.fixture(scope="module")
def slurm_run(local_slurm: None, tmp_path_factory: pytest.TempPathFactory) -> SlurmRun:
    """The tiny config's targets through ``snakemake --profile profiles/slurm``, the importance rule
    asking for a GPU, plus a job that fails in Slurm and one that sbatch refuses (the profile's
    keep-going runs the rest)."""
    workdir = tmp_path_factory.mktemp("slurm_run")
    (workdir / "config").mkdir()
    shutil.copy(ROOT / "config/schema.yaml", workdir / "config/schema.yaml")
    shutil.copy(ROOT / "config/config.yaml", workdir / "config/config.yaml")
    for image in _images():  # stand-ins for the built images: the stub checks they exist
        (workdir / image).parent.mkdir(parents=True, exist_ok=True)
        (workdir / image).write_bytes(b"")
    env = _env(workdir, SBATCH_PARTITION=PARTITION, SBATCH_ACCOUNT=ACCOUNT)
    start = time.perf_counter()
    targets = [*TARGETS, BAD_TARGET, GREEDY_TARGET]
    done = _snakemake_slurm(workdir, env, *targets, "--set-resources", *SET_RESOURCES)
    seconds = time.perf_counter() - start
    print(f"slurm run: {seconds:.0f} s")  # shown with pytest -s; the budget is ~5 minutes in all
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", done.stdout + done.stderr)
    assert job_ids, f"no job was submitted:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    log = workdir / "apptainer_calls.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return SlurmRun(workdir, done, seconds, _sacct(job_ids), calls)


@needs_slurm
def test_local_slurm_up_is_idempotent_and_schedules_fake_gpus(local_slurm: None) -> None:
    again = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stderr
    status = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True, timeout=60)
    assert status.stdout.splitlines() == [f"{name}: up" for name in ("munge", "db", "dbd", "ctld", "slurmd")]
    # clients need no SLURM_CONF (configless: slurmd's cached config), as inside Snakemake's job steps
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    sinfo = ["sinfo", "-h", "-o", "%P %G"]
    gpus = subprocess.run(sinfo, env=env, capture_output=True, text=True, timeout=60)
    assert gpus.stdout.split() == ["debug*", "gpu:2", "gpu", "gpu:2"]  # one node, two fake GPUs


@needs_slurm
def test_jobs_went_through_sbatch_with_the_users_partition_and_account(slurm_run: SlurmRun) -> None:
    rules = sorted(info["Rule"] for info in slurm_run.jobs.values())
    expected = ["model", *["head_importance"] * 3, "aggregate_importance", "cross_task_agreement", "head_pruning",
                "head_oracle", "iterative_ranking", "figure_fig13_task_importance_1shot"]  # fmt: skip
    assert rules == sorted(expected), slurm_run.jobs
    for info in slurm_run.jobs.values():
        assert info["Partition"] == PARTITION, info
        assert info["Account"] == ACCOUNT, info
        failing = "icl_nonesuch" in info["Comment"]
        assert info["State"] == ("FAILED" if failing else "COMPLETED"), info
    # every job ran its rule inside an image the workflow names, with the profile's --nv and binds
    # (the stub refuses anything else, failing the job)
    assert {call["slurm_job_id"] for call in slurm_run.calls} == set(slurm_run.jobs)
    assert {call["image"] for call in slurm_run.calls} <= _images()
    hf_home = str((slurm_run.workdir / "hf_home").resolve())
    assert all(hf_home in call["binds"] for call in slurm_run.calls)


@needs_slurm
def test_a_job_asking_for_a_gpu_got_one(slurm_run: SlurmRun) -> None:
    seen = {call["slurm_job_id"]: call["cuda_visible_devices"] for call in slurm_run.calls}
    gpu_jobs = slurm_run.rule_jobs("head_importance")
    assert len(gpu_jobs) == 3
    for job, info in slurm_run.jobs.items():
        if job in gpu_jobs:  # --set-resources head_importance:gpu=1 became --gpus=1
            assert "gres/gpu=1" in info["AllocTRES"].split(","), info
            assert seen[job] in {"0", "1"}, f"job {job} saw CUDA_VISIBLE_DEVICES={seen[job]!r}"
        else:
            assert "gres/gpu" not in info["AllocTRES"], info
            assert seen[job] is None, f"job {job} saw CUDA_VISIBLE_DEVICES={seen[job]!r}"


@needs_slurm
def test_slurm_tables_equal_a_local_run_byte_for_byte(slurm_run: SlurmRun, tiny_run) -> None:
    """Also the determinism check: two runs of one config, identical tables and figures."""
    assert tiny_run.process.returncode == 0, tiny_run.process.stderr[-3000:]
    for name in COMPARED:
        ours, local = slurm_run.workdir / name, tiny_run.workdir / name
        assert ours.is_file(), f"the Slurm run did not write {name}"
        assert ours.read_bytes() == local.read_bytes(), f"{name} differs between Slurm and local runs"


@needs_slurm
def test_a_failed_slurm_job_is_reported_with_its_log_path(slurm_run: SlurmRun) -> None:
    assert slurm_run.process.returncode != 0
    (job,) = [j for j, info in slurm_run.jobs.items() if info["State"] == "FAILED"]
    logs = slurm_run.workdir / ".snakemake/slurm_logs/rule_head_importance"
    slurm_log = logs / "tiny_tiny-llama_icl_nonesuch_1" / f"{job}.log"  # study_model_task_shot
    report = slurm_run.output
    assert "Error in rule head_importance" in report
    assert f"SLURM-job '{job}' failed" in report
    assert str(slurm_log) in report  # the report names the Slurm log ...
    assert "Error in rule head_importance" in slurm_log.read_text()  # ... which is kept, and says why
    # the rule's own log holds the stage's message, and the report prints it (show-failed-logs)
    rule_log = slurm_run.workdir / "logs/tiny/importance/tiny-llama/icl_nonesuch/1shot/heads.log"
    assert "unknown task(s) ['icl_nonesuch']" in rule_log.read_text()
    assert "unknown task(s) ['icl_nonesuch']" in report
    # keep-going (profile): the failure did not stop the other jobs
    assert all((slurm_run.workdir / name).is_file() for name in COMPARED)


@needs_slurm
def test_more_gpus_than_the_node_has_is_refused_by_sbatch(slurm_run: SlurmRun) -> None:
    assert "induction_scores" not in {info["Rule"] for info in slurm_run.jobs.values()}
    report = slurm_run.output
    assert "Error in rule induction_scores" in report
    assert "Requested node configuration is not available" in report  # the test node has 2 GPUs
    assert "--gpus=3" in report


# ---- without a Slurm: the profiles, the stub, the paper config's dry run --------------------------

GPU_RULES = {"head_importance", "ffn_oracle", "head_pruning", "ood_head_pruning", "ffn_pruning",
             "induction_scores"}  # fmt: skip


def _profile(name: str) -> dict:
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


def test_slurm_profile_leaves_site_settings_to_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    profile = _profile("slurm")
    assert profile["executor"] == "slurm"
    assert profile["software-deployment-method"] == "apptainer"
    args = profile["apptainer-args"].split()
    assert "--nv" in args  # Snakemake does not add it
    assert args[args.index("--bind") + 1] == "$HF_HOME"
    resources = profile["default-resources"]
    # account and partition come from the user's environment (Slurm's own sbatch variables) ...
    monkeypatch.setenv("SBATCH_ACCOUNT", "someone-else")
    monkeypatch.setenv("SBATCH_PARTITION", "a100")
    assert eval(resources["slurm_account"]) == "someone-else"  # noqa: S307 - Snakemake evaluates it so
    assert eval(resources["slurm_partition"]) == "a100"  # noqa: S307
    # ... or are left empty (the plugin's fallbacks), never a value written into the profile
    monkeypatch.delenv("SBATCH_ACCOUNT")
    monkeypatch.delenv("SBATCH_PARTITION")
    assert eval(resources["slurm_account"]) == eval(resources["slurm_partition"]) == ""  # noqa: S307


def test_local_profile_runs_on_one_machine_without_containers(root: Path, tmp_path: Path) -> None:
    profile = _profile("local")
    assert profile.get("executor", "local") == "local"
    assert "software-deployment-method" not in profile
    (tmp_path / "config").mkdir()
    shutil.copy(root / "config/schema.yaml", tmp_path / "config/schema.yaml")
    shutil.copy(root / "config/config.yaml", tmp_path / "config/config.yaml")
    cmd = [SNAKEMAKE, "--snakefile", str(root / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(root / "config/tiny.yaml"), "--profile", str(root / "profiles/local"),
           "-n", "--quiet", "rules"]  # fmt: skip
    env = dict(os.environ, ICLPRUNE_TASKS=str(root / "tasks"), PATH=os.environ.get("PATH", ""))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Using profile" in done.stdout + done.stderr


def _stub(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, APPTAINER_STUB_LOG=str(tmp_path / "calls.jsonl"), **env)
    return subprocess.run(
        [str(STUB_DIR / "apptainer"), *args], cwd=tmp_path, env=full, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "--nv"}, "--nv missing"),
        ({"image": "other.sif"}, "is not one the workflow names"),
        ({"image": "missing.sif"}, "does not exist"),
        ({"bind": "/nonexistent/hf"}, "bind source '/nonexistent/hf'"),
        ({"drop": "--bind"}, "required bind"),
        ({"add": "--cleanenv"}, "unexpected exec option '--cleanenv'"),
        ({"command": "run"}, "only knows --version and exec"),
    ],
)
def test_apptainer_stub_refuses_unexpected_calls(tmp_path: Path, change: dict, message: str) -> None:
    """The stub stands in for Apptainer in the Slurm test: it must fail loudly on a wrong call."""
    (tmp_path / "hf").mkdir()
    for name in ("image.sif", "other.sif"):
        (tmp_path / name).write_bytes(b"")
    env = {"APPTAINER_STUB_IMAGES": "image.sif", "APPTAINER_STUB_BINDS": str(tmp_path / "hf")}
    good = ["exec", "--home", str(tmp_path), "--nv", "--bind", str(tmp_path / "hf"), "image.sif",
            "bash", "-c", "echo ran $CUDA_VISIBLE_DEVICES"]  # fmt: skip
    ok = _stub(tmp_path, *good, CUDA_VISIBLE_DEVICES="1", **env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "ran 1\n"
    assert json.loads((tmp_path / "calls.jsonl").read_text())["cuda_visible_devices"] == "1"
    assert _stub(tmp_path, "--version").stdout.strip() == "apptainer version 1.3.6"
    args = list(good)
    if "drop" in change:
        i = args.index(change["drop"])
        del args[i : i + (2 if change["drop"] == "--bind" else 1)]
    if "add" in change:
        args.insert(1, change["add"])
    if "image" in change:
        args[args.index("image.sif")] = change["image"]
    if "bind" in change:
        args[args.index("--bind") + 1] = change["bind"]
    if "command" in change:
        args[0] = change["command"]
    bad = _stub(tmp_path, *args, **env)
    assert bad.returncode == 97
    assert message in bad.stderr
    assert "ran" not in bad.stdout


def _dry_run_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """Rule name → the resources of each of its jobs, from a dry run's job listing."""
    per_rule: dict[str, list[dict[str, str]]] = {}
    rule = None
    for line in output.splitlines():
        if match := re.match(r"^(?:local)?rule (\S+):$", line):
            rule = match.group(1)
        elif rule and line.strip().startswith("resources:"):
            pairs = (item.split("=", 1) for item in line.split(":", 1)[1].split(", "))
            per_rule.setdefault(rule, []).append({k.strip(): v.strip() for k, v in pairs})
            rule = None
    return per_rule


def test_paper_dry_run_through_the_slurm_profile_asks_gpus_for_gpu_rules_only(root: Path) -> None:
    """``snakemake --profile profiles/slurm -n --configfile config/paper.yaml``: offline, no Slurm, the
    apptainer stub on PATH (Snakemake checks the binary even in a dry run)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    env.update(PATH=os.pathsep.join([str(STUB_DIR), env.get("PATH", "")]), HF_HUB_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")  # fmt: skip
    cmd = [SNAKEMAKE, "--snakefile", str(root / "Snakefile"), "--directory", str(root),
           "--profile", str(root / "profiles/slurm"), "-n", "--configfile", str(root / "config/paper.yaml")]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    per_rule = _dry_run_resources(done.stdout)
    assert set(per_rule) >= GPU_RULES, sorted(per_rule)
    for rule in GPU_RULES:
        for resources in per_rule[rule]:
            assert int(resources.get("gpu", "0")) >= 1, f"{rule} asks for no GPU: {resources}"
    figures = [rule for rule in per_rule if rule.startswith("figure_")]
    assert len(figures) >= 15
    for rule in figures:
        for resources in per_rule[rule]:
            assert "gpu" not in resources, f"plotting rule {rule} asks for a GPU: {resources}"
