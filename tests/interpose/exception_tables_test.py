#!/usr/bin/env python3
"""The exported allocation functions carry no exception table (LSDA).

A thread under asynchronous cancellation can be cancelled at any instruction of these
frames (cancel.hpp: cancellation is deferred only inside the bodies they call). The
unwinder calls the personality routine of a frame with an LSDA, and a PC outside its
call-site table means std::terminate: 'terminate called without an active exception'.
Reads the library's .eh_frame with readelf and its exports with nm.

usage: exception_tables_test.py LIBDBGALLOC_SO
"""
import re
import subprocess
import sys

ALLOCATION = re.compile(r"^(malloc|free|calloc|realloc|aligned_alloc|posix_memalign|memalign|valloc|pvalloc"
                        r"|_Znw.*|_Zna.*|_Zdl.*|_Zda.*)$")


def exported_functions(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TW" and ALLOCATION.match(parts[2]):
            found[parts[2]] = int(parts[0], 16)
    return found


def ranges_with_lsda(lib):
    """(start, end) of every FDE whose augmentation data holds a non-zero LSDA pointer."""
    out = subprocess.run(["readelf", "--debug-dump=frames", lib], check=True, capture_output=True, text=True).stdout
    cie_has_lsda = {}
    ranges = []
    current_cie = None
    fde = None
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE", line)
        if m:
            current_cie, fde = int(m.group(1), 16), None
            continue
        m = re.match(r"^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)", line)
        if m:
            current_cie = None
            fde = (int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16))
            continue
        m = re.match(r'^\s+Augmentation:\s+"(\w*)"', line)
        if m and current_cie is not None:
            cie_has_lsda[current_cie] = "L" in m.group(1)
            continue
        m = re.match(r"^\s+Augmentation data:\s+([0-9a-f ]+)$", line)
        if m and fde is not None and cie_has_lsda.get(fde[0]):
            if any(int(b, 16) for b in m.group(1).split()):
                ranges.append((fde[1], fde[2]))
    return ranges


def main():
    lib = sys.argv[1]
    functions = exported_functions(lib)
    if "malloc" not in functions or not any(name.startswith("_Znw") for name in functions):
        print(f"FAIL: {lib} exports no malloc or operator new: {sorted(functions)}")
        return 1
    lsda = ranges_with_lsda(lib)
    if not lsda:
        print("FAIL: no FDE with an LSDA found at all: the readelf output was not understood")
        return 1
    bad = [name for name, address in sorted(functions.items()) if any(lo <= address < hi for lo, hi in lsda)]
    for name in bad:
        print(f"FAIL: {name} has an exception table: an asynchronous cancellation in it may call std::terminate")
    print(f"{len(functions)} exported allocation functions, {len(lsda)} functions with exception tables, "
          f"{len(bad)} of them exported allocation functions")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
