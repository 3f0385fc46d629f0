/** `carl info`: versions, backend and why, threads, caches. */
import type { Argv } from "yargs"
import { Backend } from "../../plugins/backends/index.ts"
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, totalmem } from "node:os"
import * as tf from "@tensorflow/tfjs"
import { Console, Effect } from "effect"
import { dataCacheDir } from "../../plugins/data/fetch/index.ts"
import { hubSettings } from "../../plugins/encoders/hub/index.ts"
import { runCommand, type GlobalOptions } from "./command.ts"

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  readonly version: string
  readonly dependencies: Readonly<Record<string, string>>
}

const info = Effect.gen(function* () {
  const backend = yield* Backend
  const lines = [
    `carl ${packageJson.version}`,
    `node ${process.version} (${process.platform}-${process.arch}); ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown cpu"}); ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `tfjs ${tf.version.tfjs}; effect ${packageJson.dependencies["effect"] ?? "?"}`,
    `backend: ${backend.reason}`,
    `threads: ${backend.threads}`,
    ...backend.attempts.map((attempt) => `  ${attempt.ok ? "ok  " : "no  "} ${attempt.backend} via ${attempt.via}: ${attempt.detail}`),
    `caches: data ${dataCacheDir()}; models ${hubSettings().cacheDir}`
  ]
  yield* Console.log(lines.join("\n"))
})



export const infoCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "info",
      "print versions, the backend carl would use and why, and threads",
      (command) => command.example("$0 info --backend wasm", "what the wasm backend reports"),
      async (argv) => {
        await runCommand(info.pipe(Effect.provide(Backend.layer(argv.backend))))
      }
    )
