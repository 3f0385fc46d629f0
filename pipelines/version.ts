/** carl's version, from package.json: recorded in results files and head cards. */
import { readFileSync } from "node:fs"

export const CARL_VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { readonly version: string }).version
