"""Side-by-side benchmarks: sklearn_deep, scikit-learn, skorch and bare torch.

Run ``python -m benchmarks.run --help`` from the repository root.
"""

import os

# libgomp reads these when torch loads: spin-waiting threads collapse torch
# when the other cores are busy (docs/performance.md, "Threads").
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
