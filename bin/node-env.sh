# Sourced by bin/emqx before it runs node (and by the link benchmark, so that it measures nodes as
# they run): process settings the node needs from its environment.
#
# glibc gives the top of its heap back to the kernel as soon as 128 KiB of it are free. A node
# streaming large messages allocates and frees a 64 KiB read buffer per socket read (Node.js does),
# below glibc's mmap threshold, so that memory goes back and is page-faulted in again all the time:
# 20–40% of bulk link throughput (bench/dist.bench.ts). Keeping up to 32 MiB of free heap (and
# serving blocks up to 4 MiB from the heap) costs ~1 MiB of idle RSS. Tunables the operator set
# come after ours and win; glibc ignores the variable elsewhere (musl).
GLIBC_TUNABLES="glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=4194304${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
export GLIBC_TUNABLES
