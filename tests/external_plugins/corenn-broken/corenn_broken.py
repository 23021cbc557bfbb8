"""A plugin whose import fails, as when a dependency is missing or the code has a bug."""

import corenn

raise RuntimeError("corenn-broken cannot start: its lookup table is missing")


@corenn.hookimpl
def corenn_activations():  # never reached
    return []
