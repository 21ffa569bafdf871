import { setFlagsFromString } from 'node:v8'

/**
 * The Node.js options a production gateway runs with: the Dockerfile sets them as NODE_OPTIONS (so
 * compose, Kubernetes and `--workers` children get them too), `npm start` passes them, and the benchmark
 * runs its Gatehouse targets with them. Tests check the three agree.
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MiB per semi-space. V8 derives its default
 * from the memory limit: 16 MiB from 2 GiB up (the bench machine, a host or a container without a limit),
 * less below (1 MiB at 512 MiB), so under a tight limit this raises the cap a little instead; the young
 * generation stays small either way (three semi-spaces, 12 MiB). Under 50 connections of small requests
 * peak RSS dropped from 124–134 MB to 104–110 MB in an interleaved bench run. The price is more scavenges:
 * a GC observer counted 2.38 s of scavenging in 40 s of load on one core at 4 MiB, 1.63 s at 8 MiB and
 * 1.22 s at 16 MiB (about 6 % of the CPU against 3 %), which the bench's CPU per request is too noisy to
 * show. Nothing caps the old generation, where the memory stores live.
 */
export const GATEWAY_NODE_OPTIONS: readonly string[] = Object.freeze(['--max-semi-space-size=4'])

/**
 * V8 flags Node refuses in NODE_OPTIONS ("not allowed in NODE_OPTIONS"), so a serving gateway process sets
 * them itself as it starts (`serve` in src/cli.ts, single process and cluster workers alike; the bench's
 * gateway.ts). Node warns that flags changed after start may behave unpredictably; this one is read each
 * time V8 sets a new old-generation limit, which is all it needs.
 *
 * `--heap-growing-percent=50`: after each full GC, the old generation may grow to 1.5× what survived it.
 * V8 otherwise picks the factor itself: up to 4× for a small heap, and the most when GC looks slow next to
 * the program, which is what a busy host makes it look like. Measured on gatehouse-full (50 connections,
 * one core, fresh processes, 40–60 s each): without it RSS rose to 109–149 MB in slow stretches before a
 * full GC brought it back to ~100; with it RSS stayed at 99–102 MB. It costs more full GCs: 6 instead of 2
 * in 20 s of load, 67 ms more GC time in those 20 s, about 0.3 % of the CPU.
 */
export const GATEWAY_V8_FLAGS: readonly string[] = Object.freeze(['--heap-growing-percent=50'])

export function applyGatewayV8Flags (): void {
  for (const flag of GATEWAY_V8_FLAGS) setFlagsFromString(flag)
}
