#!/usr/bin/env python3
"""scripts/stack_pages.py PID [SLOT_KB=72] [STACK_KB=64]: resident pages of state-threads
stacks. Anonymous rw mappings are cut in SLOT_KB slots from their end (libst
mmaps each stack as redzone + stack + redzone, top-down, and adjacent ones
merge; the slots' phase is found from the guard pages, which are never
touched, and the top page, which always is); a histogram of how many pages
below each stack's top are resident (/proc/PID/pagemap, run as root).
Assumes libst 1.9's layout (coro_stack.h): 64 KiB stacks, a guard page on
each side. Used for issue 15 (RSS per player), e.g. with 1000 players."""
import sys, struct, collections
pid = int(sys.argv[1]); slot = int(sys.argv[2]) * 1024 if len(sys.argv) > 2 else 72 * 1024
stk = int(sys.argv[3]) * 1024 if len(sys.argv) > 3 else 64 * 1024
PG = 4096
red = (slot - stk) // 2
maps = []
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    a, b = (int(x, 16) for x in f[0].split("-"))
    if f[1].startswith("rw") and len(f) < 6 and (b - a) >= slot:
        maps.append((a, b))
pm = open(f"/proc/{pid}/pagemap", "rb")
hist = collections.Counter(); pat = collections.Counter(); nslots = 0; deep = collections.Counter()
for a, b in maps:
    n = (b - a) // slot
    if n < 8: continue
    pm.seek(a // PG * 8)
    raw = pm.read((b - a) // PG * 8)
    present = [(struct.unpack_from("<Q", raw, i * 8)[0] >> 63) & 1 for i in range((b - a) // PG)]
    npg = (b - a) // PG
    # the slots' phase: the shift (pages cut off the top) that leaves the redzones emptiest
    # (a stack's top page always holds libst's thread record: resident)
    def rz(shift):
        c = 0
        for k in range(n - 1):
            end = npg - shift - k * (slot // PG)
            pages = present[end - slot // PG:end]
            c += sum(pages[:red // PG]) + sum(pages[red // PG + stk // PG:]) - pages[red // PG + stk // PG - 1]
        return c
    shift = min(range(slot // PG), key=rz)
    if shift: print("mapping %x-%x: slots start %d pages below its end" % (a, b, shift))
    n = (npg - shift) // (slot // PG)
    for k in range(n):
        end = npg - shift - k * (slot // PG)          # page index just past this slot
        pages = present[end - slot // PG:end]
        # stack top is below the upper redzone
        stack_pages = pages[red // PG: red // PG + stk // PG]
        top_first = stack_pages[::-1]
        key = "".join(str(x) for x in top_first)
        pat[key] += 1
        hist[sum(stack_pages)] += 1
        # deepest resident page (counted from the top, 1 = top page)
        d = max([i + 1 for i, x in enumerate(top_first) if x] or [0])
        deep[d] += 1
        nslots += 1
        if pages[:red // PG].count(1) or pages[red // PG + stk // PG:].count(1):
            deep["redzone-touched"] += 1
print("slots", nslots, "resident pages per stack:", sorted(hist.items()))
print("deepest resident page from top:", sorted((k, v) for k, v in deep.items() if k != "redzone-touched"), "redzone touched:", deep["redzone-touched"])
for k, v in pat.most_common(8):
    print(v, k)
