// Runs $PY $PY_SCRIPT as this rank (the rank launcher starts Node scripts; this hands the rank's
// environment, torchrun's variables included, to a Python process and mirrors its exit).
import { spawnSync } from "node:child_process";
const r = spawnSync(process.env.PY ?? "python3", [process.env.PY_SCRIPT], { stdio: "inherit" });
process.exit(r.status ?? 1);
