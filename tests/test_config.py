
import pytest

from ingestion.config import PROJECT_ROOT, ConfigError, load_settings


def test_defaults_follow_the_design():
    settings = load_settings({})
    assert settings.warehouse_path == PROJECT_ROOT / "warehouse" / "warehouse.duckdb"
    assert settings.published_path == PROJECT_ROOT / "warehouse" / "published.duckdb"
    assert settings.partner_inbox == PROJECT_ROOT / "data" / "inbox"
    assert settings.dagster_home == PROJECT_ROOT / ".dagster_home"
    assert settings.sdg_api_base_url == "https://unstats.un.org/sdgapi"
    assert settings.sdg_api_mode == "live"
    assert settings.sdg_series is None and settings.sdg_areas is None
    assert settings.min_cell_size == 5
    assert settings.duckdb_memory_limit == "512MB"
    assert settings.kobo_token is None and settings.pii_salt is None


def test_relative_paths_resolve_against_the_repository_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"WAREHOUSE_PATH": "elsewhere/w.duckdb", "PUBLISHED_PATH": str(tmp_path / "p.duckdb")})
    assert settings.warehouse_path == PROJECT_ROOT / "elsewhere" / "w.duckdb"
    assert settings.published_path == tmp_path / "p.duckdb"


def test_lists_are_parsed_and_all_means_everything():
    # series codes are kept as written: the API's are case-sensitive and one is not all upper case
    settings = load_settings({"SDG_SERIES": "IT_USE_ii99, SL_TLF_UEM ", "SDG_AREAS": "4, 8"})
    assert settings.sdg_series == ("IT_USE_ii99", "SL_TLF_UEM")
    assert settings.sdg_areas == (4, 8)
    assert load_settings({"SDG_AREAS": "all"}).sdg_areas is None


@pytest.mark.parametrize(
    "env, name",
    [({"SDG_API_MODE": "offline"}, "SDG_API_MODE"), ({"SDG_AREAS": "4,Afghanistan"}, "SDG_AREAS"),
     ({"MIN_CELL_SIZE": "0"}, "MIN_CELL_SIZE"), ({"MIN_CELL_SIZE": "five"}, "MIN_CELL_SIZE"),
     ({"DUCKDB_MEMORY_LIMIT": "lots"}, "DUCKDB_MEMORY_LIMIT"), ({"DUCKDB_MEMORY_LIMIT": "1GB'; drop"}, "DUCKDB_MEMORY_LIMIT"),
     ({"SDG_SERIES_PER_RUN": "-3"}, "SDG_SERIES_PER_RUN"), ({"ROW_COUNT_CHANGE_WARN": "half"}, "ROW_COUNT_CHANGE_WARN")],
)
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_the_environment_is_read_only_when_no_mapping_is_given(monkeypatch):
    monkeypatch.setenv("MIN_CELL_SIZE", "9")
    monkeypatch.setenv("SDG_API_REPLAY_DIR", "elsewhere/snapshot")
    assert load_settings().min_cell_size == 9
    assert load_settings().sdg_replay_dir == PROJECT_ROOT / "elsewhere" / "snapshot"
    assert load_settings({}).min_cell_size == 5  # a given mapping is the whole environment
    assert load_settings({"MIN_CELL_SIZE": ""}).min_cell_size == 5  # empty counts as unset


def test_secrets_never_appear_in_repr_str_or_a_config_error():
    settings = load_settings({"KOBO_TOKEN": "tok-abcdef123456", "PII_SALT": "salt-987654321"})
    assert settings.kobo_token.get_secret_value() == "tok-abcdef123456"
    assert settings.pii_salt.get_secret_value() == "salt-987654321"
    for text in (repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert "tok-abcdef123456" not in text and "salt-987654321" not in text
    with pytest.raises(ConfigError) as error:
        load_settings({"KOBO_TOKEN": "tok-abcdef123456", "MIN_CELL_SIZE": "tok-abcdef123456x"})
    assert "MIN_CELL_SIZE" in str(error.value)
