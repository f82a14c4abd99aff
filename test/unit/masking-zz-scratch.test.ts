import { inject, test } from 'vitest';
import pg from 'pg';

test('scratch', async () => {
  const client = new pg.Client({ connectionString: inject('pgAdminUrl') });
  await client.connect();
  await client.query('create temp table c (id int, ssn text, email text)');
  await client.query("insert into c values (1, 'S1', 'e@x.com')");
  await client.query('create temp view v as select id, ssn as s from c');
  const qs = [
    'select ssn as x from c', 'select * from v', 'select * from (select ssn as y from c) q', 'with w as (select ssn from c) select * from w',
    'select ssn from c union select ssn from c', 'insert into c values (2, \'a\', \'b\') returning ssn, id', 'update c set id = id returning ssn',
    'select ssn::text from c', 'select (ssn) from c', 'select c.ssn collate "C" from c', "select pg_get_viewdef('v'::regclass)",
  ];
  for (const q of qs) {
    const r = await client.query(q);
    console.log(q, JSON.stringify(r.fields.map((f) => [f.name, f.tableID, f.columnID, f.dataTypeID])), JSON.stringify(r.rows));
  }
  const oids = await client.query("select 'c'::regclass::oid as c, 'v'::regclass::oid as v");
  console.log(oids.rows);
  await client.end();
});
