"""Sequential, mlp, compute_loss, saving and loading, and the whole-model gradient check."""

import json
import zipfile

import numpy as np
import pytest

import corenn
from corenn.model import Sequential, apply_constraints, compute_loss, load_model, mlp
from corenn.testing import GradientCheckError, check_model_gradients


class SoftmaxLoss:
    """A local softmax cross-entropy (the Loss protocol), so these tests need no loss plugin."""

    name = "local_softmax"

    def forward(self, scores, y):
        shifted = scores - scores.max(axis=1, keepdims=True)
        self._p = np.exp(shifted)
        self._p /= self._p.sum(axis=1, keepdims=True)
        self._y = y
        return float(-np.mean(np.log(self._p[np.arange(len(y)), y])))

    def backward(self):
        d = self._p.copy()
        d[np.arange(len(self._y)), self._y] -= 1
        return d / len(self._y)


def data(n=12, d=5, classes=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, classes, n)


def sgd_step(model, lr=0.1):
    for p, g in zip(model.parameters(), model.gradients()):
        p -= lr * g


# -- structure -----------------------------------------------------------------------------------------------
def test_mlp_builds_dense_batchnorm_activation_dropout_blocks_and_a_last_dense():
    model = mlp([5, 8, 7, 3], activation="tanh", dropout=0.8, batchnorm=True, seed=0)
    assert [el.name for el in model.layers] == ["dense", "batchnorm", "tanh", "dropout",
                                                "dense", "batchnorm", "tanh", "dropout", "dense"]
    assert [(el.in_features, el.out_features) for el in model.layers if el.name == "dense"] == [(5, 8), (8, 7), (7, 3)]
    assert [el.keep_prob for el in model.layers if el.name == "dropout"] == [0.8, 0.8]
    plain = mlp([5, 4, 3], seed=0)
    assert [el.name for el in plain.layers] == ["dense", "relu", "dense"]
    assert plain.forward(np.ones((2, 5))).shape == (2, 3)


def test_parameters_and_gradients_are_the_same_arrays_for_the_whole_life_of_the_model():
    model = mlp([5, 6, 3], batchnorm=True, dropout=0.5, seed=0, dtype="float64")
    params, grads = model.parameters(), model.gradients()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.dense.W", "0.dense.b", "1.batchnorm.gamma", "1.batchnorm.beta", "4.dense.W", "4.dense.b"]
    assert [p.shape for p in params] == [g.shape for g in grads]
    X, y = data()
    loss = SoftmaxLoss()
    for _ in range(3):
        compute_loss(model, loss, X, y)
        sgd_step(model)
        assert all(a is b for a, b in zip(params, model.parameters()))
        assert all(a is b for a, b in zip(grads, model.gradients()))
        assert all(a is b for a, (_, b) in zip(params, model.named_parameters()))


def test_backward_overwrites_the_gradients_and_returns_dx():
    model = mlp([5, 6, 3], seed=0, dtype="float64")
    X, y = data()
    loss = SoftmaxLoss()
    compute_loss(model, loss, X, y)
    first = [g.copy() for g in model.gradients()]
    compute_loss(model, loss, X, y)  # the same batch again: the same gradients, not twice them
    for a, b in zip(first, model.gradients()):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    model.forward(X)
    dX = model.backward(np.ones((len(X), 3)))
    assert dX.shape == X.shape


def test_a_layer_that_rebinds_its_grads_still_fills_the_model_gradients():
    model = mlp([4, 3], seed=0, dtype="float64")
    dense = model.layers[0]
    grads = model.gradients()

    original = dense.backward

    def rebinding_backward(dy):
        dx = original(dy)
        dense.grads = {k: v.copy() for k, v in dense.grads.items()}
        return dx

    dense.backward = rebinding_backward
    X = np.ones((2, 4))
    model.forward(X)
    model.backward(np.ones((2, 3)))
    np.testing.assert_allclose(grads[1], [2, 2, 2])
    assert model.gradients()[1] is grads[1]


def test_a_models_parameters_and_gradients_lie_end_to_end_in_one_flat_buffer_each():
    layers = mlp([5, 4, 3], seed=0).layers
    before = [layer.params[k].copy() for layer in layers if getattr(layer, "params", None) for k in layer.params]
    model = Sequential(layers)
    for arrays in (model.parameters(), model.gradients()):
        flat = arrays[0].base
        assert flat.ndim == 1 and flat.size == sum(a.size for a in arrays)
        at = 0
        for a in arrays:
            assert a.base is flat and np.shares_memory(a, flat[at:at + a.size])
            at += a.size
    for p, values in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, values)
    assert [p for layer in layers if getattr(layer, "params", None) for p in layer.params.values()] \
        == model.parameters()  # the layers' own entries are the views
    assert all(a is b for a, b in zip(model.parameters(), layers[0].params.values()))
    assert all(a is b for a, b in zip(model.gradients(), layers[0].grads.values()))
    again = Sequential(layers)  # the same layers once more: they keep the arrays they have
    assert all(a is b for a, b in zip(again.parameters(), model.parameters()))


def test_a_deep_copy_lays_its_own_parameters_and_gradients_flat_again():
    import copy

    from corenn.arrays import flat_buffer

    model = mlp([5, 4, 3], seed=0)
    clone = copy.deepcopy(model)
    for ours, theirs in ((model.parameters(), clone.parameters()), (model.gradients(), clone.gradients())):
        assert flat_buffer(theirs) is not None
        assert not np.shares_memory(flat_buffer(ours), flat_buffer(theirs))
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(), clone.parameters()))
    assert [p for layer in clone.layers if getattr(layer, "params", None) for p in layer.params.values()] \
        == clone.parameters()
    np.testing.assert_array_equal(clone.forward(np.ones((2, 5)), training=False),
                                  model.forward(np.ones((2, 5)), training=False))


def test_a_layer_whose_params_do_not_keep_what_is_assigned_keeps_its_own_arrays():
    class FrozenParams(dict):
        def __setitem__(self, key, value):
            pass  # ignores assignment: the model cannot lay this layer's params flat

    layers = [corenn.create("layer", "dense", in_features=5, out_features=4, dtype="float64", seed=0),
              corenn.create("activation", "relu"),
              corenn.create("layer", "dense", in_features=4, out_features=3, dtype="float64", seed=1)]
    own = dict(layers[0].params)
    layers[0].params = FrozenParams(own)
    model = Sequential(layers)
    assert model.parameters()[0] is own["W"] and model.parameters()[2] is layers[2].params["W"]
    assert model.parameters()[2].base is None  # all or nothing: no element laid flat
    X, y = np.ones((3, 5)), np.array([0, 1, 2])
    loss = corenn.create("loss", "softmax_cross_entropy")
    compute_loss(model, loss, X, y)
    before = [p.copy() for p in model.parameters()]
    corenn.create("optimizer", "momentum").step(model.parameters(), model.gradients())
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.parameters()))


def test_the_same_seed_gives_the_same_weights_and_masks():
    a = mlp([5, 6, 3], dropout=0.5, seed=3)
    b = mlp([5, 6, 3], dropout=0.5, seed=3)
    c = mlp([5, 6, 3], dropout=0.5, seed=4)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a.parameters()[0], c.parameters()[0])
    assert not np.array_equal(a.parameters()[0], a.parameters()[2][:5, :3])  # layers get different seeds
    X, _ = data(dtype=np.float32)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))
    a.reseed(11)
    b.reseed(11)
    np.testing.assert_array_equal(a.forward(X), b.forward(X))
    assert not np.array_equal(a.forward(X), a.forward(X))  # new masks on every training forward


def test_reseed_gives_each_stochastic_layer_its_own_generator():
    drop1, drop2 = corenn.create("layer", "dropout"), corenn.create("layer", "dropout")
    model = Sequential([corenn.create("layer", "dense:in_features=4,out_features=4"), drop1, drop2], seed=0)
    assert drop1.rng is not drop2.rng
    assert drop1.rng.random() != drop2.rng.random()
    model.reseed(np.random.default_rng(5))
    state = drop1.rng.bit_generator.state
    model.reseed(np.random.default_rng(5))
    assert drop1.rng.bit_generator.state == state


def test_predict_gives_int64_class_indices_in_inference_mode():
    model = mlp([5, 16, 3], dropout=0.5, batchnorm=True, seed=0)
    X, _ = data(n=50, dtype=np.float32)
    pred = model.predict(X, batch_size=7)
    assert pred.dtype == np.int64 and pred.shape == (50,)
    np.testing.assert_array_equal(pred, np.argmax(model.forward(X, training=False), axis=1))
    np.testing.assert_array_equal(pred, model.predict(X))  # no masks, no batch statistics
    assert set(pred) <= {0, 1, 2}


def test_forward_casts_to_the_model_dtype_and_refuses_bad_input():
    model = mlp([3, 4, 2], seed=0)
    assert model.dtype == np.float32
    assert model.forward(np.ones((2, 3), dtype=np.float64)).dtype == np.float32
    assert model.forward([[1, 2, 3]]).dtype == np.float32  # ints are cast
    assert mlp([3, 2], dtype="float64").forward(np.ones((1, 3))).dtype == np.float64
    for bad, match in [(np.ones((2, 4)), r"\(2, 4\).*\(N, 3\)"), (np.ones(3), "2-d"), (np.ones((0, 3)), "empty"),
                       (np.array([[1.0, np.nan, 0.0]]), "NaN"), (np.array([["a", "b", "c"]]), "dtype")]:
        with pytest.raises(corenn.InvalidInput, match=match):
            model.forward(bad)


def test_regularized_parameters_are_the_dense_weights_of_the_chosen_layers():
    model = mlp([5, 6, 6, 3], batchnorm=True, seed=0)
    assert model.regularized_parameters() == [(0, "W"), (3, "W"), (6, "W")]  # dense, batchnorm, relu, ...
    assert model.regularized_parameters([0, -1]) == [(0, "W"), (6, "W")]
    assert model.regularized_parameters([1]) == []  # batchnorm: nothing to regularize
    with pytest.raises(corenn.InvalidInput, match="layer index"):
        model.regularized_parameters([9])


# -- shape mismatches ---------------------------------------------------------------------------------------
def test_a_width_mismatch_names_both_layers_and_both_shapes_at_construction():
    dense = corenn.create("layer", "dense:in_features=4,out_features=6")
    relu = corenn.create("activation", "relu")
    wrong = corenn.create("layer", "dense:in_features=5,out_features=2")
    with pytest.raises(corenn.InvalidInput, match=r"layer 2 \(dense\).*\(N, 5\).*layer 1 \(relu\).*\(N, 6\)"):
        Sequential([dense, relu, wrong])
    bn = corenn.create("layer", "batchnorm:num_features=7")
    with pytest.raises(corenn.InvalidInput, match=r"layer 1 \(batchnorm\).*\(N, 7\).*layer 0 \(dense\).*\(N, 6\)"):
        Sequential([corenn.create("layer", "dense:in_features=4,out_features=6"), bn])


def test_a_mismatch_after_a_width_changing_activation_is_named_too():
    if "maxout" not in corenn.available("activation"):
        pytest.skip("needs the maxout plugin")
    layers = [corenn.create("layer", "dense:in_features=4,out_features=6"), corenn.create("activation", "maxout:k=2"),
              corenn.create("layer", "dense:in_features=6,out_features=2")]
    with pytest.raises(corenn.InvalidInput, match=r"layer 2 \(dense\).*\(N, 6\).*layer 1 \(maxout\).*\(N, 3\)"):
        Sequential(layers)


def test_widths_unknown_at_construction_are_checked_at_the_first_forward():
    model = Sequential([corenn.create("layer", "dropout"), corenn.create("layer", "dense:in_features=3,out_features=2")])
    assert model.in_features is None
    with pytest.raises(corenn.InvalidInput, match=r"layer 1 \(dense\).*\(N, 3\).*layer 0 \(dropout\).*\(N, 4\)"):
        model.forward(np.ones((2, 4)))
    assert model.forward(np.ones((2, 3))).shape == (2, 2)
    with pytest.raises(corenn.InvalidInput, match=r"\(N, 3\)"):
        model.forward(np.ones((2, 4)))


def test_mixed_dtypes_and_shared_instances_are_refused():
    with pytest.raises(corenn.InvalidInput, match="mix dtypes"):
        Sequential([corenn.create("layer", "dense:in_features=2,out_features=2"),
                    corenn.create("layer", "dense:in_features=2,out_features=2,dtype='float64'")])
    relu = corenn.create("activation", "relu")
    with pytest.raises(corenn.InvalidInput, match="same object"):
        Sequential([corenn.create("layer", "dense:in_features=2,out_features=2"), relu,
                    corenn.create("layer", "dense:in_features=2,out_features=2"), relu])


@pytest.mark.parametrize(("kwargs", "field"), [({"sizes": [5]}, "sizes"), ({"sizes": [5, 0, 3]}, "sizes"),
                                               ({"sizes": [5, 3], "dtype": "int8"}, "dtype"),
                                               ({"sizes": [5, 4, 3], "dropout": 1.5}, "keep_prob"),
                                               ({"sizes": [5, 4, 3], "activation": "relu6"}, "relu6")])
def test_mlp_rejects_bad_arguments_clearly(kwargs, field):
    with pytest.raises(corenn.CorennError, match=field):
        mlp(**kwargs)


# -- loss, regularization, constraints ---------------------------------------------------------------------
def test_compute_loss_adds_the_penalty_to_the_loss_and_its_gradient_to_the_weights_only():
    X, y = data()
    loss = SoftmaxLoss()
    l2 = corenn.create("regularizer", "l2:strength=0.3")
    plain, regd = mlp([5, 6, 3], seed=0, dtype="float64"), mlp([5, 6, 3], seed=0, dtype="float64")
    data_loss, reg_loss = compute_loss(plain, loss, X, y)
    assert reg_loss == 0.0
    data2, reg2 = compute_loss(regd, loss, X, y, regularizer=l2)
    assert data2 == pytest.approx(data_loss)
    W1, W2 = regd.layers[0].params["W"], regd.layers[2].params["W"]
    assert reg2 == pytest.approx(0.5 * 0.3 * (np.sum(W1 ** 2) + np.sum(W2 ** 2)))
    for (name, _), g0, g in zip(plain.named_parameters(), plain.gradients(), regd.gradients()):
        layer = regd.layers[int(name.split(".")[0])]
        expected = g0 + 0.3 * layer.params["W"] if name.endswith(".W") else g0  # biases are not regularized
        np.testing.assert_allclose(g, expected, rtol=1e-12)
    _, only_last = compute_loss(regd, loss, X, y, regularizer=l2, regularized_layers=[2], backward=False)
    assert only_last == pytest.approx(0.5 * 0.3 * np.sum(W2 ** 2))


def test_apply_constraints_bounds_the_weights_after_a_step():
    model = mlp([5, 6, 3], seed=0, dtype="float64")
    for w in (model.layers[0].params["W"], model.layers[2].params["W"]):
        w *= 10
    max_norm = corenn.create("regularizer", "max_norm:max_value=1.0")
    apply_constraints(model, max_norm, regularized_layers=[0])
    assert np.linalg.norm(model.layers[0].params["W"], axis=0).max() == pytest.approx(1.0)
    assert np.linalg.norm(model.layers[2].params["W"], axis=0).max() > 1.0
    apply_constraints(model, max_norm)
    assert np.linalg.norm(model.layers[2].params["W"], axis=0).max() == pytest.approx(1.0)
    apply_constraints(model, None)  # no regularizer: nothing happens


def test_a_hand_written_loop_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = mlp([2, 16, 2], batchnorm=True, dropout=0.9, seed=0)
    loss = SoftmaxLoss()
    for _ in range(100):
        compute_loss(model, loss, X, y, regularizer=corenn.create("regularizer", "l2:strength=1e-4"))
        sgd_step(model, lr=0.5)
    assert np.mean(model.predict(X) == y) > 0.95


# -- whole-model gradient check ----------------------------------------------------------------------------
def test_an_mlp_with_batchnorm_dropout_and_l2_passes_the_whole_model_gradient_check():
    model = mlp([5, 7, 6, 3], activation="tanh", batchnorm=True, dropout=0.7, seed=1, dtype="float64")
    X, y = data(n=8)
    running = {k: v.copy() for k, v in model.buffers().items()}
    errors = check_model_gradients(model, X, y, SoftmaxLoss(), corenn.create("regularizer", "l2:strength=0.1"))
    assert list(errors) == [n for n, _ in model.named_parameters()]
    assert max(errors.values()) < 1e-5
    for k, v in model.buffers().items():  # probing did not move the running statistics
        np.testing.assert_array_equal(v, running[k])


def test_the_whole_model_gradient_check_also_passes_with_relu_and_l1():
    model = mlp([4, 6, 3], activation="relu", batchnorm=True, dropout=0.5, seed=2, dtype="float64")
    X, y = data(n=6, d=4, seed=3)
    errors = check_model_gradients(model, X, y, SoftmaxLoss(), corenn.create("regularizer", "l1:strength=0.05"))
    assert max(errors.values()) < 1e-5


def test_the_whole_model_gradient_check_catches_a_wrong_gradient():
    model = mlp([4, 5, 3], seed=0, dtype="float64")
    original = model.layers[0].backward

    def wrong(dy):
        dx = original(dy)
        model.layers[0].grads["W"] *= 1.01
        return dx

    model.layers[0].backward = wrong
    X, y = data(n=6, d=4)
    with pytest.raises(GradientCheckError, match="0.dense.W"):
        check_model_gradients(model, X, y, SoftmaxLoss())
    with pytest.raises(corenn.InvalidInput, match="float64"):
        check_model_gradients(mlp([4, 3], seed=0), X, y, SoftmaxLoss())


# -- files ---------------------------------------------------------------------------------------------------
def test_save_and_load_round_trip_params_buffers_dtype_and_predictions(tmp_path):
    model = mlp([5, 6, 3], activation="leaky_relu:slope=0.2" if "leaky_relu" in corenn.available("activation")
                else "relu", batchnorm=True, dropout=0.5, seed=0, dtype="float64")
    X, y = data(n=30)
    for _ in range(3):
        compute_loss(model, SoftmaxLoss(), X, y)
        sgd_step(model)
    path = model.save(tmp_path / "model")
    assert path.name == "model.npz" and path.exists()
    loaded = load_model(path)
    assert loaded.dtype == np.float64
    assert loaded.config() == model.config()
    assert [n for n, _ in loaded.named_parameters()] == [n for n, _ in model.named_parameters()]
    for (_, a), (_, b) in zip(loaded.named_parameters(), model.named_parameters()):
        np.testing.assert_array_equal(a, b)
    for key, value in model.buffers().items():
        np.testing.assert_array_equal(loaded.buffers()[key], value)
    assert not np.array_equal(model.buffers()["1.batchnorm.running_mean"], 0)
    np.testing.assert_array_equal(loaded.forward(X, training=False), model.forward(X, training=False))
    assert load_model(tmp_path / "model").dtype == np.float64  # the suffix may be left out
    json.dumps(model.config())


def test_saving_to_a_path_that_is_a_folder_is_an_error_naming_it_and_writes_nothing(tmp_path):
    model = mlp([4, 5, 3], seed=0)
    (tmp_path / "runs").mkdir()
    (tmp_path / "old.npz").mkdir()
    for given in ("runs", "old", "old.npz"):
        with pytest.raises(corenn.InvalidInput, match=r"is a folder; give a file path such as '.*model\.npz'"):
            model.save(tmp_path / given)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npz", "runs"]
    assert not any((tmp_path / "runs").iterdir())
    assert model.save(tmp_path / "runs" / "model").name == "model.npz"


def test_hostile_and_truncated_files_are_invalid_file_errors(tmp_path):
    model = mlp([4, 5, 3], batchnorm=True, seed=0)
    good = model.save(tmp_path / "good.npz")
    raw = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    cases = {"truncated.npz": "truncated or corrupt", "garbage.npz": "truncated or corrupt",
             "missing.npz": "does not exist"}

    def rewrite(name, change_config=None, change_arrays=None):
        with np.load(good, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        config = json.loads(arrays.pop("__json__").tobytes())
        if change_config:
            change_config(config)
        if change_arrays:
            change_arrays(arrays)
        corenn.files.save_arrays(tmp_path / name, arrays, config)

    rewrite("shape.npz", change_arrays=lambda a: a.update({"0.dense.W": np.zeros((5, 4), np.float32)}))
    cases["shape.npz"] = r"'0.dense.W' has shape \(5, 4\).*needs shape \(4, 5\)"
    rewrite("dtype.npz", change_arrays=lambda a: a.update({"0.dense.b": np.zeros(5, np.float64)}))
    cases["dtype.npz"] = "dtype float64"
    rewrite("missing_array.npz", change_arrays=lambda a: a.pop("buffer:1.batchnorm.running_var"))
    cases["missing_array.npz"] = "missing.*running_var"
    rewrite("nan.npz", change_arrays=lambda a: a["0.dense.W"].__setitem__((0, 0), np.nan))
    cases["nan.npz"] = "NaN"
    rewrite("config.npz", change_config=lambda c: c.update(layers="rm -rf /"))
    cases["config.npz"] = "invalid config"
    rewrite("hyper.npz", change_config=lambda c: c["layers"][0]["spec"].update(in_features=-4))
    cases["hyper.npz"] = "in_features"
    rewrite("kind.npz", change_config=lambda c: c["layers"][0].update(kind="optimizer"))
    cases["kind.npz"] = "invalid config"
    obj = tmp_path / "pickled.npz"  # an object array: would need pickle, which is never allowed
    with zipfile.ZipFile(obj, "w") as z:
        with z.open("__json__.npy", "w") as f:
            np.lib.format.write_array(f, np.frombuffer(b"{}", np.uint8))
        with z.open("0.dense.W.npy", "w") as f:
            np.lib.format.write_array(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases["pickled.npz"] = "truncated or corrupt|invalid config"
    for name, match in cases.items():
        with pytest.raises(corenn.InvalidFile, match=match):
            load_model(tmp_path / name)
    rewrite("unknown.npz", change_config=lambda c: c["layers"][1].update(spec={"name": "no_such_layer"}))
    with pytest.raises(corenn.UnknownComponent, match="no_such_layer"):
        load_model(tmp_path / "unknown.npz")


def test_config_round_trips_through_from_config():
    model = mlp([3, 4, 2], activation="tanh", dropout=0.6, seed=5)
    config = model.config()
    assert config["dtype"] == "float32"
    assert config["layers"][0] == {"kind": "layer", "spec": {
        "name": "dense", "in_features": 3, "out_features": 4, "weight_init": "he", "bias_init": "zeros",
        "dtype": "float32", "seed": model.layers[0].seed}}
    assert config["layers"][1] == {"kind": "activation", "spec": {"name": "tanh"}}
    rebuilt = Sequential.from_config(json.loads(json.dumps(config)))
    for p, q in zip(rebuilt.parameters(), model.parameters()):  # the same seeds: the same initial weights
        np.testing.assert_array_equal(p, q)


def test_summary_lists_layers_shapes_and_parameter_counts():
    text = mlp([5, 8, 3], batchnorm=True, seed=0).summary()
    lines = text.splitlines()
    assert "dense(in_features=5, out_features=8)" in text and "(N, 8)" in text and "(N, 3)" in text
    assert any(line.split()[-1] == "48" for line in lines)  # 5*8 + 8
    assert "total: 91 parameters" in text  # 48 + 16 + 27



def test_a_model_built_from_another_models_layers_and_more_leaves_the_first_model_whole():
    first = corenn.mlp([4, 5, 3], seed=0)
    params = first.parameters()
    second = corenn.Sequential([*first.layers, corenn.create("activation", "relu")])
    assert all(p is q for p, q in zip(first.parameters(), params))
    assert all(layer.params[key] is p for (layer, key), p in
               zip([(el, k) for el in first.layers for k in el.params], first.parameters()))
    first.parameters()[0][...] = 7.0
    assert (second.parameters()[0] == 7.0).all()  # the layers are shared, as they were before
