#!/usr/bin/env -S node --import tsx
// The carl command (bin/supervisor.ts). Nothing else here: tsx cannot parse a dynamic import() in
// a file that starts with a shebang.
import "./supervisor.ts"
