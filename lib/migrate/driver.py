"""claw-ops migration driver: runs inside a one-off container of the backend image
(`compose run --rm --no-deps -T <backend> python3 - <op> ...`, this file on stdin), next to
the backend's own alembic.ini, with the backend's own DATABASE_URL.

It uses Alembic's Python API and prints one result line, `CLAW-OPS-RESULT <json>`, last.
- info: heads, the database's current revision(s), every revision with its file's sha256,
  what is pending, what the database recorded at apply time (drift).
- sql <rev>...: each revision's offline SQL (`alembic upgrade prev:rev --sql`), or why not.
- upgrade <target> / downgrade <target>: one revision at a time (so a failure names its
  revision, and earlier ones stay applied), under a session advisory lock held on its own
  connection and taken with pg_try_advisory_lock until a deadline (never a blocking wait),
  with lock_timeout / statement_timeout for the migration sessions; a lock timeout (55P03) is
  retried a bounded number of times.
"""
import hashlib
import io
import json
import os
import sys
import time

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

LOCK_KEY = 7350221830261201  # claw-ops migrations: one per database
APP_NAME = "claw-ops-migrate"
HASH_TABLE = "claw_ops_revisions"


def out(result):
    sys.stdout.write("CLAW-OPS-RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def cfg(buffer=None):
    ini = os.environ.get("CLAW_MIGRATE_INI", "alembic.ini")
    c = Config(ini, output_buffer=buffer) if buffer is not None else Config(ini)
    return c


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def engine():
    return create_engine(os.environ["DATABASE_URL"])


def recorded(conn):
    exists = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": HASH_TABLE}).scalar()
    if not exists:
        return {}
    return {r[0]: r[1] for r in conn.execute(text(f"SELECT revision, sha256 FROM {HASH_TABLE}"))}


def info():
    script = ScriptDirectory.from_config(cfg())
    revisions = []
    for rev in script.walk_revisions():
        down = rev.down_revision
        revisions.append({
            "revision": rev.revision,
            "down": list(down) if isinstance(down, tuple) else ([down] if down else []),
            "file": os.path.basename(rev.path),
            "sha256": sha256(rev.path),
            "doc": (rev.doc or "").strip().split("\n")[0],
        })
    revisions.reverse()  # oldest first
    with engine().connect() as conn:
        current = list(MigrationContext.configure(conn).get_current_heads())
        hashes = recorded(conn)
    heads = list(script.get_heads())
    known = {r["revision"] for r in revisions}
    pending = []
    if len(heads) == 1 and all(c in known for c in current):
        applied = set()
        for c in current:
            applied |= {r.revision for r in script.iterate_revisions(c, "base")}
        pending = [r["revision"] for r in revisions if r["revision"] not in applied]
    return {"heads": heads, "current": current, "revisions": revisions, "pending": pending, "recorded": hashes}


def sql(revs):
    script = ScriptDirectory.from_config(cfg())
    result = {}
    for rev in revs:
        r = script.get_revision(rev)
        prev = r.down_revision if isinstance(r.down_revision, str) or r.down_revision is None else r.down_revision[0]
        buf = io.StringIO()
        try:
            command.upgrade(cfg(buf), f"{prev or 'base'}:{rev}", sql=True)
            result[rev] = {"sql": buf.getvalue()}
        except BaseException as e:  # an env.py without offline mode, a revision that reads data, …
            result[rev] = {"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"}
    return result


def pg_code(e):
    orig = getattr(e, "orig", None)
    return getattr(orig, "pgcode", None) or getattr(e, "pgcode", None)


def db_error(e):
    orig = getattr(e, "orig", e)
    return " ".join(str(orig).strip().split())


def invalid_indexes(conn):
    return [r[0] for r in conn.execute(text(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid"))]


def step_list(direction, target):
    script = ScriptDirectory.from_config(cfg())
    with engine().connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    cur = current[0] if current else None
    if direction == "upgrade":
        revs = [r.revision for r in script.iterate_revisions(target, cur or "base")]
        revs.reverse()
        return cur, revs
    # downgrade: from the current down to (not including) the target
    revs = [r.revision for r in script.iterate_revisions(cur, target)] if cur else []
    revs = [r for r in revs if r != target]
    return cur, revs


def migrate(direction, target):
    lock_wait = float(os.environ.get("CLAW_MIGRATE_LOCK_WAIT_S", "60"))
    retries = int(os.environ.get("CLAW_MIGRATE_LOCK_RETRIES", "3"))
    # Every connection Alembic's env.py opens gets these (libpq reads PGOPTIONS).
    os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c lock_timeout={} -c statement_timeout={}".format(
        os.environ.get("CLAW_MIGRATE_LOCK_TIMEOUT", "5s"), os.environ.get("CLAW_MIGRATE_STATEMENT_TIMEOUT", "0"))).strip()
    # Every session of a claw-ops migration run carries this name (libpq reads PGAPPNAME): the
    # holder of the lock can tell what a session left by a dead run is, and end it.
    # The lock session has a name of its own: a run still waiting for the lock is never ended.
    os.environ["PGAPPNAME"] = APP_NAME + "-lock"
    eng = engine()
    # Autocommit: an idle lock connection must not hold a transaction open, or a
    # CREATE INDEX CONCURRENTLY in a migration would wait for it forever.
    lock_conn = eng.connect().execution_options(isolation_level="AUTOCOMMIT")
    os.environ["PGAPPNAME"] = APP_NAME
    try:
        lock_conn.execute(text("SET idle_session_timeout = 0"))  # PostgreSQL >= 14
    except Exception:
        pass
    deadline = time.time() + lock_wait
    waited = 0.0
    delay = 0.2
    while not lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
        if time.time() > deadline:
            holder = lock_conn.execute(text(
                "SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start::text, a.state, left(a.query, 120) "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"hi": LOCK_KEY >> 32, "lo": LOCK_KEY & 0xFFFFFFFF}).fetchone()
            return {"ok": False, "code": "lock-held", "waitedS": round(waited, 1),
                    "holder": list(holder) if holder else None}
        time.sleep(delay)
        waited += delay
        delay = min(delay * 2, 2.0)
    applied = []
    try:
        # We hold the lock: any other claw-ops migration session is left by a run that died
        # (its container killed, its statement maybe still running). End it before applying.
        ended = lock_conn.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :a AND pid <> pg_backend_pid() AND datname = current_database()"),
            {"a": APP_NAME}).scalar()
        start, steps = step_list(direction, target)
        for rev in steps:
            dest = rev if direction == "upgrade" else None
            if direction == "downgrade":
                # one step down from rev: to its down revision
                script = ScriptDirectory.from_config(cfg())
                down = script.get_revision(rev).down_revision
                dest = (down if isinstance(down, str) else (down[0] if down else "base")) or "base"
            # A revision with autocommit blocks commits part of itself: never run it twice.
            path = ScriptDirectory.from_config(cfg()).get_revision(rev).path
            with open(path, encoding="utf-8", errors="replace") as f:
                partial = "autocommit_block" in f.read()
            for attempt in range(retries + 1):
                try:
                    (command.upgrade if direction == "upgrade" else command.downgrade)(cfg(), dest)
                    break
                except Exception as e:
                    if pg_code(e) == "55P03" and attempt < retries and not partial:
                        time.sleep(1 + attempt * 2)
                        continue
                    with eng.connect() as c:
                        now = list(MigrationContext.configure(c).get_current_heads())
                        bad = invalid_indexes(c)
                    return {"ok": False, "code": "lock-timeout" if pg_code(e) == "55P03" else "revision-failed",
                            "revision": rev, "error": db_error(e), "sqlstate": pg_code(e), "applied": applied,
                            "current": now, "invalidIndexes": bad, "attempts": attempt + 1,
                            "nonTransactional": partial, "endedSessions": ended}
            applied.append(rev)
            with eng.begin() as c:
                c.execute(text(f"CREATE TABLE IF NOT EXISTS {HASH_TABLE} (revision text PRIMARY KEY, sha256 text NOT NULL, "
                               "applied_at timestamptz NOT NULL DEFAULT now())"))
                if direction == "upgrade":
                    path = ScriptDirectory.from_config(cfg()).get_revision(rev).path
                    c.execute(text(f"INSERT INTO {HASH_TABLE} (revision, sha256) VALUES (:r, :h) "
                                   "ON CONFLICT (revision) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()"),
                              {"r": rev, "h": sha256(path)})
                else:
                    c.execute(text(f"DELETE FROM {HASH_TABLE} WHERE revision = :r"), {"r": rev})
        with eng.connect() as c:
            now = list(MigrationContext.configure(c).get_current_heads())
        return {"ok": True, "applied": applied, "from": start, "current": now, "endedSessions": ended}
    finally:
        try:
            lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            lock_conn.close()
        except Exception:
            pass  # the session is gone, and its lock with it


def tables(names):
    with engine().connect() as conn:
        return {n: bool(conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": n}).scalar()) for n in names}


def main():
    op = sys.argv[1]
    try:
        if op == "info":
            out({"ok": True, **info()})
        elif op == "sql":
            out({"ok": True, "sql": sql(sys.argv[2:])})
        elif op in ("upgrade", "downgrade"):
            out(migrate(op, sys.argv[2]))
        elif op == "tables":
            out({"ok": True, "tables": tables(sys.argv[2:])})
        else:
            out({"ok": False, "code": "usage", "error": f"unknown op {op}"})
    except Exception as e:  # the one place errors become a result
        out({"ok": False, "code": "error", "error": f"{type(e).__name__}: {db_error(e)}", "sqlstate": pg_code(e)})


main()
