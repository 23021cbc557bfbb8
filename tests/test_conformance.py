"""Every registered component passes the conformance kit for its kind.

A new plugin is covered here without a line of its own: installing it is enough.
"""

import pytest

import corenn
from corenn.registry import ALL_KINDS
from corenn.testing import ConformanceError, check_component

REGISTERED = [(kind, name) for kind in ALL_KINDS for name in corenn.available(kind)]


@pytest.mark.parametrize(("kind", "name"), REGISTERED, ids=[f"{k}-{n}" for k, n in REGISTERED])
def test_registered_component_conforms(kind, name):
    check_component(corenn.get(kind, name), kind)


def _square(backward):
    @corenn.component
    class Square(corenn.Module):
        """y = x**2; dx = 2 x dy."""

        name = "square"

        def forward(self, x):
            self._x = x
            return x * x

    Square.backward = backward
    return Square


def test_the_kit_refuses_a_raw_error_from_backward_before_forward_and_accepts_from_forward():
    raw = _square(lambda self, dy: 2 * self._x * dy)
    with pytest.raises(ConformanceError, match=r"check_backward_before_forward: .*raised AttributeError") as info:
        check_component(raw, "activation")
    assert len(info.value.failures) == 1
    fixed = _square(lambda self, dy: 2 * corenn.from_forward(self, "_x") * dy)
    check_component(fixed, "activation")
    with pytest.raises(corenn.InvalidInput, match=r"^square: backward\(\) was called before forward\(\)"):
        fixed().backward(1.0)
