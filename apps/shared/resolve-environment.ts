/**
 * `environment.name` → a fresh environment per episode: a built-in (`calculator-arithmetic`) or a
 * user module `path/to/env.ts#Export` exporting an `Environment` class (constructed with
 * `environment.options` for each episode) or a function `(options) => Environment` (called once
 * per episode).
 */
import { builtinEnvironment, isBuiltinEnvironment, type Environment } from "../../src/envs/index.ts";
import { importUserExport } from "./resolve-rewards.ts";

export async function resolveEnvironment(name: string, options: Record<string, unknown>): Promise<() => Environment<unknown>> {
  if (isBuiltinEnvironment(name)) return builtinEnvironment(name, options) as () => Environment<unknown>;
  if (!(name.includes(".ts") || name.includes(".js") || name.includes("#"))) {
    builtinEnvironment(name); // throws the error listing the built-ins
  }
  const exported = await importUserExport(name, "environment");
  if (typeof exported !== "function")
    throw new TypeError(`environment '${name}' must export an Environment class or a function (options) => Environment`);
  const isClass = /^class\s/.test(Function.prototype.toString.call(exported));
  return () => {
    const env = isClass
      ? new (exported as new (o: unknown) => Environment<unknown>)(options)
      : (exported as (o: unknown) => Environment<unknown>)(options);
    if (!env || typeof (env as Environment<unknown>).reset !== "function" || typeof (env as Environment<unknown>).step !== "function") {
      throw new TypeError(
        `environment '${name}' produced ${typeof env === "object" ? "an object" : typeof env} ` +
          "without reset(task) and step(message) methods",
      );
    }
    return env;
  };
}
