"""Fuzz the loaders: manifests (YAML/JSON, multi-document, ``kind: List``), the config file,
dumps and ``--from`` state, snapshots. Only :class:`~eks_gpu.errors.EksGpuError` may escape.

Budget: ~15 s of the fuzz suite's ~60 s (profile ``fuzz`` in ``test_fuzz_common``,
derandomized). The bomb and huge-file tests time themselves: a refusal must come fast.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eks_gpu.config.parse import config_from_data, config_from_text
from eks_gpu.errors import ConfigError, EksGpuError
from eks_gpu.loaders.config_file import load_config
from eks_gpu.loaders.manifest_files import load_manifests
from eks_gpu.loaders.snapshot_file import load_snapshot
from eks_gpu.loaders.state_file import objects_in, read_state_file
from eks_gpu.manifests import ManifestError, parse_documents
from eks_gpu.manifests.cluster_state import state_from_objects
from test_fuzz_common import (
    FUZZ,
    FUZZ_CHEAP,
    JSON_VALUES,
    NASTY_FILES,
    OBJECTS,
    assert_typed_error,
    billion_laughs,
    dumps,
    nested_json,
)

CONFIG_KEYS = ["clusterName", "region", "nodePools", "nodeClass", "devicePlugin", "karpenter",
               "testPods", "profile", "gpu", "timeSlicing"]  # fmt: skip
YAML_TEXT = st.text() | st.builds(
    lambda objs: "\n---\n".join(yaml.safe_dump(o) for o in objs), st.lists(OBJECTS, max_size=3)
)
"""Arbitrary text, and multi-document YAML of Kubernetes-ish objects."""


@FUZZ
@given(YAML_TEXT)
def test_parse_documents_raises_only_manifest_errors(text: str) -> None:
    found = assert_typed_error(lambda: parse_documents(text, "in.yaml"))
    if isinstance(found, EksGpuError):
        assert isinstance(found, ManifestError) and "in.yaml" in found.message


@FUZZ
@given(st.lists(OBJECTS, max_size=4), st.booleans())
def test_state_from_any_objects_is_a_state_or_a_typed_error(objects: list, as_list: bool) -> None:
    document = {"apiVersion": "v1", "kind": "List", "items": objects} if as_list else objects
    assert_typed_error(lambda: state_from_objects(objects_in(dumps(document), "d.json"), "d.json"))


@FUZZ
@given(st.lists(OBJECTS, max_size=4))
def test_state_from_yaml_objects(objects: list) -> None:
    text = "\n---\n".join(yaml.safe_dump(o) for o in objects)
    assert_typed_error(lambda: state_from_objects(objects_in(text, "d.yaml"), "d.yaml"))


@FUZZ_CHEAP
@given(JSON_VALUES)
def test_config_from_any_data_is_a_config_or_a_config_error(data: object) -> None:
    found = assert_typed_error(lambda: config_from_data(data, "c.yaml"))
    assert not isinstance(found, EksGpuError) or isinstance(found, ConfigError)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(CONFIG_KEYS),
        JSON_VALUES | st.lists(st.dictionaries(st.text(max_size=10), JSON_VALUES), max_size=2),
        max_size=4,
    )
)
def test_config_with_real_keys_and_junk_values(data: dict) -> None:
    found = assert_typed_error(lambda: config_from_data(data, "c.yaml"))
    if isinstance(found, ConfigError):
        assert found.problems and all(str(problem) for problem in found.problems)


@FUZZ_CHEAP
@given(st.text())
def test_config_from_any_text(text: str) -> None:
    found = assert_typed_error(lambda: config_from_text(text, "c.yaml"))
    assert not isinstance(found, EksGpuError) or isinstance(found, ConfigError)


@pytest.mark.parametrize("name", sorted(NASTY_FILES))
def test_nasty_files_through_every_file_loader(name: str, tmp_path: Path) -> None:
    """Each loader that reads a path: a result or a typed error naming the file."""
    path = tmp_path / name
    path.write_bytes(NASTY_FILES[name])
    for load in (load_config, lambda p: load_manifests([str(p)]), lambda p: read_state_file(str(p)),
                 lambda p: load_snapshot(str(p))):  # fmt: skip
        started = time.monotonic()
        found = assert_typed_error(lambda load=load: load(path))
        assert time.monotonic() - started < 5, f"{name}: took {time.monotonic() - started:.1f}s"
        if isinstance(found, EksGpuError):
            assert name in "\n".join(found.lines()), found.lines()


@pytest.mark.parametrize(
    "text",
    [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" + billion_laughs(),
        billion_laughs(key="nodePools"),
        "kind: List\nitems: &x [" + ", ".join(["{kind: Pod}"] * 10) + "]\n" + billion_laughs(),
    ],
    ids=["pod", "config", "list"],
)
def test_yaml_bombs_are_refused_fast(text: str) -> None:
    """Billion laughs: refused before anything walks it, in well under a second."""
    for parse in (
        lambda: parse_documents(text, "bomb.yaml"),
        lambda: objects_in(text, "bomb.yaml"),
        lambda: config_from_text(text, "bomb.yaml"),
    ):
        started = time.monotonic()
        with pytest.raises(EksGpuError) as raised:
            parse()
        assert time.monotonic() - started < 1
        assert "aliases expand" in "\n".join(raised.value.lines())


def test_aliases_within_reason_still_load() -> None:
    """Anchors are legitimate YAML: a few shared blocks load as before."""
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: a, labels: &l {app: x}}}\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: b, labels: *l}}\n"
    )
    pods = parse_documents(text, "ok.yaml")
    assert [pod.obj["metadata"]["labels"] for pod in pods] == [{"app": "x"}, {"app": "x"}]


def test_deep_yaml_config_is_a_config_error_not_a_recursion_error() -> None:
    """Found by fuzzing: the config parser used PyYAML's pure loader, which overflowed the
    stack (RecursionError, exit 70) on deeply nested flow collections."""
    with pytest.raises(ConfigError) as raised:
        config_from_text("nodePools: " + "[" * 5000 + "]" * 5000, "c.yaml")
    assert "nest" in "\n".join(raised.value.lines())


@pytest.mark.parametrize("text", [nested_json(50_000), "[" * 50_000 + "]" * 50_000])
def test_deep_json_dump_is_a_manifest_error(text: str) -> None:
    """Found by fuzzing: ``--from`` JSON nested past the stack crashed ``json.loads`` with a
    RecursionError (exit 70 from status and doctor)."""
    with pytest.raises(ManifestError, match=r"d\.json.*nest"):
        objects_in(text, "d.json")


def test_deep_but_reasonable_json_still_loads() -> None:
    objects = objects_in(nested_json(200), "d.json")
    assert objects[0]["kind"] == "Pod"


def test_huge_yaml_is_handled_in_bounded_time(tmp_path: Path) -> None:
    """An 8 MB dump of ~35,000 entries: read (linear time), not refused, not a crash."""
    path = tmp_path / "big.yaml"
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: big}", "data:"]
    lines += [f"  k{i}: {'x' * 220}" for i in range(35_000)]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 8_000_000
    started = time.monotonic()
    state = read_state_file(str(path))
    assert time.monotonic() - started < 20
    assert len(state.of("ConfigMap")) == 1
