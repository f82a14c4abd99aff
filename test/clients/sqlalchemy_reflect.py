"""SQLAlchemy (postgresql+psycopg2) through `agentdb proxy`: reflection, then a Core select.
sqlalchemy_reflect.py HOST PORT USER PASSWORD DATABASE."""
import sqlalchemy as sa
from urllib.parse import quote
from matrix_step import args, step

a = args()
engine = sa.create_engine(
    f"postgresql+psycopg2://{quote(a['user'])}:{quote(a['password'], safe='')}@{a['host']}:{a['port']}/{a['database']}?sslmode=disable"
)
meta = sa.MetaData()


def reflect():
    meta.reflect(engine)
    return {"value": {name: [c.name for c in t.columns] for name, t in meta.tables.items()}}


def core_select():
    # The reflected table when reflection worked; otherwise the same table declared by hand, so this step
    # tells on its own whether SQLAlchemy's queries get masked results.
    customers = meta.tables.get("customers")
    if customers is None:
        customers = sa.Table("customers", sa.MetaData(), *(sa.Column(n, sa.Integer if n == "id" else sa.Text) for n in ["id", "name", "email", "phone", "card_number", "ssn", "region"]))
    q = sa.select(customers.c.id, customers.c.name, customers.c.email, customers.c.card_number, customers.c.ssn).order_by(customers.c.id).limit(5)
    with engine.connect() as c:
        return {"rows": [dict(r._mapping) for r in c.execute(q)]}


step("reflect", reflect)
step("core-select", core_select)
engine.dispose()
