"""Make `corpus_metrics` importable from the tests (it is also a script)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
