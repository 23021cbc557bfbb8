import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_constant_schedule import Constant


def test_constant_schedule_passes_the_conformance_kit():
    check_component(Constant)


def test_it_gives_its_value_at_every_t():
    check_schedule_formula(Constant(value=0.3), lambda t: 0.3, range(0, 1000, 37))


def test_it_is_the_schedule_named_constant_and_value_is_required():
    assert type(corenn.create("schedule", "constant:value=2.5")) is Constant
    with pytest.raises(corenn.InvalidHyperparameter, match="value is required"):
        corenn.create("schedule", "constant")
