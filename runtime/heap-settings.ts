// How the hub's V8 heap grows. By default V8 doubles the young generation (up to 2 × 32 MiB semi-spaces) whenever
// many objects survive a scavenge, and gives the space back only when it sees the process idle, which a listener
// that keeps being connected to never is: 2,000 dropped connections per listener left heapTotal at 177 MiB for
// 39 MiB in use, and RSS 1.7× idle (`npm run bench -- churn`, issue 10). Kept at its first size, the young
// generation is scavenged more often, each scavenge as cheap (its cost is what survives, not the space).
//
// Imported for its effect, as hub.ts's first import: module bodies run in import order (after the whole graph is
// parsed), so the flag is set before any other module's top-level code allocates. Set later (it was, in main()),
// running them had already grown the young generation to its maximum, 64 MiB committed at start for 21 MiB in use
// (`npm run bench -- footprint`). V8's flags are process-wide, so the worker threads, started later, keep theirs
// small too.
import v8 from 'node:v8';

v8.setFlagsFromString('--semi-space-growth-factor=1');
