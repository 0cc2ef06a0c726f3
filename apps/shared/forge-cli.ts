/** The `forge` command's module (`.ts` from sources, `.js` from dist/): what each rank of an app runs. */
import { fileURLToPath } from "node:url";
import { siblingModule } from "../../src/util/package-root.ts";

export const FORGE_CLI = fileURLToPath(siblingModule("../../src/cli/forge.ts", import.meta.url));
