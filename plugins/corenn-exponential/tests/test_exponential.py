import math

import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_exponential import Exponential


def test_exponential_schedule_passes_the_conformance_kit():
    check_component(Exponential)


def test_it_is_initial_times_exp_minus_k_t():
    check_schedule_formula(Exponential(initial=0.2, k=0.05), lambda t: 0.2 * math.exp(-0.05 * t))
    s = Exponential(initial=1.0, k=math.log(2))
    assert [round(s(t), 12) for t in (0, 1, 2, 3)] == [1.0, 0.5, 0.25, 0.125]


def test_k_must_be_non_negative():
    with pytest.raises(corenn.InvalidHyperparameter, match="k=-1"):
        Exponential(initial=0.1, k=-1)
