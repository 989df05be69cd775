from __future__ import annotations

import os

# Keras 3 picks its backend at import: torch is the one installed with the test extras.
os.environ.setdefault("KERAS_BACKEND", "torch")
