/**
 * Where the package's own files are, from sources (`src/…/*.ts` under tsx) and from the build
 * (`dist/src/…/*.js` under plain node) alike. Files that are not code (assets/, the apps' YAML
 * configs, the native addon) are never copied into dist/: they are found from the package root,
 * and code siblings are named by the running module's own extension.
 */
import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** `.ts` when this module runs from sources, `.js` when it runs compiled (dist/). */
export const MODULE_EXTENSION: ".ts" | ".js" = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** True when the code runs from the TypeScript sources (under a loader such as tsx). */
export const FROM_SOURCES = MODULE_EXTENSION === ".ts";

/** The package root: two levels above src/util/, three above dist/src/util/. */
export const PACKAGE_ROOT: string = fileURLToPath(new URL(FROM_SOURCES ? "../../" : "../../../", import.meta.url));

/** A path inside the package root (`packagePath("assets", "tiny-tokenizer")`). */
export function packagePath(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}

/**
 * The URL of a code module written as a `.ts` path relative to `moduleUrl`, with the extension
 * `moduleUrl` itself has: `.ts` next to sources, `.js` next to compiled files. For computed
 * dynamic imports, which the compiler's `.ts` → `.js` rewriting does not reach.
 */
export function siblingModule(relativeTsPath: string, moduleUrl: string): URL {
  if (!relativeTsPath.endsWith(".ts")) throw new TypeError(`siblingModule: relativeTsPath must end with .ts; got '${relativeTsPath}'`);
  const path = moduleUrl.endsWith(".ts") ? relativeTsPath : `${relativeTsPath.slice(0, -3)}.js`;
  return new URL(path, moduleUrl);
}

/**
 * A path as the user wrote it, relative to the working directory; when nothing exists there and
 * the path is relative, the copy the package ships (`assets/default-model`,
 * `apps/grpo/qwen3_1_7b.yaml`), so an installed package's default configs work from any folder.
 * Returns the working-directory path when neither exists (errors then name what the user typed).
 */
export function resolveShipped(path: string): string {
  const local = resolve(path);
  if (existsSync(local) || isAbsolute(path)) return local;
  const shipped = packagePath(path);
  return existsSync(shipped) ? shipped : local;
}
