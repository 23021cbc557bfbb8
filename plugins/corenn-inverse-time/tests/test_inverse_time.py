import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_inverse_time import InverseTime


def test_inverse_time_schedule_passes_the_conformance_kit():
    check_component(InverseTime)


def test_it_is_initial_over_one_plus_k_t():
    check_schedule_formula(InverseTime(initial=0.2, k=0.1), lambda t: 0.2 / (1 + 0.1 * t))
    s = InverseTime(initial=1.0, k=1.0)
    assert [s(t) for t in (0, 1, 3)] == [1.0, 0.5, 0.25]


def test_k_must_be_non_negative():
    with pytest.raises(corenn.InvalidHyperparameter, match="k=-0.1"):
        InverseTime(initial=0.1, k=-0.1)
