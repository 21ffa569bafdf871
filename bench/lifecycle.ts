/**
 * What a bench command leaves running or lying around: child processes (servers, load generator runs) and
 * temporary directories (the HTTPS certificate, nginx's prefix). All of it is stopped and removed when the
 * command ends or is interrupted; on any other exit the processes are killed at least.
 */
import type { ChildProcess } from 'node:child_process'
import { killNow, stopChild } from './children.js'

const EXIT_INTERRUPTED = 130

export class BenchLifecycle {
  readonly #children = new Set<ChildProcess>()
  readonly #removals: Array<() => Promise<void>> = []
  #released: Promise<void> | undefined
  #interrupted = false

  /** True once SIGINT or SIGTERM arrived: the failures that follow are our own doing, not news. */
  get interrupted (): boolean {
    return this.#interrupted
  }

  /** Every process this command starts goes through here (a TrackProcess), until it exits. */
  readonly track = (child: ChildProcess): void => {
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
  }

  /** Something to remove once every process has stopped (a temporary directory they use). */
  removeOnRelease (remove: () => Promise<void>): void {
    this.#removals.push(remove)
  }

  /** Stops every process, then removes what was registered; the same promise however often it is called. */
  release (): Promise<void> {
    this.#released ??= (async () => {
      await Promise.all([...this.#children].map(stopChild))
      for (const remove of this.#removals) await remove()
    })()
    return this.#released
  }

  /** SIGINT/SIGTERM release everything and exit 130; any exit kills the processes still running. */
  installSignalHandlers (progress: (message: string) => void): void {
    const interrupt = (): void => {
      this.#interrupted = true
      progress('interrupted: stopping the child servers')
      this.release().finally(() => process.exit(EXIT_INTERRUPTED))
    }
    process.once('SIGINT', interrupt)
    process.once('SIGTERM', interrupt)
    process.once('exit', () => this.#children.forEach(killNow))
  }

  /**
   * Runs a command to its exit code with the signal handlers installed, and releases everything however it
   * ends. A failure is one banner line (`NAME FAILED: ...`), except after an interrupt: the stopped children
   * make the run fail, and that is not news.
   */
  async runToExit (name: string, progress: (message: string) => void, command: () => Promise<number>): Promise<void> {
    this.installSignalHandlers(progress)
    try {
      process.exitCode = await command()
    } catch (error) {
      if (this.#interrupted) return
      process.stderr.write(`\n${name} FAILED: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    } finally {
      await this.release()
    }
  }
}
