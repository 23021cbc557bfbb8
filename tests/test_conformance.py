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


def test_the_kit_catches_an_activation_whose_backward_before_forward_is_a_raw_error():
    import numpy as np

    from corenn.testing import ConformanceError

    @corenn.component
    class Square:
        """y = x^2 (caches x), not a corenn.Module: its missing cache is a raw AttributeError."""

        name = "square"
        params: dict = {}
        grads: dict = {}

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dy):
            return 2 * self.x * dy

    with pytest.raises(ConformanceError, match="check_backward_before_forward_is_a_clear_error.*AttributeError"):
        check_component(Square, "activation", only="check_backward_before_forward_is_a_clear_error")
    check_component(Square, "activation", only="check_dtype_and_shape")  # otherwise a working activation
    assert np.array_equal(Square().forward(np.ones(2)), np.ones(2))
