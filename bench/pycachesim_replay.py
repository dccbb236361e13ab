#!/usr/bin/env python3
"""pycachesim_replay.py - replay an access trace through pycachesim, a cache simulator nobody
here wrote (RRZE-HPC, PyPI "pycachesim", module cachesim), and print its counts as JSON.

    pycachesim_replay.py TRACE --sets S --ways W --line BYTES [--format din|bin]

TRACE is a Dinero IV din file ("label hexaddress" per line, 0 = read, 1 = write) or a binary
file of little-endian uint64 packed accesses (address | 1 for a store; bit 1 is ignored), the
format iobound's simulator writes. One cache level, LRU, write-back, write-allocate, main memory
behind it. pycachesim is not sectored: every access is one line access.

Semantics of pycachesim 0.3.1 that a comparison must respect (read from its backend.c and
checked by tests/test_sim_pycachesim.c): a load counts LOAD and then HIT or MISS; a store that
misses is a write-allocate load (LOAD and MISS); a store that hits counts neither HIT nor MISS
and does not refresh the line's LRU position; EVICT counts dirty lines written back on
replacement. Addresses and counters are 32-bit.

Output: one JSON object with the counters, the number of accesses, `seconds` (wall) and
`cpu_seconds` (this thread's CPU time) spent inside pycachesim's load/store calls only (reading
and splitting the file is not timed).
Exit status 77 when the cachesim module is missing (a skipped test).
"""
import argparse
import array
import json
import sys
import time

try:
    from cachesim import Cache, CacheSimulator, MainMemory
except ImportError:
    print("pycachesim (module cachesim) is not installed", file=sys.stderr)
    sys.exit(77)

CHUNK = 1 << 20


def runs_of(labels_addrs):
    """Split (label, addr) pairs into runs of equal label: [(label, [addr, ...]), ...]."""
    out = []
    cur, buf = None, []
    for lab, a in labels_addrs:
        if lab != cur and buf:
            out.append((cur, buf))
            buf = []
        cur = lab
        buf.append(a)
    if buf:
        out.append((cur, buf))
    return out


def chunks_din(path):
    with open(path) as f:
        pairs = []
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            lab = int(parts[0])
            if lab not in (0, 1):
                raise SystemExit("din label %d: only 0 (read) and 1 (write) are replayed" % lab)
            pairs.append((lab, int(parts[1], 16)))
            if len(pairs) == CHUNK:
                yield pairs
                pairs = []
        if pairs:
            yield pairs


def chunks_bin(path):
    with open(path, "rb") as f:
        while True:
            a = array.array("Q")
            try:
                a.fromfile(f, CHUNK)
            except EOFError:
                pass
            if sys.byteorder != "little":
                a.byteswap()
            if not a:
                return
            yield [(x & 1, x & ~3) for x in a]
            if len(a) < CHUNK:
                return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--sets", type=int, required=True)
    ap.add_argument("--ways", type=int, required=True)
    ap.add_argument("--line", type=int, required=True)
    ap.add_argument("--format", choices=["din", "bin"], default=None)
    args = ap.parse_args()
    fmt = args.format or ("bin" if args.trace.endswith(".bin") else "din")

    mem = MainMemory()
    l2 = Cache("L2", args.sets, args.ways, args.line, "LRU")
    mem.load_to(l2)
    mem.store_from(l2)
    cs = CacheSimulator(l2, mem)

    seconds = cpu_seconds = 0.0
    n = loads = stores = 0
    for pairs in (chunks_bin if fmt == "bin" else chunks_din)(args.trace):
        if any(a >= 1 << 32 for _, a in pairs):
            raise SystemExit("address above 4 GiB: pycachesim's addresses are 32-bit")
        runs = runs_of(pairs)
        n += len(pairs)
        t0, c0 = time.perf_counter(), time.thread_time()
        for lab, addrs in runs:
            if lab:
                cs.store(addrs)
            else:
                cs.load(addrs)
        seconds += time.perf_counter() - t0
        cpu_seconds += time.thread_time() - c0
        for lab, addrs in runs:
            if lab:
                stores += len(addrs)
            else:
                loads += len(addrs)

    s = l2.stats()
    print(json.dumps({
        "sets": args.sets, "ways": args.ways, "line": args.line,
        "accesses": n, "loads": loads, "stores": stores,
        "LOAD_count": s["LOAD_count"], "STORE_count": s["STORE_count"],
        "HIT_count": s["HIT_count"], "MISS_count": s["MISS_count"],
        "EVICT_count": s["EVICT_count"], "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }))


if __name__ == "__main__":
    main()
