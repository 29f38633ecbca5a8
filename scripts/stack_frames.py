#!/usr/bin/env python3
"""scripts/stack_frames.py PID [NSTACKS=3] [SKIP=0]: for the stack slots, the
deepest non-zero byte (bytes below the stack top) and the code addresses left
in the stack (live or dead frames), symbolized (addr2line), with their depth:
which calls went how deep. Slots are cut from each mapping's end (see
scripts/stack_pages.py for the layout); /proc/PID/mem, run as root."""
import sys, struct, subprocess, collections
pid = int(sys.argv[1]); nst = int(sys.argv[2]) if len(sys.argv) > 2 else 3; skip = int(sys.argv[3]) if len(sys.argv) > 3 else 0
slot = 72 * 1024; stk = 64 * 1024; red = 4096; PG = 4096
maps = []; code = []
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    a, b = (int(x, 16) for x in f[0].split("-"))
    if f[1].startswith("rw") and len(f) < 6 and (b - a) >= 8 * slot: maps.append((a, b))
    if "x" in f[1] and len(f) >= 6: code.append((a, b, int(f[2], 16), f[5]))
mem = open(f"/proc/{pid}/mem", "rb")
def sym(addr):
    for a, b, off, path in code:
        if a <= addr < b:
            return path, addr - a + off
    return None
done = 0; depths = collections.Counter()
for a, b in maps:
    n = (b - a) // slot
    for k in range(n):
        top = b - k * slot - red
        bottom = top - stk
        mem.seek(bottom); data = mem.read(stk)
        nz = next((i for i, x in enumerate(data) if x), None)
        if nz is None: continue
        depth = stk - nz
        depths[(depth + 255) // 256 * 256] += 1
        if done < skip + nst and done >= skip:
            print(f"stack top {top:#x}: deepest non-zero byte {depth} below the top")
            for off in range(nz - nz % 8, stk, 8):
                v = struct.unpack_from("<Q", data, off)[0]
                s = sym(v)
                if s:
                    path, fo = s
                    r = subprocess.run(["addr2line", "-f", "-e", path, hex(fo)], capture_output=True, text=True).stdout.split("\n")
                    print(f"  depth {stk - off:6d}  {r[0]:40s} {path.split('/')[-1]}")
        done += 1
print("deepest non-zero byte, histogram (256-byte buckets):", sorted(depths.items()))
