/** The evaluation report: `renderReport` (pure) and `writeReport` (file to file). */
export { renderReport } from "./render-report.ts"
export { writeReport } from "./write-report.ts"
export {
  decodeResults,
  EvalResultsSchema,
  parseResults,
  ResultsFileError,
  type EvalResults,
  type ModelResults,
  type PcaPoint,
  type PcaResults,
  type TaskResults
} from "./results-schema.ts"
