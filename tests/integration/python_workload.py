"""Integration workload for python3 under dbgalloc: json, ssl, threading, hashlib,
sqlite3, zlib and plenty of small-object churn. Prints only deterministic results."""
import hashlib
import json
import queue
import sqlite3
import ssl
import threading
import zlib


def lcg(seed):
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        yield seed >> 33


def json_work():
    gen = lcg(1)
    doc = {
        f"key{i}": {
            "n": next(gen) % 100000,
            "s": "x" * (next(gen) % 200),
            "l": [next(gen) % 1000 for _ in range(next(gen) % 50)],
            "f": (next(gen) % 10000) / 7.0,
        }
        for i in range(5000)
    }
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    assert back == doc
    total = sum(v["n"] for v in back.values())
    print("json:", len(text), total, hashlib.sha256(text.encode()).hexdigest())


def ssl_work():
    ctx = ssl.create_default_context()
    print("ssl: verify_mode", ctx.verify_mode == ssl.CERT_REQUIRED,
          "check_hostname", ctx.check_hostname,
          "tls1.2+", ctx.minimum_version >= ssl.TLSVersion.TLSv1_2)
    # Exercise the OpenSSL heap: many contexts and memory BIOs, ciphers listing.
    names = set()
    for _ in range(50):
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        names.update(x["name"] for x in c.get_ciphers())
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = c.wrap_bio(incoming, outgoing, server_hostname="example.invalid")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        # The ClientHello is random, only its presence is deterministic.
        print("ssl: client hello written", outgoing.pending > 0) if _ == 0 else None
    print("ssl: ciphers", len(names) > 0)


def hash_work():
    data = bytes(range(256)) * 4096
    for name in ("md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"):
        print("hash:", name, hashlib.new(name, data).hexdigest())
    print("pbkdf2:", hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 20000).hex())
    comp = zlib.compress(data * 4, 9)
    print("zlib:", len(comp), zlib.crc32(zlib.decompress(comp)))


def thread_work():
    jobs = queue.Queue()
    results = queue.Queue()

    def worker():
        while True:
            item = jobs.get()
            if item is None:
                break
            blob = ("%d-" % item).encode() * (item % 500 + 1)
            parts = [hashlib.sha1(blob[i:i + 64]).digest() for i in range(0, len(blob), 64)]
            results.put((item, hashlib.sha256(b"".join(parts)).hexdigest()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for i in range(4000):
        jobs.put(i)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    out = sorted(results.queue)
    assert len(out) == 4000
    print("threads:", hashlib.sha256("".join(h for _, h in out).encode()).hexdigest())


def sqlite_work():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (id integer primary key, grp integer, name text, val real)")
    gen = lcg(7)
    db.executemany("insert into t (grp, name, val) values (?, ?, ?)",
                   ((next(gen) % 37, "n%06d" % next(gen), (next(gen) % 100000) / 3.0)
                    for _ in range(20000)))
    db.execute("create index t_grp on t (grp)")
    for row in db.execute("select grp, count(*), round(sum(val), 3), min(name) "
                          "from t group by grp order by grp limit 5"):
        print("sqlite:", row)
    print("sqlite:", db.execute("select count(distinct name), round(avg(val), 4) from t").fetchone())
    db.close()


def churn_work():
    # Many short-lived objects of many sizes: dicts, lists, strings, sets.
    acc = 0
    keep = []
    for i in range(200000):
        obj = {"i": i, "s": str(i) * (i % 13), "l": list(range(i % 17))}
        if i % 97 == 0:
            keep.append(obj)
        if len(keep) > 300:
            keep = keep[150:]
        acc += len(obj["s"]) + len(obj["l"])
    print("churn:", acc, len(keep), len({str(k["i"]) for k in keep}))


json_work()
ssl_work()
hash_work()
thread_work()
sqlite_work()
churn_work()
print("python: done")
