-- Integration workload for sqlite3 under dbgalloc: 10k rows from a recursive CTE,
-- indexes, aggregates, joins, a window function, updates and deletes.
create table item (id integer primary key, grp integer, name text, price real, qty integer);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 10000)
insert into item (grp, name, price, qty)
select i % 17, printf('item-%05d-%s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 1 + i % 7)),
       (i * 7919 % 10007) / 100.0, i * 31 % 97
from n;
create index item_grp on item (grp);
create table grp (id integer primary key, label text);
with recursive g(i) as (select 0 union all select i + 1 from g where i < 16)
insert into grp select i, 'group ' || i from g;

select count(*), sum(qty), round(avg(price), 4), min(name), max(name) from item;
select grp, count(*), round(sum(price * qty), 2), max(length(name)) from item group by grp order by grp;
select g.label, count(i.id), round(avg(i.price), 3)
  from grp g join item i on i.grp = g.id where i.qty > 50 group by g.id order by 3 desc limit 5;
select name, price, rank() over (partition by grp order by price desc) as r
  from item where grp = 3 order by r, name limit 5;
update item set price = price * 1.1 where qty % 5 = 0;
delete from item where id % 7 = 0;
select count(*), round(sum(price), 2) from item;
select group_concat(name, ',') from (select name from item order by price desc, name limit 10);
select count(distinct substr(name, 12)) from item;
create table big as select a.id * 10000 + b.id as k, a.name || b.name as v
  from item a, item b where a.id < 40 and b.id < 400;
select count(*), sum(length(v)), max(k) from big;
