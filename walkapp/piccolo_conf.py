"""Piccolo's configuration: the engine from the settings, and our one app."""

from piccolo.conf.apps import AppRegistry

from walkapp.db import make_engine
from walkapp.settings import get_settings

DB = make_engine(get_settings().database)

APP_REGISTRY = AppRegistry(apps=["walkapp.piccolo_app"])
