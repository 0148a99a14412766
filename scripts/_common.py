"""Shared by the stage scripts: offline environment, logging to the rule's log file."""

import json
import logging
import os
import sys
import traceback

# Every stage loads models from the local cache only (a hub model was fetched, at a pinned revision, by
# the download_model rule, which alone turns this off again): set, not defaulted, so a user's
# HF_HUB_OFFLINE=0 cannot make a GPU job reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def setup_logging(snakemake) -> None:
    """Send logging, stderr and any uncaught error to the rule's log file (line-buffered)."""
    if not snakemake.log:
        return
    handle = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stderr = handle
    logging.basicConfig(
        level=logging.INFO, stream=handle, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def excepthook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        handle.write(text)
        handle.flush()
        sys.__stderr__.write(text)  # also in Snakemake's own output

    sys.excepthook = excepthook


def setup(snakemake) -> dict:
    """Log to the rule's log, use the rule's threads, turn SIGTERM (Snakemake or Slurm cancelling the job)
    into a clean exit that removes temporary files and keeps checkpoints; return the model spec."""
    setup_logging(snakemake)
    from iclprune.core.io import raise_on_sigterm

    raise_on_sigterm()
    import torch

    torch.set_num_threads(max(1, snakemake.threads))
    return json.loads(snakemake.params.spec)


def data_manifest(snakemake) -> str | None:
    """The job's data manifest (input ``data``), or None for a task that carries its own files."""
    data = snakemake.input.get("data")
    if isinstance(data, str):
        return data
    return data[0] if data else None


def random_outputs(snakemake) -> dict[int, str]:
    """The job's random-ranking control outputs, draw → table (outputs ``random_<draw>``)."""
    return {
        int(name.split("_")[1]): path
        for name, path in snakemake.output.items()
        if name.startswith("random_") and not name.endswith("_sidecar")
    }


def ranked(snakemake) -> dict[str, tuple[str, str]]:
    """The job's sweeps under other head rankings, name → (scores table, output): inputs and outputs
    ``ranked_<name>``."""
    return {
        name.split("_", 1)[1]: (snakemake.input[name], path)
        for name, path in snakemake.output.items()
        if name.startswith("ranked_") and not name.endswith("_sidecar")
    }
