/**
 * The import graph of the sources, and the two checks the architecture test runs over it: import
 * cycles between files, and imports that go up (or sideways) in the layer table. Parsing uses the
 * TypeScript compiler's parser, so comments, strings and template literals are never mistaken for
 * imports.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** One `import … from "x"`, `export … from "x"`, `import "x"` or `import("x")` with a literal. */
export interface ImportSite {
  specifier: string;
  /** Erased at run time: `import type`, `export type`, or every named binding marked `type`. */
  typeOnly: boolean;
  dynamic: boolean;
  /** 1-based. */
  line: number;
}

export interface ImportEdge extends ImportSite {
  /** Importing file, relative to the root, with forward slashes. */
  from: string;
  /** Imported file relative to the root for relative (and self-package) specifiers; the bare specifier for packages. */
  to: string;
  /** A package (node builtin or dependency), not one of our files. */
  external: boolean;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

/** Every import site of one source text. */
export function parseImports(fileName: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const sites: ImportSite[] = [];
  const lineOf = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const allNamedAreTypes =
        clause !== undefined && clause.name === undefined && bindings !== undefined && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
      sites.push({ specifier: node.moduleSpecifier.text, typeOnly: clause?.isTypeOnly === true || allNamedAreTypes, dynamic: false, line: lineOf(node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.exportClause;
      const allNamedAreTypes = clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
      sites.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allNamedAreTypes, dynamic: false, line: lineOf(node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      sites.push({ specifier: node.moduleReference.expression.text, typeOnly: node.isTypeOnly, dynamic: false, line: lineOf(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      // A computed path (a registry of entry points, a module named in config) is a run-time lookup, not an edge.
      if (arg !== undefined && ts.isStringLiteralLike(arg)) sites.push({ specifier: arg.text, typeOnly: false, dynamic: true, line: lineOf(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      sites.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

function listTsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return []; // a folder that does not exist yet has no files
  }
  const out: string[] = [];
  for (const name of names) {
    if (name === "node_modules") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTsFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const toPosix = (p: string) => p.split(sep).join(posix.sep);

/**
 * Maps `torchforge/x` (the package importing itself) to the source file its `exports` entry is
 * built from: `{ types, default: "./dist/src/x/index.js" }` → `./src/x/index.ts`.
 */
function selfExports(root: string): { name: string; exports: Record<string, string> } {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; exports?: Record<string, unknown> };
  const exports: Record<string, string> = {};
  for (const [key, target] of Object.entries(pkg.exports ?? {})) {
    const built = typeof target === "string" ? target : (target as { default?: unknown }).default;
    if (typeof built === "string") exports[key] = built.replace(/^\.\/dist\//, "./").replace(/\.js$/, ".ts");
  }
  return { name: pkg.name, exports };
}

/** Reads every `.ts` file under `dirs` (relative to `root`) and resolves its imports. */
export function readImportGraph(root: string, dirs: readonly string[]): ImportGraph {
  const self = selfExports(root);
  const files = dirs.flatMap((d) => listTsFiles(join(root, d))).map((f) => toPosix(relative(root, f)));
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const site of parseImports(from, readFileSync(join(root, from), "utf8"))) {
      const spec = site.specifier;
      let to: string;
      let external = false;
      if (spec.startsWith(".")) {
        to = toPosix(relative(root, resolve(root, dirname(from), spec)));
      } else if (spec === self.name || spec.startsWith(`${self.name}/`)) {
        const target = self.exports[`.${spec.slice(self.name.length)}`];
        to = target !== undefined ? posix.normalize(target) : spec;
        external = target === undefined;
      } else {
        to = spec;
        external = true;
      }
      edges.push({ ...site, from, to, external });
    }
  }
  return { files, edges };
}

/** One circle of imports. */
export interface ImportCycle {
  /** A shortest closed path through it, `[a, b, …, a]`. */
  path: string[];
  /** Every file of the strongly connected set (sorted): all of them sit on some circle. */
  members: string[];
}

/**
 * Every import circle between files, one per strongly connected set (Tarjan). Type-only imports
 * count: a circle of types is a circle of ideas, and it turns into a run-time one with the first
 * value import.
 */
export function findCycles(files: readonly string[], edges: ReadonlyArray<{ from: string; to: string; external?: boolean }>): ImportCycle[] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) {
    if (e.external || !next.has(e.to)) continue;
    next.get(e.from)?.push(e.to);
  }
  // Tarjan's algorithm, iterative so deep chains cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = next.get(frame.node)!;
      if (frame.i < succ.length) {
        const w = succ[frame.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        const selfLoop = component.length === 1 && succ.includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }
  return components.map((members) => ({ path: shortestCycle(members[0]!, new Set(members), next), members }));
}

/** Breadth-first from `start` back to itself, inside one strongly connected set. */
function shortestCycle(start: string, members: ReadonlySet<string>, next: ReadonlyMap<string, string[]>): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const w of next.get(node) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = parent.get(at)) path.push(at);
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!parent.has(w)) {
        parent.set(w, node);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** What one layer (a folder such as `src/actors`) may import. */
export interface LayerRule {
  /** Folders it may import from (its own folder is always allowed). */
  mayImport: readonly string[];
  /** Folders it may import types from, but no values. */
  mayImportTypes?: readonly string[];
  /** Packages (exact specifiers, e.g. `node:child_process`) it must not import. */
  forbiddenPackages?: readonly string[];
}

/** `src/actors/mesh.ts` → `src/actors`; `apps/grpo/main.ts` → `apps/grpo`; anything else → its top folder. */
export function layerOf(file: string): string {
  const parts = file.split("/");
  if ((parts[0] === "src" || parts[0] === "apps") && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0]!;
}

/** The rule for a layer: its own row, else a `dir/*` row (e.g. `apps/*` for every app). */
function ruleFor(layer: string, rules: Readonly<Record<string, LayerRule>>): LayerRule | undefined {
  return rules[layer] ?? rules[`${layer.split("/")[0]}/*`];
}

/** One line per import that the layer table does not allow, naming the file, line, target and rule. */
export function layerViolations(graph: ImportGraph, rules: Readonly<Record<string, LayerRule>>): string[] {
  const out: string[] = [];
  const unknown = new Set<string>();
  for (const file of graph.files) {
    const layer = layerOf(file);
    if (ruleFor(layer, rules) === undefined && !unknown.has(layer)) {
      unknown.add(layer);
      out.push(`${file}: folder ${layer} has no row in the layer table; add one that says what it may import`);
    }
  }
  for (const e of graph.edges) {
    const layer = layerOf(e.from);
    const rule = ruleFor(layer, rules);
    if (rule === undefined) continue;
    const where = `${e.from}:${e.line}`;
    if (e.external) {
      if (rule.forbiddenPackages?.includes(e.to)) out.push(`${where} imports package ${e.to}, which ${layer} must not use`);
      continue;
    }
    const target = layerOf(e.to);
    if (target === layer) continue;
    if (rule.mayImport.includes(target)) continue;
    if (e.typeOnly && rule.mayImportTypes?.includes(target)) continue;
    const allowed = [...rule.mayImport, ...(rule.mayImportTypes ?? []).map((t) => `${t} (types only)`)];
    const typesNote = rule.mayImportTypes?.includes(target) ? " (a value import; only `import type` is allowed there)" : "";
    out.push(`${where} imports ${e.to} ("${e.specifier}")${typesNote}: ${layer} may import only ${allowed.length > 0 ? allowed.join(", ") : "nothing outside itself"}`);
  }
  return out;
}
