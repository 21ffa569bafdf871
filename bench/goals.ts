/**
 * The issues' performance targets, checked on one run's summaries: each row names its target, what was
 * measured, the goal and PASS/FAIL. A goal whose targets did not run is left out. A FAIL does not fail the
 * run (a busy machine can miss a goal); only failed requests do.
 */
import { BODY_NAMES, TARGET_NAMES, type BodyName, type TargetName } from './measure.js'
import type { CellSummary, SummaryTable } from './report.js'

export const MB = 1024 * 1024
/** Issue 6: the most a Gatehouse process may hold resident, in the bench and in the soak. */
export const RSS_LIMIT_MB = 120

type Comparison = '≥' | '>' | '≤'

interface Goal {
  readonly issue: number
  readonly target: TargetName
  readonly body: BodyName
  /** Without `reference`: an absolute CPU µs/req; with it: the req/s ratio target / reference. */
  readonly reference?: TargetName
  readonly comparison: Comparison
  readonly limit: number
}

export interface GoalResult {
  readonly issue: number
  readonly target: TargetName
  readonly check: string
  readonly value: string
  readonly goal: string
  readonly pass: boolean
}

const RATIO_AND_CPU_GOALS: readonly Goal[] = [
  { issue: 4, target: 'gatehouse-gzip', body: 'small', reference: 'gatehouse-plain', comparison: '≥', limit: 0.95 },
  { issue: 4, target: 'gatehouse-cached', body: 'small', reference: 'gatehouse-quiet', comparison: '≥', limit: 3 },
  { issue: 4, target: 'gatehouse-cached-gzip', body: 'large', reference: 'gatehouse-quiet', comparison: '>', limit: 1 },
  ...BODY_NAMES.map((body): Goal => ({ issue: 5, target: 'gatehouse-pool', body, reference: 'gatehouse-quiet', comparison: '≥', limit: 0.95 })),
  { issue: 6, target: 'gatehouse-full', body: 'small', reference: 'baseline', comparison: '≥', limit: 1 },
  { issue: 6, target: 'gatehouse-full', body: 'small', comparison: '≤', limit: 170 },
  { issue: 6, target: 'gatehouse-cached', body: 'small', reference: 'nginx-cache', comparison: '≥', limit: 0.5 },
  { issue: 6, target: 'gatehouse-cached', body: 'small', comparison: '≤', limit: 80 }
]

export function evaluateGoals (summaries: SummaryTable): GoalResult[] {
  const ratioAndCpu = RATIO_AND_CPU_GOALS.flatMap((goal) => {
    const cell = summaries[goal.body][goal.target]
    if (cell === undefined) return []
    if (goal.reference === undefined) {
      return [result(goal, `CPU µs/req, ${goal.body}`, cell.cpuMicrosPerRequest, cell.cpuMicrosPerRequest.toFixed(1), String(goal.limit))]
    }
    const reference = summaries[goal.body][goal.reference]
    if (reference === undefined) return []
    const ratio = cell.rpsMedian / reference.rpsMedian
    return [result(goal, `req/s ÷ ${goal.reference}, ${goal.body}`, ratio, `${ratio.toFixed(2)}×`, `${goal.limit.toFixed(2)}×`)]
  })
  return [...ratioAndCpu, ...rssGoals(summaries)]
}

/** Issue 6: the peak RSS of every Gatehouse target over both bodies and all rounds. */
function rssGoals (summaries: SummaryTable): GoalResult[] {
  return TARGET_NAMES.filter((target) => target.startsWith('gatehouse')).flatMap((target) => {
    const cells = BODY_NAMES.map((body) => summaries[body][target]).filter((cell): cell is CellSummary => cell !== undefined)
    if (cells.length === 0) return []
    const peakMb = Math.max(...cells.map((cell) => cell.peakRssBytes)) / MB
    return [result({ issue: 6, target, comparison: '≤', limit: RSS_LIMIT_MB }, 'peak RSS MB, both bodies', peakMb, peakMb.toFixed(1), `${RSS_LIMIT_MB}`)]
  })
}

function result (goal: Pick<Goal, 'issue' | 'target' | 'comparison' | 'limit'>, check: string, value: number, shown: string, limit: string): GoalResult {
  return { issue: goal.issue, target: goal.target, check, value: shown, goal: `${goal.comparison} ${limit}`, pass: meets(value, goal.comparison, goal.limit) }
}

function meets (value: number, comparison: Comparison, limit: number): boolean {
  if (!Number.isFinite(value)) return false
  if (comparison === '≥') return value >= limit
  if (comparison === '>') return value > limit
  return value <= limit
}

export function renderGoals (results: readonly GoalResult[]): string[] {
  if (results.length === 0) return []
  return [
    '## Performance goals',
    '',
    'Issues 4, 5 and 6, from this run: req/s ratios and CPU are medians of rounds, RSS the peak. A FAIL is reported, not fatal.',
    '',
    '| issue | target | check | value | goal | verdict |',
    '|---|---|---|---:|---:|---|',
    ...results.map((r) => `| ${r.issue} | ${r.target} | ${r.check} | ${r.value} | ${r.goal} | ${r.pass ? 'PASS' : '**FAIL**'} |`),
    ''
  ]
}
