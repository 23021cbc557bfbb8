import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_linear import Linear


def test_linear_schedule_passes_the_conformance_kit():
    check_component(Linear)


def test_it_ramps_from_start_to_end_over_steps_then_holds():
    check_schedule_formula(Linear(start=0.5, end=0.99, steps=20),
                           lambda t: 0.5 + (0.99 - 0.5) * t / 20 if t < 20 else 0.99, range(0, 60))


def test_the_tutorial_momentum_ramp_at_given_t():
    ramp = corenn.create("schedule", "linear:start=0.5,end=0.99,steps=10")
    assert ramp(0) == 0.5
    assert ramp(5) == pytest.approx(0.745)
    assert ramp(10) == ramp(11) == ramp(10_000) == 0.99


def test_it_also_ramps_down():
    s = Linear(start=1.0, end=0.0, steps=4)
    assert [s(t) for t in range(6)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_steps_must_be_a_positive_integer():
    with pytest.raises(corenn.InvalidHyperparameter, match="steps"):
        Linear(start=0.5, end=0.99, steps=0)
