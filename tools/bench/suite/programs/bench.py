"""Real-program workload for the benchmark suite, run by /usr/bin/python3 (the
distribution's interpreter, not a pyenv build): dicts, lists, strings, JSON and sorting,
as an ordinary script does them. argv[1]: scale (rounds). Prints a checksum."""
import json
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
total = 0
for r in range(rounds):
    records = []
    for i in range(4000):
        name = "user-%d-%d" % (r, i)
        records.append({
            "id": i,
            "name": name,
            "tags": [name[j:j + 3] for j in range(0, len(name), 2)],
            "score": (i * 7919 + r) % 1000 / 7.0,
            "notes": "x" * (i % 300),
        })
    text = json.dumps(records)
    back = json.loads(text)
    back.sort(key=lambda d: (d["score"], d["name"]))
    index = {}
    for d in back:
        for t in d["tags"]:
            index.setdefault(t, []).append(d["id"])
    words = " ".join(d["name"] for d in back).split("-")
    total += len(text) + len(index) + len(words) + sum(len(v) for v in index.values())
print("python rounds=%d checksum=%d" % (rounds, total))
