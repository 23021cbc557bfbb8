"""Every registered component passes the conformance kit for its kind.

A new plugin is covered here without a line of its own: installing it is enough.
"""

import pytest

import corenn
from corenn.registry import ALL_KINDS
from corenn.testing import check_component

REGISTERED = [(kind, name) for kind in ALL_KINDS for name in corenn.available(kind)]


@pytest.mark.parametrize(("kind", "name"), REGISTERED, ids=[f"{k}-{n}" for k, n in REGISTERED])
def test_registered_component_conforms(kind, name):
    check_component(corenn.get(kind, name), kind)
