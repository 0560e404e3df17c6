"""gymdata's FiftyOne plugin package: FiftyOne loads this file; the code lives in annotators.operators."""

from annotators.operators import register  # noqa: F401  (FiftyOne calls register(plugin))
