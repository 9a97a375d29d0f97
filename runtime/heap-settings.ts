// How the hub's V8 heap grows. By default V8 doubles the young generation (up to 2 × 16 MiB semi-spaces) whenever
// many objects survive a scavenge, and gives the space back only when it sees the process idle, which a listener
// that keeps being connected to never is: 2,000 dropped connections per listener left heapTotal at 177 MiB for
// 39 MiB in use, and RSS 1.7× idle (`npm run bench -- churn`, issue 10). Kept at its first size, the young
// generation is scavenged more often, each scavenge as cheap (its cost is what survives, not the space); the HL7
// bench's event-loop CPU per message did not move beyond its noise (A/B on 2026-12-05).
import v8 from 'node:v8';

/** Called once, first thing in the process; flags set later than the first allocations still apply to growth. */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
