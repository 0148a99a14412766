"""Shared fixtures. Everything runs offline: hub access is switched off before any library import."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("ICLPRUNE_RESOURCES", str(ROOT / "resources"))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct ``(model, tokenizer)``, dequantised once into resources/."""
    from iclprune.models import load_model

    return load_model("embedded")
