from pathlib import Path

import pytest

from walkapp.settings import SECRET_FILE_NAME, Settings, SettingsError


def test_defaults_work_on_a_laptop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database.engine_type == "sqlite"
    assert settings.database.sqlite_path == Path("walkapp.sqlite")
    assert settings.media_dir == tmp_path / "media"
    assert "openstreetmap" in settings.tiles_url and "OpenStreetMap" in settings.tiles_attribution


def test_database_urls(tmp_path):
    env = {"WALKAPP_MEDIA_DIR": str(tmp_path)}
    relative = Settings.from_env({**env, "WALKAPP_DATABASE_URL": "sqlite:///data/site.sqlite"})
    assert relative.database.sqlite_path == Path("data/site.sqlite")
    absolute = Settings.from_env({**env, "WALKAPP_DATABASE_URL": "sqlite:////srv/walkapp/site.sqlite"})
    assert absolute.database.sqlite_path == Path("/srv/walkapp/site.sqlite")
    pg = Settings.from_env({**env, "WALKAPP_DATABASE_URL": "postgresql://walk@db:5432/walkapp"})
    assert pg.database.engine_type == "postgres"
    with pytest.raises(SettingsError):
        Settings.from_env({**env, "WALKAPP_DATABASE_URL": "mysql://x"})


def test_secret_key_is_made_once_and_kept(tmp_path):
    env = {"WALKAPP_MEDIA_DIR": str(tmp_path / "media")}
    first = Settings.from_env(env).secret_key
    second = Settings.from_env(env).secret_key
    assert first == second and len(first) >= 32
    secret_file = tmp_path / "media" / SECRET_FILE_NAME
    assert secret_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    assert Settings.from_env({**env, "WALKAPP_SECRET_KEY": "given" * 10}).secret_key == "given" * 10
