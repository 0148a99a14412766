"""Stage: snapshot a hub model at its pinned revision and write its checksum manifest.

The one stage that may use the network: every other stage runs with HF_HUB_OFFLINE=1 (scripts/_common.py).
A complete snapshot already in the cache is used without any network access.
"""

import os

from _common import setup_logging

os.environ["HF_HUB_OFFLINE"] = "0"  # before huggingface_hub is imported (it reads this once)

import json

from iclprune.model.download import download_model

setup_logging(snakemake)  # noqa: F821
download_model(json.loads(snakemake.params.spec), snakemake.output.manifest, name=snakemake.params.name)  # noqa: F821
