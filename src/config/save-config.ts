/** Writes the resolved config next to a run, atomically, so a crash never leaves half a file. */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { stringify } from "yaml";

/** Serialises `config` as YAML to `path` via a temp file in the same directory + rename. */
export function saveConfig(path: string, config: unknown, { header }: { header?: string } = {}): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const comment = header ? header.split("\n").map((l) => `# ${l}`).join("\n") + "\n" : "";
  try {
    writeFileSync(tmp, comment + stringify(config, { lineWidth: 0 }));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
