"""Component specs: ``"adam"``, ``"adam:lr=1e-3,beta1=0.9"`` or ``{"name": "adam", "lr": 1e-3}``.

Values are Python literals read safely (never evaluated as code); commas inside
quotes or brackets do not split, so schedules nest.
"""

from __future__ import annotations

import pytest

import corenn
from corenn.spec import InvalidSpec, format_spec, parse_spec


@pytest.mark.parametrize(("spec", "expected"), [
    ("adam", ("adam", {})),
    ("adam:", ("adam", {})),
    ("adam:lr=0.001,beta1=0.9", ("adam", {"lr": 0.001, "beta1": 0.9})),
    ("  adam : lr = 1e-3 , beta1=0.9  ", ("adam", {"lr": 1e-3, "beta1": 0.9})),
    ("dense:in_features=64,out_features=10", ("dense", {"in_features": 64, "out_features": 10})),
    ("x:a=-2,b=+3.5,c=1_000", ("x", {"a": -2, "b": 3.5, "c": 1000})),
    ("x:a=True,b=False,c=None", ("x", {"a": True, "b": False, "c": None})),
    ("x:mode=fan_avg,dist='uniform'", ("x", {"mode": "fan_avg", "dist": "uniform"})),
    ("x:sizes=[64, 100, 10],pair=(1, 2)", ("x", {"sizes": [64, 100, 10], "pair": (1, 2)})),
    ("x:s='a,b=c',t=\"d,e\"", ("x", {"s": "a,b=c", "t": "d,e"})),
    ("x:s='it\\'s',b=2", ("x", {"s": "it's", "b": 2})),
    ("leaky-relu:slope=0.1", ("leaky-relu", {"slope": 0.1})),
])
def test_spec_strings(spec, expected):
    assert parse_spec(spec) == expected


def test_values_keep_their_python_types():
    _, params = parse_spec("x:i=3,f=3.0,s='3'")
    assert [type(v) for v in params.values()] == [int, float, str]


def test_a_nested_schedule_spec_in_quotes_stays_one_value():
    assert parse_spec("sgd:lr='step:initial=0.1,every=5',clip=1.0") == (
        "sgd", {"lr": "step:initial=0.1,every=5", "clip": 1.0})


def test_a_nested_schedule_mapping_in_braces_stays_one_value():
    assert parse_spec("momentum:mu={'name': 'linear', 'start': 0.5, 'end': 0.99, 'steps': 1000},lr=0.1") == (
        "momentum", {"mu": {"name": "linear", "start": 0.5, "end": 0.99, "steps": 1000}, "lr": 0.1})


def test_a_mapping_spec():
    spec = {"name": "momentum", "lr": 0.1, "mu": {"name": "linear", "start": 0.5, "end": 0.99, "steps": 10}}
    assert parse_spec(spec) == ("momentum", {"lr": 0.1, "mu": spec["mu"]})
    assert spec["name"] == "momentum"  # the caller's mapping is not modified


@pytest.mark.parametrize("value", [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "exec(\"open('{marker}', 'w')\")",
    "[open('{marker}', 'w')]",
    "(lambda: open('{marker}', 'w'))()",
])
def test_values_are_never_evaluated_as_code(tmp_path, value):
    marker = tmp_path / "executed"
    with pytest.raises(InvalidSpec, match="cannot read the value .*use a Python literal"):
        parse_spec(f"adam:lr={value.format(marker=marker)}")
    assert not marker.exists()


def test_the_contracts_example_of_a_hostile_value():
    with pytest.raises(InvalidSpec) as info:
        parse_spec("adam:lr=__import__('os')")
    assert "__import__('os')" in str(info.value)


def test_arithmetic_is_not_evaluated_either():
    with pytest.raises(InvalidSpec, match="cannot read the value '1/3'"):
        parse_spec("sgd:lr=1/3")


def test_a_pathologically_nested_value_is_an_error_with_a_short_message():
    with pytest.raises(InvalidSpec) as info:
        parse_spec("x:lr=" + "[" * 5000 + "]" * 5000)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(("spec", "message"), [
    ("adam:lr", r"cannot read 'lr' in spec 'adam:lr': write name:key=value,key=value"),
    ("adam:=0.1", r"cannot read '=0.1'"),
    ("adam:1r=0.1", r"cannot read '1r=0.1'"),
    ("adam:lr=0.1,lr=0.2", r"'lr' is given twice in spec"),
    ("adam:lr='0.1", r"unbalanced quotes or brackets"),
    ("adam:sizes=[1,2", r"unbalanced quotes or brackets"),
    ("adam:sizes=1,2]", r"unbalanced quotes or brackets"),
    ("", r"'' is not a component name"),
    (":lr=1", r"'' is not a component name"),
    ("9adam", r"'9adam' is not a component name"),
    ("ad am:lr=1", r"'ad am' is not a component name"),
])
def test_bad_spec_strings_say_what_is_wrong(spec, message):
    with pytest.raises(InvalidSpec, match=message):
        parse_spec(spec)


@pytest.mark.parametrize(("spec", "message"), [
    ({"lr": 0.1}, r"a component mapping needs a 'name' key, got keys \['lr'\]"),
    ({"name": 3}, r"3 is not a component name"),
    (3, r"a spec is a name, a 'name:key=value,...' string or a mapping, not int"),
    (None, r"not NoneType"),
])
def test_bad_spec_objects_say_what_is_wrong(spec, message):
    with pytest.raises(InvalidSpec, match=message):
        parse_spec(spec)


def test_invalid_spec_is_a_corenn_error_and_a_value_error():
    assert issubclass(InvalidSpec, corenn.CorennError) and issubclass(InvalidSpec, ValueError)
    assert corenn.InvalidSpec is InvalidSpec and corenn.parse_spec is parse_spec


@pytest.mark.parametrize("params", [
    {},
    {"lr": 0.001, "beta1": 0.9},
    {"mode": "fan_avg", "sizes": [64, 10], "flag": True, "none": None},
    {"lr": "step:initial=0.1,every=5"},
    {"mu": {"name": "linear", "start": 0.5, "end": 0.99, "steps": 1000}},
    {"s": "it's \"quoted\", with commas"},
])
def test_format_spec_is_the_inverse_of_parse_spec(params):
    text = format_spec("adam", params)
    assert parse_spec(text) == ("adam", params)


# -- values read as users type them, by the component's field types ------------------------------

TYPES = {"path": "str | None", "download": "bool", "count": "int", "ratio": float, "anything": "Any"}


@pytest.mark.parametrize(("text", "expected"), [
    ("x:path=/data/mnist", {"path": "/data/mnist"}),
    ("x:path=~/data/mnist", {"path": "~/data/mnist"}),
    ("x:path=2024", {"path": "2024"}),
    ("x:path='/quoted'", {"path": "/quoted"}),
    ("x:path=None", {"path": None}),
    ("x:download=true,count=3", {"download": True, "count": 3}),
    ("x:download=False", {"download": False}),
    ("x:download=TRUE", {"download": True}),
    ("x:ratio=0.5,anything=[1, 2]", {"ratio": 0.5, "anything": [1, 2]}),
])
def test_values_are_read_as_the_fields_types_say(text, expected):
    assert parse_spec(text, lambda name: TYPES) == ("x", expected)


def test_a_number_field_still_refuses_arithmetic_and_code():
    with pytest.raises(InvalidSpec, match="cannot read the value '1/3'"):
        parse_spec("x:ratio=1/3", lambda name: TYPES)
    with pytest.raises(InvalidSpec):
        parse_spec("x:count=__import__('os')", lambda name: TYPES)


def test_a_bare_path_is_a_string_also_without_field_types():
    assert parse_spec("mnist:path=/data/mnist") == ("mnist", {"path": "/data/mnist"})
    assert parse_spec("mnist:path=data/mnist") == ("mnist", {"path": "data/mnist"})


def test_create_reads_a_path_and_true_unquoted(tmp_path):
    dataset = corenn.create("dataset", f"mnist:path={tmp_path},download=true")
    assert (dataset.path, dataset.download) == (str(tmp_path), True)
