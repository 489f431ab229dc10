"""Where the project's files are, relative to the repository root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.yml"
DOMAIN = ROOT / "bot" / "domain.yml"
NLU_DATA = ROOT / "data" / "nlu"
CORE_DATA = ROOT / "data" / "core"
CREDENTIALS = ROOT / "credentials.yml"
MODELS = ROOT / "models"
VAR = ROOT / "var"
# Code whose change changes what a trained model does (custom NLU components).
MODEL_CODE = ROOT / "bot" / "nlu"
