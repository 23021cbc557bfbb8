import math

import pytest

import corenn
from corenn.testing import check_component
from corenn.testing.schedule import check_schedule_formula
from corenn_cosine import Cosine


def test_cosine_schedule_passes_the_conformance_kit():
    check_component(Cosine)


def contract_formula(initial, steps, final, warmup):
    def f(t):
        if t < warmup:
            return initial * t / warmup
        if t <= steps:
            return final + (initial - final) * (1 + math.cos(math.pi * (t - warmup) / (steps - warmup))) / 2
        return final

    return f


@pytest.mark.parametrize(("initial", "steps", "final", "warmup"), [(0.1, 50, 0.0, 0), (0.1, 50, 0.001, 10),
                                                                   (1.0, 7, 0.5, 6)])
def test_it_follows_the_contract_formula(initial, steps, final, warmup):
    check_schedule_formula(Cosine(initial=initial, steps=steps, final=final, warmup=warmup),
                           contract_formula(initial, steps, final, warmup), range(0, 80))


def test_warmup_rises_linearly_from_zero_to_initial_then_anneals_to_final_and_holds():
    s = Cosine(initial=0.1, steps=14, final=0.01, warmup=4)
    assert [s(t) for t in range(5)] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1])
    assert s(9) == pytest.approx(0.01 + 0.09 / 2)  # half way through the annealing
    assert s(14) == pytest.approx(0.01)
    assert s(15) == s(1000) == 0.01


@pytest.mark.parametrize("warmup", [20, 25])
def test_warmup_must_be_smaller_than_steps(warmup):
    with pytest.raises(corenn.InvalidHyperparameter, match="warmup|steps"):
        Cosine(initial=0.1, steps=20, warmup=warmup)
    with pytest.raises(corenn.InvalidHyperparameter, match="must be larger than warmup"):
        corenn.create("schedule", {"name": "cosine", "initial": 0.1, "steps": 20, "warmup": warmup})


def test_changing_steps_later_is_checked_too():
    s = Cosine(initial=0.1, steps=20, warmup=5)
    with pytest.raises(corenn.InvalidHyperparameter, match="must be larger than warmup=5"):
        s.steps = 5
    with pytest.raises(corenn.InvalidHyperparameter, match="must be smaller than steps=20"):
        s.warmup = 20
