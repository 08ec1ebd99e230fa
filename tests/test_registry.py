"""Engines as plug-ins: registration through entry points, options declared as data and read from
flags, the environment and the config file, weights by folder or hub cache (no models loaded)."""

from __future__ import annotations

import logging
import sys
import types
from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest

from tryon.engines import registry
from tryon.engines.options import OptionError, option, resolve
from tryon.engines.registry import EngineSpec, available_engines, engine_spec, register_engine
from tryon.engines.weights import parse_source, weights_status


@dataclass(frozen=True)
class _PluginOptions:
    model: str = option("acme/dresser", "Weights.", files=("weights.bin",))
    steps: int = option(4, "Steps.")
    fast: bool = option(False, "Go fast.")
    size: tuple[int, int] = option((64, 96), "Working size.")
    mode: str = option("a", "Mode.", choices=("a", "b"))


_PLUGIN = EngineSpec("acme", "a third-party engine", _PluginOptions, "acme_tryon:Engine", "MIT")


def test_the_built_in_engines_come_from_the_entry_point_group():
    from importlib.metadata import entry_points

    declared = {ep.name for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert {"warp", "catvton", "fashn"} <= declared <= set(available_engines())
    assert engine_spec("fashn").weights_licence.startswith("Apache-2.0")
    assert "NC" in engine_spec("catvton").weights_licence  # non-commercial, said where it is listed


def test_a_third_party_entry_point_is_registered_and_a_broken_one_skipped(monkeypatch, caplog):
    module = types.ModuleType("acme_tryon")
    module.SPEC = _PLUGIN
    monkeypatch.setitem(sys.modules, "acme_tryon", module)
    points = [EntryPoint("acme", "acme_tryon:SPEC", registry.ENTRY_POINT_GROUP),
              EntryPoint("broken", "acme_tryon:NOTHING", registry.ENTRY_POINT_GROUP),
              EntryPoint("warp", "tryon.engines.warp:SPEC", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry, "entry_points", lambda group: points if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(registry, "_SPECS", {})
    monkeypatch.setattr(registry, "_discovered", False)
    with caplog.at_level(logging.WARNING, logger="tryon.engines.registry"):
        assert available_engines() == ["acme", "warp"]
    assert "broken" in caplog.text  # said, not fatal
    with pytest.raises(registry.UnknownEngineError, match="acme, warp"):
        engine_spec("dalle")


def test_option_names_the_commands_use_are_refused():
    @dataclass(frozen=True)
    class Clashing:
        mask: str = option("", "Clashes with --mask.")

    with pytest.raises(ValueError, match="mask"):
        register_engine(EngineSpec("clash", "", Clashing, "x:y", "none"))


def test_options_come_from_the_declaration_then_file_then_environment_then_flags(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[acme]\nsteps = 8\nsize = "32x48"\nfast = true\n')
    env = {"TRYON_CONFIG": str(config), "TRYON_ACME_STEPS": "12", "TRYON_ACME_MODE": "b"}
    assert resolve("acme", _PluginOptions, None, {}) == _PluginOptions()
    got = resolve("acme", _PluginOptions, {"steps": None}, env)  # a flag that is None was not given
    assert (got.steps, got.size, got.fast, got.mode) == (12, (32, 48), True, "b")
    assert resolve("acme", _PluginOptions, {"steps": "3", "fast": False}, env).steps == 3
    assert resolve("acme", _PluginOptions, {"fast": False}, env).fast is False


@pytest.mark.parametrize("flags, env, match", [
    ({"stepz": 3}, {}, "stepz.*its options: model, steps, fast, size, mode"),
    ({"steps": "many"}, {}, "--steps.*many"),
    ({"steps": 2.5}, {}, "integer"),
    ({"mode": "c"}, {}, "use one of a, b"),
    ({}, {"TRYON_ACME_FAST": "maybe"}, "TRYON_ACME_FAST"),
    ({}, {"TRYON_ACME_SIZE": "64"}, "TRYON_ACME_SIZE.*WIDTHxHEIGHT"),
])
def test_bad_options_are_refused_naming_where_they_came_from(flags, env, match):
    with pytest.raises(OptionError, match=match):
        resolve("acme", _PluginOptions, flags, {"TRYON_CONFIG": "/nonexistent.toml", **env})


def test_a_config_file_that_is_not_toml_is_one_clear_error(tmp_path):
    (tmp_path / "c.toml").write_text("[acme\nsteps = ")
    with pytest.raises(OptionError, match="not a readable TOML file"):
        resolve("acme", _PluginOptions, None, {"TRYON_CONFIG": str(tmp_path / "c.toml")})


def test_weights_are_present_cached_or_missing_without_the_network(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    assert weights_status(str(folder), ("weights.bin",)) == "missing"
    (folder / "weights.bin").write_bytes(b"x")
    assert weights_status(str(folder), ("weights.bin",)) == "present"
    assert weights_status(str(folder), (("other.bin", "weights.bin"),)) == "present"  # alternatives
    snapshot = tmp_path / "hub" / "models--acme--dresser" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("a" * 40)
    env = {"HF_HUB_CACHE": str(tmp_path / "hub")}
    assert weights_status("acme/dresser", ("weights.bin",), env) == "missing"
    (snapshot / "weights.bin").write_bytes(b"x")
    assert weights_status("acme/dresser", ("weights.bin",), env) == "cached"
    source = parse_source("zhengchong/CatVTON/mix-48k-1024")
    assert (source.repo_id, source.subfolder) == ("zhengchong/CatVTON", "mix-48k-1024")
    assert parse_source(str(folder)).folder == folder


def test_a_request_may_set_only_the_options_declared_per_request():
    from tryon.engines.fashn import FashnOptions
    from tryon.engines.options import request_options

    server = FashnOptions(steps=20)
    assert request_options("fashn", server, {"seed": "7", "steps": "12", "masked": "true"}) == {
        "seed": 7, "steps": 12, "masked": True}
    with pytest.raises(OptionError, match="model: set when the fashn engine loads.*TRYON_FASHN_MODEL"):
        request_options("fashn", server, {"model": "other/weights"})
    with pytest.raises(OptionError, match="stepz"):
        request_options("fashn", server, {"stepz": "3"})
    with pytest.raises(OptionError, match="steps must be at least 1"):  # the options' own check
        request_options("fashn", server, {"steps": "0"})
