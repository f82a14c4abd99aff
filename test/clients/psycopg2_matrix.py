"""psycopg2 through `agentdb proxy`: psycopg2_matrix.py HOST PORT USER PASSWORD DATABASE."""
import psycopg2
import psycopg2.extras
from matrix_step import args, step

SELECT = "SELECT id, name, email, phone, card_number, ssn, region FROM customers ORDER BY id LIMIT 5"

a = args()
conn = None


def connect():
    global conn
    conn = psycopg2.connect(host=a["host"], port=a["port"], user=a["user"], password=a["password"], dbname=a["database"], sslmode="disable")
    return {"value": psycopg2.__version__}


def rows(cur):
    return [dict(r) for r in cur.fetchall()]


def select():
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(SELECT)
        return {"rows": rows(cur)}


def parameterized():
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("SELECT id, name, email, ssn FROM customers WHERE id = %s", (7,))
        return {"rows": rows(cur)}


def named_cursor():
    # A named cursor is DECLARE ... CURSOR on the server and FETCH FORWARD itersize at a time.
    with conn.cursor(name="matrix_cursor", cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.itersize = 2
        cur.execute("SELECT id, email, card_number FROM customers ORDER BY id LIMIT 5")
        out = [dict(r) for r in cur]
    return {"rows": out}


if step("connect", connect):
    # psycopg2 opens a transaction on the first statement: each step ends its own, so a failed step (which aborts
    # the transaction) does not fail the ones after it.
    for name, fn in [("select", select), ("parameterized", parameterized), ("named-cursor", named_cursor)]:
        step(name, fn)
        conn.rollback()
    conn.close()
