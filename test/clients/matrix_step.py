"""The step protocol every Python client of the matrix prints: one JSON object per step,
{step, ok, rows?, value?, error?: {code, message}}, so the test asserts on data, not on "no error"."""
import json
import sys


def _plain(v):
    # Decimal, datetime, memoryview...: the test compares text, so anything JSON lacks becomes str.
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def emit(step, ok, **fields):
    print(json.dumps({"step": step, "ok": ok, **fields}, default=_plain), flush=True)


def error_of(e):
    # psycopg2: pgcode; psycopg 3: sqlstate; asyncpg: sqlstate; SQLAlchemy wraps the driver's error in .orig.
    inner = getattr(e, "orig", None) or e
    code = getattr(inner, "pgcode", None) or getattr(inner, "sqlstate", None) or type(inner).__name__
    return {"code": code, "message": str(inner).strip()}


def step(name, fn):
    """Runs fn(); it returns {"rows": [...]} or {"value": ...}. Returns True when the step succeeded."""
    try:
        out = fn()
    except Exception as e:  # every failure is a result of the matrix, reported, never raised
        emit(name, False, error=error_of(e))
        return False
    emit(name, True, **(out or {}))
    return True


def args():
    host, port, user, password, database = sys.argv[1:6]
    return {"host": host, "port": int(port), "user": user, "password": password, "database": database}
