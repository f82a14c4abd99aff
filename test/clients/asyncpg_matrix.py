"""asyncpg through `agentdb proxy` (binary protocol throughout): asyncpg_matrix.py HOST PORT USER PASSWORD DATABASE."""
import asyncio
import io
import asyncpg
from matrix_step import args, emit, error_of

a = args()


async def step(name, fn):
    try:
        out = await fn()
    except Exception as e:  # every failure is a result of the matrix, reported, never raised
        emit(name, False, error=error_of(e))
        return False
    emit(name, True, **(out or {}))
    return True


async def main():
    conn = None

    async def connect():
        nonlocal conn
        conn = await asyncpg.connect(host=a["host"], port=a["port"], user=a["user"], password=a["password"], database=a["database"], ssl=False)
        return {"value": asyncpg.__version__}

    async def fetch():
        rows = await conn.fetch("SELECT id, name, email, phone, card_number, ssn, region FROM customers ORDER BY id LIMIT 5")
        return {"rows": [dict(r) for r in rows]}

    async def prepared():
        stmt = await conn.prepare("SELECT id, name, email, ssn FROM customers WHERE id = $1")
        out = []
        for i in range(1, 5):
            out.extend(dict(r) for r in await stmt.fetch(i))
        return {"rows": out}

    async def copy_out():
        buf = io.BytesIO()
        await conn.copy_from_query("SELECT id, email, ssn FROM customers ORDER BY id LIMIT 5", output=buf, format="csv")
        return {"value": buf.getvalue().decode()}

    if await step("connect", connect):
        await step("fetch", fetch)
        await step("prepared", prepared)
        await step("copy-from-query", copy_out)
        await conn.close()


asyncio.run(main())
