import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const appsDir = fileURLToPath(new URL("../../apps", import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : name.endsWith(".ts") ? [p] : [];
  });
}

test("no line in apps/ is over 140 characters (the apps are what users read first; `npm run format` wraps most)", () => {
  const long: string[] = [];
  for (const file of tsFiles(appsDir)) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      if (line.length > 140) long.push(`${file.slice(appsDir.length - 4)}:${i + 1} (${line.length})`);
    });
  }
  assert.deepEqual(long, []);
});
