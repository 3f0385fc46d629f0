/** The carl command line: pipelines/cli/main.ts, one module per command under pipelines/cli/. */
import "../pipelines/cli/main.ts"
