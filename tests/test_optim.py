"""The machinery every corenn.optim.Optimizer shares: array checks, state, checkpoints.

SGD stands in for any optimizer built on corenn.optim.Optimizer.
"""

import json

import numpy as np
import pytest

import corenn
from corenn import optim
from corenn.files import load_arrays, save_arrays
from corenn.optim import flatten_state, unflatten_state
from corenn_sgd import SGD


def test_bad_arrays_are_clear_errors():
    opt = SGD()
    with pytest.raises(corenn.InvalidInput, match="2 params but 1 grads"):
        opt.step([np.zeros(2), np.zeros(3)], [np.zeros(2)])
    with pytest.raises(corenn.InvalidInput, match=r"grads\[0\] must be an array like params\[0\]"):
        opt.step([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(corenn.InvalidInput, match=r"grads\[0\] .*float64 \(2,\)"):
        opt.step([np.zeros(2)], [np.zeros(2, np.float32)])
    with pytest.raises(corenn.InvalidInput, match="float32 or float64"):
        opt.step([np.zeros(2, np.int64)], [np.zeros(2, np.int64)])
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(corenn.InvalidInput, match="read-only"):
        opt.step([frozen], [np.zeros(2)])
    with pytest.raises(corenn.InvalidInput, match="empty"):
        opt.step([], [])
    assert opt.steps == 0


def test_params_of_other_shapes_after_the_first_step_are_refused():
    opt = SGD()
    opt.step([np.zeros((2, 3))], [np.ones((2, 3))])
    with pytest.raises(corenn.InvalidInput, match=r"state is for parameters \[float64\(2, 3\)\]"):
        opt.step([np.zeros((3, 2))], [np.ones((3, 2))])


def test_unknown_hyperparameters_in_current_are_clear_errors():
    with pytest.raises(corenn.InvalidHyperparameter, match="sgd has: lr"):
        SGD().current("momentum")


def test_state_of_another_optimizer_or_malformed_state_is_refused():
    opt = SGD()
    with pytest.raises(corenn.InvalidInput, match="saved by optimizer 'adam'"):
        opt.load_state_dict({"optimizer": "adam", "steps": 1, "slots": {}})
    with pytest.raises(corenn.InvalidInput, match="lacks"):
        opt.load_state_dict({"steps": 1})
    with pytest.raises(corenn.InvalidInput, match="non-negative integer"):
        opt.load_state_dict({"steps": -1, "slots": {}})
    with pytest.raises(corenn.InvalidInput, match=r"keeps the slots \[\]"):
        opt.load_state_dict({"steps": 1, "slots": {"v": []}})


def test_state_layout_is_plain_data_and_survives_a_checkpoint_file(tmp_path):
    opt = SGD(lr=0.1)
    x = [np.ones((2, 2), np.float32), np.ones(3, np.float32)]
    opt.step(x, [np.ones_like(a) for a in x])
    state = opt.state_dict()
    assert state == {"optimizer": "sgd", "steps": 1, "params": {"shapes": [[2, 2], [3]],
                     "dtypes": ["float32", "float32"]}, "slots": {}, "extra": {}}
    arrays, doc = flatten_state(state, prefix="optimizer/")
    save_arrays(tmp_path / "ckpt.npz", arrays, doc)
    loaded = unflatten_state(*load_arrays(tmp_path / "ckpt.npz"))
    fresh = SGD(lr=0.1)
    fresh.load_state_dict(loaded)
    assert fresh.steps == 1
    with pytest.raises(corenn.InvalidInput, match="float32"):
        fresh.step([np.ones((2, 2)), np.ones(3)], [np.ones((2, 2)), np.ones(3)])


def test_flatten_state_round_trips_nested_arrays_and_scalars_exactly():
    state = {"steps": 3, "slots": {"m": [np.arange(4.0).reshape(2, 2), np.float32([1.5])]},
             "extra": {"h": [np.zeros(2)], "t": 0.1, "none": None, "n": np.int64(7)}}
    arrays, doc = flatten_state(state)
    assert sorted(arrays) == ["extra/h/0", "slots/m/0", "slots/m/1"]
    doc = json.loads(json.dumps(doc))
    back = unflatten_state(arrays, doc)
    assert back["extra"]["t"] == 0.1 and back["extra"]["n"] == 7 and back["extra"]["none"] is None
    np.testing.assert_array_equal(back["slots"]["m"][0], state["slots"]["m"][0])
    assert back["slots"]["m"][1].dtype == np.float32
    with pytest.raises(corenn.InvalidFile, match="'slots/m/1' is missing"):
        unflatten_state({k: v for k, v in arrays.items() if k != "slots/m/1"}, doc)
    with pytest.raises(ValueError, match="not plain data"):
        flatten_state({"x": object()})



def test_packed_scratch_takes_one_block_not_the_whole_model(monkeypatch):
    monkeypatch.setattr(optim.Packed, "BLOCK_BYTES", 400)  # 100 float32 elements per block
    layout = [((100, 10), np.dtype(np.float32)), ((10,), np.dtype(np.float32))]
    packed = optim.Packed(layout, {"v": [np.zeros((100, 10), np.float32), np.zeros(10, np.float32)]}, ("v",), 2)
    blocks = packed.blocks([np.zeros((100, 10), np.float32), np.zeros(10, np.float32)],
                           [np.zeros((100, 10), np.float32), np.zeros(10, np.float32)])
    assert sum(b.slots["v"].size for b in blocks) == 1010
    for j in range(2):
        assert all(b.scratch[j].size == b.slots["v"].size for b in blocks)
        assert max(b.scratch[j].base.size for b in blocks) <= 110  # one block's worth


def test_an_optimizer_whose_current_value_disagrees_with_its_field_fails_the_kit():
    from corenn.protocols import CurrentValues
    from corenn.testing import ConformanceError, check_component

    @corenn.component
    class Lying(SGD):
        """SGD that reports a learning rate it does not use."""

        name = "lying_sgd"

        def current(self, field):
            return 2 * super().current(field)

    assert isinstance(SGD(), CurrentValues)
    with pytest.raises(ConformanceError, match=r"check_current_values.*current\('lr'\)"):
        check_component(Lying, "optimizer")


def test_the_trainer_reads_the_lr_of_an_optimizer_without_current_values_at_its_own_step():
    from corenn.protocols import CurrentValues

    class Plain:  # the Optimizer protocol alone: no current()
        name = "plain"
        lr = staticmethod(lambda t: 0.1 / (1 + t))

        def step(self, params, grads, closure=None):
            for p, g in zip(params, grads):
                p -= 0.01 * g

        def state_dict(self):
            return {}

        def load_state_dict(self, state): ...

    assert not isinstance(Plain(), CurrentValues)
    model = corenn.Sequential([corenn.create("layer", "dense:in_features=2,out_features=2")])
    trainer = corenn.Trainer(model, optimizer=Plain(), batch_size=2, epochs=1)
    trainer.fit(np.eye(2, dtype=np.float32).repeat(2, axis=0), np.array([0, 1, 0, 1]))
    assert trainer.step == 2 and trainer.current_lr() == pytest.approx(0.1 / 3)
