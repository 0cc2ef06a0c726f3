// A node:test reporter that writes one JSON line per skipped test or suite ({ file, name, reason });
// scripts/run-tests.mjs prints them and, under CI, fails on a skip scripts/ci-skips.json does not allow.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { skip, file, name } = event.data;
    if (skip === undefined || skip === false) continue;
    yield JSON.stringify({ file: file ?? "", name, reason: typeof skip === "string" ? skip : "" }) + "\n";
  }
}
