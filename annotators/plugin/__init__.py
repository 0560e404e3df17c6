"""gymdata's FiftyOne plugin package: FiftyOne loads this file and calls :func:`register`.

The code lives in :mod:`annotators.operators` (the operators), :mod:`annotators.panel` (the "Gym labels"
form panel) and :mod:`annotators.adjudicate` (the reviewer's pick); the "Gym keys" keyboard/timeline panel
is the JS bundle ``dist/index.umd.js`` (source in ``js/``).
"""

from annotators import adjudicate
from annotators.operators import OPERATORS
from annotators.panel import GymLabelsPanel


def register(plugin) -> None:
    """Register the operators and the panels with FiftyOne."""
    for cls in (*OPERATORS, GymLabelsPanel):
        plugin.register(cls)
    adjudicate.register(plugin)
