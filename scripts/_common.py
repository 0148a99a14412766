"""Shared by the stage scripts: offline environment, logging to the rule's log file."""

import json
import logging
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def setup(snakemake) -> dict:
    """Send logging (and stderr) to the rule's log; return the model spec from params."""
    if snakemake.log:
        handle = open(snakemake.log[0], "w")  # noqa: SIM115 - lives as long as the process
        sys.stderr = handle
        logging.basicConfig(
            level=logging.INFO, stream=handle, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    import torch

    torch.set_num_threads(max(1, snakemake.threads))
    return json.loads(snakemake.params.spec)
