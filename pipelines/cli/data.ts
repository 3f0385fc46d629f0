/** `carl data`: the public corpora into the data cache. */
import type { Argv } from "yargs"
import { dataFetchCommand, dataPathCommand, DATASET_NAMES } from "../../plugins/data/fetch/index.ts"
import { runCommand, type GlobalOptions } from "./command.ts"

export const dataCli = (cli: Argv<GlobalOptions>) =>
  cli
    .command(
      "data",
      "download the public corpora into the data cache, in the layout the data readers read",
      (command) =>
        command
          .command(
            "fetch <names..>",
            `download datasets (${DATASET_NAMES.join(", ")}) into the cache; prints their folders`,
            (fetch) =>
              fetch
                .positional("names", { type: "string", array: true, demandOption: true, describe: "dataset names" })
                .option("data-dir", { type: "string", describe: "the cache (default: $CARL_DATA_DIR, else $XDG_CACHE_HOME/carl/data or ~/.cache/carl/data)" })
                .option("offline", { type: "boolean", default: false, describe: "only check that the cache is complete" })
                .option("force", { type: "boolean", default: false, describe: "download again what is in the cache" })
                .example("$0 data fetch emobank", "EmoBank into ~/.cache/carl/data/emobank/emobank.csv")
                .example("$0 train --data \"$($0 data fetch emobank)/emobank.csv\"", "train on it"),
            async (argv) => {
              const options = {
                ...(argv["data-dir"] === undefined ? {} : { cacheDir: argv["data-dir"] }),
                offline: argv.offline,
                force: argv.force
              }
              await runCommand(dataFetchCommand(argv.names, options))
            }
          )
          .command(
            "path [names..]",
            "print the data cache folder, or the named datasets' folders in it",
            (path) =>
              path
                .positional("names", { type: "string", array: true, default: [] as Array<string>, describe: "dataset names" })
                .option("data-dir", { type: "string", describe: "the cache (default: $CARL_DATA_DIR, else ~/.cache/carl/data)" }),
            async (argv) => {
              await runCommand(dataPathCommand(argv.names, argv["data-dir"] === undefined ? {} : { cacheDir: argv["data-dir"] }))
            }
          )
          .demandCommand(1, "name a data command: fetch or path"),
      () => undefined
    )
