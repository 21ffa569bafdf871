/**
 * Schema validation away from the gateway's own V8 isolate. Compiling the services.json schema with Ajv
 * in the process that then serves requests leaves request handling slower for the life of the process:
 * on the bench, +13 to 20 µs of CPU per proxied request (15-20 %) once the schema had grown with issue 5,
 * measured A/B against the same build with validation skipped. The profile puts the extra time in Node's
 * and V8's own frames (process.nextTick), none in code of ours or Ajv's, so the fix is isolation rather
 * than tuning: compiled code (dist/) validates in a short-lived worker thread and only plain data comes
 * back. TypeScript sources (the test runner) validate in-process, where that cost does not matter.
 */
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import type { ValidationResult } from './validate.js'

export async function validateIsolated (value: unknown): Promise<ValidationResult> {
  if (import.meta.url.endsWith('.ts')) {
    const { validateServicesFile } = await import('./validate.js')
    return validateServicesFile(value)
  }
  return validateInWorker(value)
}

async function validateInWorker (value: unknown): Promise<ValidationResult> {
  const worker = new Worker(new URL('./validate-worker.js', import.meta.url), { workerData: value })
  try {
    // 'error' rejects once(); an exit without a message means the worker died without answering.
    const answer = await Promise.race([
      once(worker, 'message') as Promise<[ValidationResult]>,
      once(worker, 'exit').then(([code]) => { throw new Error(`config validation worker exited with code ${String(code)}`) })
    ])
    return answer[0]
  } finally {
    await worker.terminate()
  }
}
