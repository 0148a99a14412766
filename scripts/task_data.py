"""Stage: settle one task's documents (hub snapshot at a pinned commit, or local files) and their manifest.

With download_model, the only stages that may use the network (on the login node): a snapshot already
complete in the hub cache is used without any network access, and every other stage runs offline.
"""

import os

from _common import setup_logging

os.environ["HF_HUB_OFFLINE"] = "0"  # before huggingface_hub is imported (it reads this once)

import json

from iclprune.evaluate.taskdata import prepare

setup_logging(snakemake)  # noqa: F821
prepare(json.loads(snakemake.params.source), snakemake.output.manifest)  # noqa: F821
