-- Real-program workload for the benchmark suite: sqlite3 on an in-memory database.
-- The runner replaces @N@ with the row count. Prints a few aggregates.
PRAGMA cache_size = -65536;
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, note TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < @N@)
INSERT INTO t SELECT x, 'name-' || x, x % 97, (x * 7919) % 10007 / 3.0,
  substr(printf('%016x%016x', x * 2654435761, x * 40503), 1, (x % 32) + 1) || printf('%08d', x) FROM c;
CREATE INDEX t_grp ON t(grp, val);
CREATE INDEX t_name ON t(name);
SELECT grp, count(*), round(sum(val), 2), max(length(note)) FROM t GROUP BY grp ORDER BY grp LIMIT 3;
UPDATE t SET note = note || '-' || name WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), count(DISTINCT substr(note, -8)) FROM t;
SELECT a.grp, count(*) FROM t a JOIN t b ON a.id = b.id + 1 AND a.grp = b.grp + 1
  GROUP BY a.grp ORDER BY 2 DESC LIMIT 3;
CREATE TABLE u AS SELECT name, group_concat(note, ';') AS notes FROM t GROUP BY grp, id / 50;
SELECT count(*), sum(length(notes)) FROM u;
SELECT name FROM t ORDER BY note, name LIMIT 1 OFFSET 1000;
