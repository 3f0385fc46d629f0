/** `carl eval --report`: results file in, report page out, written whole or not at all. */
import { Effect } from "effect"
import { writeFileAtomic } from "../../core/atomic-file.ts"
import { readUtf8, TextFileError } from "../../core/text-file.ts"
import { renderReport } from "./render-report.ts"
import { parseResults } from "./results-schema.ts"

export const writeReport = Effect.fn("writeReport")(function* (resultsPath: string, reportPath: string) {
  const text = yield* readUtf8(resultsPath)
  const results = yield* parseResults(text, resultsPath)
  const page = renderReport(results)
  yield* Effect.tryPromise({
    try: () => writeFileAtomic(reportPath, page),
    catch: (error) =>
      new TextFileError({ file: reportPath, problem: `cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})` })
  })
})
