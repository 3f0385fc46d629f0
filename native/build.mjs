#!/usr/bin/env node
// Builds carl's native kernels (an N-API addon on OpenBLAS) at `npm install`, for this machine's
// CPU. Without a C compiler, Node's headers or OpenBLAS it says why and exits 0: the install
// succeeds and carl uses the wasm backend. CARL_NATIVE=0 skips the build.
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, "build", "carl_kernels.node")
const say = (message) => process.stdout.write(`carl native kernels: ${message}\n`)

if (process.env.CARL_NATIVE === "0") {
  say("skipped (CARL_NATIVE=0); carl will use the wasm backend")
  process.exit(0)
}
const includeDir = join(dirname(process.execPath), "..", "include", "node")
if (!existsSync(join(includeDir, "node_api.h"))) {
  say(`not built: Node's headers are not at ${includeDir}; carl will use the wasm backend`)
  process.exit(0)
}
const cc = process.env.CC ?? "cc"
const build = join(here, "build")
mkdirSync(build, { recursive: true })
const temp = `${out}.tmp-${process.pid}`
const common = ["-O3", "-march=native", "-fPIC", "-Wall", "-Wno-unused-parameter"]
try {
  const vectorObject = join(build, `carl_vector_math.${process.pid}.o`)
  execFileSync(cc, [...common, "-ffast-math", "-fopenmp-simd", "-c", join(here, "carl_vector_math.c"), "-o", vectorObject], { stdio: "pipe" })
  // Weight updates must round as tfjs's separate ops do: no fused multiply-adds.
  const updatesObject = join(build, `carl_updates.${process.pid}.o`)
  execFileSync(cc, [...common, "-ffp-contract=off", "-c", join(here, "carl_updates.c"), "-o", updatesObject], { stdio: "pipe" })
  // The probes' float64 products keep the JavaScript loops' order and roundings: no fused multiply-adds.
  const probeObject = join(build, `carl_probe_math.${process.pid}.o`)
  execFileSync(cc, [...common, "-ffp-contract=off", "-c", join(here, "carl_probe_math.c"), "-o", probeObject], { stdio: "pipe" })
  execFileSync(
    cc,
    [...common, "-shared", "-DNODE_GYP_MODULE_NAME=carl_kernels", `-I${includeDir}`, join(here, "carl_kernels.c"), vectorObject, updatesObject, probeObject, "-o", temp, "-pthread", "-lopenblas", "-lmvec", "-lm"],
    { stdio: "pipe" }
  )
  rmSync(vectorObject, { force: true })
  rmSync(updatesObject, { force: true })
  rmSync(probeObject, { force: true })
  renameSync(temp, out)
  say(`built ${out}`)
} catch (error) {
  rmSync(temp, { force: true })
  const detail = error.stderr?.toString().trim() || error.message
  const stderr = detail.split("\n").slice(-1)[0]
  say(`not built (${cc}: ${stderr}); carl will use the wasm backend. On Debian: apt-get install build-essential libopenblas-dev`)
}
