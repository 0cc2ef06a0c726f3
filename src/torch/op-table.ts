/**
 * The addon and src/torch/op-codes.ts both take their integer codes from native/src/op-table.h,
 * but an addon built from another version of that table would run the wrong op for a code
 * without any error. native.ts checks the loaded addon's opTable() against these codes once.
 */
import { OP_FAMILIES } from "./op-codes.ts";

export type OpFamily = keyof typeof OP_FAMILIES;

/** An addon whose op table differs from the TypeScript codes (or that has none). */
export class OpTableMismatchError extends Error {
  override name = "OpTableMismatchError";
}

/** Each family's names in code order: what the addon's opTable() returns when both sides agree. */
export function expectedOpTable(): Record<OpFamily, string[]> {
  const table = {} as Record<OpFamily, string[]>;
  for (const [family, codes] of Object.entries(OP_FAMILIES) as [OpFamily, (typeof OP_FAMILIES)[OpFamily]][]) {
    if (Array.isArray(codes)) {
      table[family] = [...codes];
      continue;
    }
    const names: string[] = [];
    for (const [name, code] of Object.entries(codes)) names[code] = name;
    table[family] = names;
  }
  return table;
}

/** How an addon's opTable() differs from the TypeScript codes, one line per difference; empty when they agree. */
export function opTableMismatches(addonTable: unknown): string[] {
  if (addonTable === undefined) return ["the addon exports no opTable() (it predates native/src/op-table.h)"];
  if (typeof addonTable !== "object" || addonTable === null) return [`opTable() returned ${String(addonTable)}, not an object`];
  const given = addonTable as Record<string, unknown>;
  const expected = expectedOpTable();
  const out: string[] = [];
  for (const key of Object.keys(given)) {
    if (!(key in expected)) out.push(`family '${key}' exists only in the addon`);
  }
  for (const [family, names] of Object.entries(expected)) {
    const native = given[family];
    if (!Array.isArray(native)) {
      out.push(`family '${family}' is missing from the addon`);
      continue;
    }
    for (let code = 0; code < Math.max(names.length, native.length); code++) {
      if (native[code] !== names[code]) {
        out.push(`${family} code ${code} is ${JSON.stringify(native[code])} in the addon, ${JSON.stringify(names[code])} in TypeScript`);
      }
    }
  }
  return out;
}

/** Throws OpTableMismatchError naming the differences when `addonTable` disagrees with the TypeScript codes. */
export function checkOpTable(addonTable: unknown, addonPath: string): void {
  const mismatches = opTableMismatches(addonTable);
  if (mismatches.length === 0) return;
  const shown = mismatches.slice(0, 5).join("; ") + (mismatches.length > 5 ? `; and ${mismatches.length - 5} more` : "");
  throw new OpTableMismatchError(
    `native addon ${addonPath} was built from another native/src/op-table.h than src/torch/op-codes.ts: ${shown}. ` +
      "Rebuild the addon (bash scripts/setup.sh, or npm run build:native), and run `npm run gen:op-codes` if op-table.h changed.",
  );
}
