"""psycopg 3 through `agentdb proxy`: psycopg3_matrix.py HOST PORT USER PASSWORD DATABASE."""
import psycopg
from psycopg.rows import dict_row
from matrix_step import args, step

a = args()
conn = None


def connect():
    global conn
    conn = psycopg.connect(host=a["host"], port=a["port"], user=a["user"], password=a["password"], dbname=a["database"], sslmode="disable", autocommit=True, row_factory=dict_row)
    return {"value": psycopg.__version__}


def binary_cursor():
    # Results in binary format: the gateway masks binary-encoded text columns too.
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT id, name, email, phone, card_number, ssn, region FROM customers ORDER BY id LIMIT 5")
        return {"rows": cur.fetchall()}


def prepared():
    # prepare=True makes a named server-side statement at once; it is then executed again and again.
    out = []
    with conn.cursor() as cur:
        for i in range(1, 5):
            cur.execute("SELECT id, name, email, ssn FROM customers WHERE id = %s", (i,), prepare=True)
            out.extend(cur.fetchall())
    return {"rows": out}


def pipeline():
    # Several Parse/Bind/Execute before one Sync; the results are read after the pipeline ends.
    curs = [conn.cursor() for _ in range(3)]
    with conn.pipeline():
        for i, cur in enumerate(curs, start=1):
            cur.execute("SELECT id, name, email, card_number FROM customers WHERE id = %s", (i,))
    out = []
    for cur in curs:
        out.extend(cur.fetchall())
        cur.close()
    return {"rows": out}


if step("connect", connect):
    step("binary-cursor", binary_cursor)
    step("prepared", prepared)
    step("pipeline", pipeline)
    conn.close()
