"""Constraints Piccolo's auto migrations don't write: composite unique keys and query indexes.

The (walk, client_uuid) key is what makes a phone's replays idempotent under concurrency: the
database refuses the second row, rather than a check-then-insert that two requests can both pass.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T17:00:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "Composite unique keys and indexes."

STATEMENTS = (
    "CREATE UNIQUE INDEX observation_walk_client_uuid ON observation (walk, client_uuid)",
    "CREATE UNIQUE INDEX action_observation_pair ON action_observation (action, observation)",
    "CREATE UNIQUE INDEX stop_walk_position ON stop (walk, position)",
    "CREATE INDEX observation_walk ON observation (walk)",
    "CREATE INDEX observation_issue_angle ON observation (issue, angle)",
    "CREATE INDEX participant_walk ON participant (walk)",
    "CREATE INDEX photo_observation ON photo (observation)",
    "CREATE INDEX action_event_action ON action_event (action)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="walkapp", description=DESCRIPTION)

    async def create():
        db = engine_finder()
        for statement in STATEMENTS:
            await db.run_ddl(statement)

    async def drop():
        db = engine_finder()
        for statement in STATEMENTS:
            name = statement.split(" INDEX ")[1].split()[0]
            await db.run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
