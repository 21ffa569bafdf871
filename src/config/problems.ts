/** One thing wrong with a services.json, located by its JSON path (e.g. `services[1].prefix`). */
export interface ConfigProblem {
  readonly path: string
  readonly message: string
  readonly hint?: string
}

/** JSON path of a location given as a list of keys and indexes: ['services', 1, 'prefix'] → services[1].prefix */
export function jsonPath (segments: ReadonlyArray<string | number>): string {
  let path = ''
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`
    else path += `[${JSON.stringify(segment)}]`
  }
  return path === '' ? '(root)' : path
}

export function formatProblems (problems: readonly ConfigProblem[]): string {
  return problems
    .map((problem) => `  - ${problem.path}: ${problem.message}${problem.hint ? ` (${problem.hint})` : ''}`)
    .join('\n')
}
