# gdb script (tests/integration/test_harden_helper_wipe.sh): at a breakpoint,
# count the copies of a secret in the inferior's writable memory (heap, stack,
# anonymous and data mappings).  The secret is read from the file named by
# $MM_NEEDLE_FILE, so that it is not in the inferior's environment itself.
import os

import gdb

needle = open(os.environ["MM_NEEDLE_FILE"], "rb").read().strip()
inf = gdb.selected_inferior()
hits = []
for line in gdb.execute("info proc mappings", to_string=True).splitlines():
    parts = line.split()
    if len(parts) < 5 or not parts[0].startswith("0x"):
        continue
    name = parts[5] if len(parts) > 5 else "anon"
    if name.startswith("/") and "mimir-helper" not in name:
        continue  # shared libraries' read-only text
    lo, hi = int(parts[0], 16), int(parts[1], 16)
    try:
        mem = bytes(inf.read_memory(lo, hi - lo))
    except gdb.MemoryError:
        continue
    i = mem.find(needle)
    while i >= 0:
        hits.append("%s+%#x" % (name, i))
        i = mem.find(needle, i + 1)
print("secret copies at exit: %d %s" % (len(hits), " ".join(hits[:10])))
