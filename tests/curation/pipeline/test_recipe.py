"""Recipe loading: defaults, per-source overrides, plug-in sections, errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from curation.pipeline.recipe import RecipeError, load_recipe


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_recipe_ships_and_loads() -> None:
    recipe = load_recipe()
    assert recipe.path.endswith("default.yaml")
    assert recipe.for_source("zhihu").filter.min_output_chars > recipe.filter.min_output_chars


def test_per_source_override_is_deep_merged(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, """
filter: {min_output_chars: 5, max_special_ratio: 0.2}
sources:
  douban:
    filter: {min_output_chars: 50}
    clean: {opencc: t2s}
"""))
    douban = recipe.for_source("douban")
    assert douban.filter.min_output_chars == 50
    assert douban.filter.max_special_ratio == 0.2  # inherited, not reset to the model default
    assert douban.clean.opencc == "t2s"
    assert recipe.for_source("zhihu").clean.opencc is None


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "filter:\n  min_ouptut_chars: 5\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert str(path) in str(err.value) and "filter.min_ouptut_chars" in str(err.value)


def test_bad_source_override_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, "sources:\n  zhihu:\n    filter: {min_cjk_ratio: 高}\n")
    with pytest.raises(RecipeError, match=r"sources\.zhihu.*min_cjk_ratio"):
        load_recipe(path)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(write(tmp_path, "filter: [unclosed\n"))


def test_source_settings_overrides_yield_to_recipe(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "sources:\n  wiki:\n    clean: {opencc: hk2s}\n"))
    merged = recipe.with_overrides("wiki", clean={"opencc": "t2s"}).with_overrides("xhs", clean={"opencc": "t2s"})
    assert merged.for_source("wiki").clean.opencc == "hk2s"
    assert merged.for_source("xhs").clean.opencc == "t2s"


class DedupSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = 0.7


def test_plugin_section_validated_by_owner_model(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "dedup: {threshold: 0.8}\nsources:\n  zhihu:\n    dedup: {threshold: 0.9}\n"))
    assert recipe.section("dedup", DedupSection).threshold == 0.8
    assert recipe.section("dedup", DedupSection, "zhihu").threshold == 0.9
    assert recipe.section("decontaminate", DedupSection) is None
    bad = load_recipe(write(tmp_path, "dedup: {treshold: 0.8}\n"))
    with pytest.raises(RecipeError, match=r"dedup\.treshold"):
        bad.section("dedup", DedupSection)


def test_packaged_recipes_by_name() -> None:
    lean = load_recipe("lean")
    assert lean.metrics.langid is None and lean.metrics.segmenter is None and not lean.pii.detect
    with pytest.raises(RecipeError, match="packaged recipes"):
        load_recipe("no-such-recipe")
