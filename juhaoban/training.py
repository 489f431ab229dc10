"""Train the Rasa model only when its inputs changed.

The fingerprint is a SHA-256 over the config, the domain, every file under ``data/nlu`` and ``data/core``, the
custom NLU components' source and the Rasa version. A model named ``juhaoban-<fingerprint[:16]>.tar.gz`` in
``models/`` is reused; otherwise ``rasa train`` runs (several minutes on two cores) and writes it.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Optional

from juhaoban import paths

logger = logging.getLogger(__name__)


def _inputs() -> Iterable[Path]:
    yield paths.CONFIG
    yield paths.DOMAIN
    for folder, pattern in ((paths.NLU_DATA, "*"), (paths.CORE_DATA, "*"), (paths.MODEL_CODE, "*.py")):
        yield from sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def fingerprint() -> str:
    """Hex SHA-256 of the training inputs (paths relative to the repo, contents) and the Rasa version."""
    import rasa

    digest = hashlib.sha256(f"rasa=={rasa.__version__}\n".encode())
    for path in _inputs():
        digest.update(str(path.relative_to(paths.ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def model_path(models_dir: Path = paths.MODELS) -> Path:
    """The path the model for the current inputs has (whether or not it exists)."""
    return models_dir / f"juhaoban-{fingerprint()[:16]}.tar.gz"


def ensure_model(models_dir: Path = paths.MODELS, *, force: bool = False) -> Path:
    """Returns the model for the current inputs, training it first when it does not exist.

    Raises:
        RuntimeError: ``rasa train`` failed (its output is on the console).
    """
    target = model_path(models_dir)
    if target.exists() and not force:
        logger.info("Model is up to date: %s", target)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "rasa", "train",
        "--config", str(paths.CONFIG),
        "--domain", str(paths.DOMAIN),
        "--data", str(paths.NLU_DATA), str(paths.CORE_DATA),
        "--out", str(models_dir),
        "--fixed-model-name", target.name[: -len(".tar.gz")],
    ]
    print(f"Training the model (inputs changed): {target.name}", flush=True)
    result = subprocess.run(command, cwd=paths.ROOT)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"rasa train failed with exit code {result.returncode}")
    return target


def latest_model(models_dir: Path = paths.MODELS) -> Optional[Path]:
    """The current model if trained, else None."""
    target = model_path(models_dir)
    return target if target.exists() else None
