/**
 * A launcher's own options end at the first positional (or `--`): what follows is the launched
 * app's or script's argv. `valueOptions` names the launcher options that take a separate value.
 */
export function splitLauncherArgv(argv: readonly string[], valueOptions: ReadonlySet<string>): { own: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === "--") return { own: argv.slice(0, i), rest: argv.slice(i + 1) };
    if (!a.startsWith("-")) break;
    const name = a.replace(/^--?/, "").split("=")[0]!;
    i += valueOptions.has(name) && !a.includes("=") ? 2 : 1;
  }
  return { own: argv.slice(0, i), rest: argv.slice(i) };
}
