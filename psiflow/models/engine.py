"""Engine settings that keep an embedded SQLite database safe under concurrent use."""

import sqlalchemy as sa


def configure_engine(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        # WAL lets readers work while a writer commits; the busy timeout makes a second writer
        # wait instead of failing; foreign keys are off in SQLite unless asked for.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Reads straight from the operating system's file cache (memory-mapped, shared by the
        # workers) and a 64 MiB page cache per connection instead of 2 MiB: a board reads
        # pages all over a large clinic's tables, and copying each one in cost a fifth of its
        # statements' time. Address space, not memory: the file cache holds the pages anyway.
        cursor.execute("PRAGMA mmap_size=1073741824")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()
