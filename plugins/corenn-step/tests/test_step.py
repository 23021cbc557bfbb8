import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_step import StepDecay


def test_step_schedule_passes_the_conformance_kit():
    check_component(StepDecay)


def test_it_is_initial_times_factor_to_the_t_div_every():
    check_schedule_formula(StepDecay(initial=0.1, factor=0.5, every=5), lambda t: 0.1 * 0.5 ** (t // 5))
    check_schedule_formula(StepDecay(initial=0.1, factor=0.1, every=20), lambda t: 0.1 * 0.1 ** (t // 20))


def test_the_tutorial_halving_every_five_epochs_at_the_boundaries():
    s = corenn.create("schedule", "step:initial=0.1")
    assert [s(t) for t in (0, 4, 5, 9, 10, 15)] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]


@pytest.mark.parametrize(("field", "value"), [("every", 0), ("every", 2.5), ("factor", 0.0), ("factor", -0.5)])
def test_bad_fields_are_refused(field, value):
    with pytest.raises(corenn.InvalidHyperparameter, match=field):
        StepDecay(initial=0.1, **{field: value})
