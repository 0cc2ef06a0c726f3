/** Run a module's `main` when that module is the script node was started with (the CLI and the apps share this). */
import { fileURLToPath } from "node:url";

/** Calls `main(argv)` and exits with its code when `moduleUrl` is the file node was started with. */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (!process.argv[1] || fileURLToPath(moduleUrl) !== process.argv[1]) return;
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  });
}
