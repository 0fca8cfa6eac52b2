from __future__ import annotations

import pytest

from coverage_map.errors import CoverageMapError
from coverage_map.taxonomy import Taxonomy, normalise_label, split_labels

REQUIRED_CATEGORIES = {
    "mental_health", "dementia", "carers_support", "loneliness_isolation", "physical_activity",
    "arts_creativity", "nature_green_space", "debt_benefits_advice", "housing", "employment_skills",
    "learning_volunteering", "peer_support", "befriending", "food_nutrition", "long_term_conditions",
    "domestic_abuse", "substance_misuse",
}  # fmt: skip
REQUIRED_COMMUNITIES = {
    "older_people", "carers", "bame", "lgbtq", "young_people", "disabled_people", "women", "men", "refugees",
}  # fmt: skip


def test_builtin_vocabulary_is_complete():
    taxonomy = Taxonomy.builtin()
    assert REQUIRED_CATEGORIES <= set(taxonomy.categories.labels)
    assert REQUIRED_COMMUNITIES <= set(taxonomy.communities.labels)


@pytest.mark.parametrize("label", ["Mental Health", "mental-health", " MENTAL_HEALTH ", "mental  health", "MH"])
def test_matching_ignores_case_spaces_and_separators(label):
    assert Taxonomy.builtin().categories.resolve(label) == "mental_health"


def test_synonyms():
    taxonomy = Taxonomy.builtin()
    assert taxonomy.categories.resolve("memory café".replace("é", "e")) == "dementia"
    assert taxonomy.communities.resolve("BME") == "bame"
    assert taxonomy.communities.resolve("LGBTQ+") == "lgbtq"


def test_unknown_label_names_the_closest():
    message = Taxonomy.builtin().categories.unknown_message("dementai")
    assert "did you mean 'dementia'" in message
    assert Taxonomy.builtin().categories.resolve("dementai") is None


def test_toml_extends(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[categories]\ngambling_harm = ["gambling"]\nmental_health = ["headspace"]\n', encoding="utf-8")
    taxonomy = Taxonomy.from_toml(path)
    assert taxonomy.categories.resolve("Gambling") == "gambling_harm"
    assert taxonomy.categories.resolve("headspace") == "mental_health"
    assert taxonomy.categories.resolve("dementia") == "dementia"


def test_toml_replaces(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('mode = "replace"\n[categories]\nfood = []\n[communities]\nfarmers = []\n', encoding="utf-8")
    taxonomy = Taxonomy.from_toml(path)
    assert taxonomy.categories.labels == ("food",)
    assert taxonomy.categories.resolve("dementia") is None


def test_bad_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[categories\n", encoding="utf-8")
    with pytest.raises(CoverageMapError, match="t.toml"):
        Taxonomy.from_toml(path)


def test_split_and_normalise():
    assert split_labels(" a; b ;;c ") == ["a", "b", "c"]
    assert split_labels(None) == []
    assert normalise_label(" Carers - Support ") == "carers_support"
