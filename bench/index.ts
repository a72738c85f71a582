/**
 * `npm run bench`: runs every benchmark in order and prints its figures with the machine they ran on.
 * `npm run bench -- orchestration` runs only the named ones (api, orchestration, provisioning, routing, certificates);
 * `--name=value` options go to the benchmarks (see README.md). Benchmarks print figures; they do not assert
 * timings. The exit code is 0 unless a benchmark could not measure (the product failed to start, answered
 * wrongly, or left orphans), which is reported and exits 1.
 */
import * as api from './api'
import * as certificates from './certificates'
import * as orchestration from './orchestration'
import * as provisioning from './provisioning'
import * as routing from './routing'
import { BenchError, hardware, hardwareLine, runCleanups } from './support'

interface Benchmark {
  title: string
  run(): Promise<unknown>
}

const BENCHMARKS: Record<string, Benchmark> = { api, orchestration, provisioning, routing, certificates }

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  const unknown = names.filter((n) => !(n in BENCHMARKS))
  if (unknown.length) throw new BenchError(`no benchmark named ${unknown.join(', ')} (there are: ${Object.keys(BENCHMARKS).join(', ')})`)
  const chosen = Object.entries(BENCHMARKS)
    .filter(([name]) => !names.length || names.includes(name))
    .map(([, b]) => b)
  const hw = hardware()
  console.log(`Tenon benchmarks, ${new Date().toISOString()}`)
  console.log(`machine: ${hardwareLine(hw)}\n`)
  for (const [n, b] of chosen.entries()) {
    console.log(`[${n + 1}/${chosen.length}] ${b.title}`)
    const started = performance.now()
    await b.run()
    console.log(`[${n + 1}/${chosen.length}] done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
  }
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return
    stopping = true
    console.error(`\n${signal}: stopping the server and dropping the benchmark database…`)
    void runCleanups().finally(() => process.exit(130))
  })
}

main()
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    // After Ctrl-C the requests in flight fail: that is the interruption, not a finding; the signal handler exits.
    if (!stopping) console.error(err instanceof BenchError ? `\nbenchmark aborted: ${err.message}` : err)
    await runCleanups()
    if (!stopping) process.exit(1)
  })
