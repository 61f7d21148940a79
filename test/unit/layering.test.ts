// The folder layout is the architecture, and a layer never imports a higher one. Lowest first:
//
//   generated/   the Prisma client (generated code, imports nothing of ours)
//   lib/         config, failures, redaction, scheduling rules, metric definitions, infrastructure
//   sources/     the source library: kit/ (mechanisms), specs/ (one per source), the registry
//   activities/  the activities
//   workflows/   deterministic business processes
//   operations/  Temporal client code, operator tooling, the monitoring job
//   api/         the HTTP read API (over the activities' read query layer)
//   workers/, scripts/   entry points (not checked here: they may import anything below them)
//
// What each checked folder's relative imports may name (every .ts file under it, `import` and
// `export ... from`, side-effect imports, dynamic `import()`, `require()`, `require.resolve()`,
// `import x = require()` and `typeof import()`):
//
//   lib/         lib/, and generated/ (only lib/db.ts does: everyone else reaches Prisma through it)
//   sources/     lib/, sources/
//   activities/  lib/, sources/, activities/
//   workflows/   lib/, workflows/; activities/ and sources/ only as an `import type` (or `export type`)
//                statement, which is erased, so no activity or source code can enter the workflow bundle.
//                Inline `import { type X }` does not count: under other compiler settings it keeps the import.
//   operations/  lib/, sources/, activities/, workflows/, operations/
//   api/         lib/, activities/, api/
//
// prisma/ (schema, migrations, migrator, catalog) is imported today only by the entry points and the tests,
// so no checked folder may import it (nor catalog/, which replaces prisma/catalog.ts). Nothing checked may
// import workers/, scripts/ or test/. Package imports (bare specifiers) are not this test's business.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

/** Lowest first; a name later in the list is a higher layer than one before it. */
const ORDER = ['generated', 'lib', 'sources', 'activities', 'workflows', 'operations', 'api', 'workers', 'scripts'];

interface Rule {
  /** Folders whose code (values and types) this layer may import. */
  imports: string[];
  /** Folders this layer may import types from, with an `import type` statement only. */
  typesFrom?: string[];
}

const RULES: Record<string, Rule> = {
  lib: { imports: ['lib', 'generated'] },
  sources: { imports: ['lib', 'sources'] },
  activities: { imports: ['lib', 'sources', 'activities'] },
  workflows: { imports: ['lib', 'workflows'], typesFrom: ['activities', 'sources'] },
  operations: { imports: ['lib', 'sources', 'activities', 'workflows', 'operations'] },
  api: { imports: ['lib', 'activities', 'api'] },
};

interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** Every module specifier the source names, with whether the reference is erased at compile time. */
function importsOf(file: string, text = fs.readFileSync(file, 'utf8')): ImportRef[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const add = (node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return;
    refs.push({ specifier: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node)) {
      add(node, node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(node, arg.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const named =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require') ||
        (ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          callee.expression.text === 'require' &&
          callee.name.text === 'resolve');
      if (named) add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return refs;
}

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.isFile() && e.name.endsWith('.ts') ? [full] : [];
  });
}

/** `file: imports X (why not)` for each relative import of `file` (in `layer`) its rule does not allow. */
function violationsOf(layer: string, file: string, refs: ImportRef[]): string[] {
  const rule = RULES[layer]!;
  const rel = path.relative(ROOT, file);
  const found: string[] = [];
  for (const ref of refs) {
    if (!ref.specifier.startsWith('.')) continue;
    const target = path.relative(ROOT, path.resolve(path.dirname(file), ref.specifier));
    const top = target.split(path.sep)[0]!;
    if (rule.imports.includes(top)) continue;
    if (rule.typesFrom?.includes(top) && ref.typeOnly) continue;
    const why = rule.typesFrom?.includes(top)
      ? `${top}/, allowed only as \`import type\``
      : ORDER.indexOf(top) > ORDER.indexOf(layer)
        ? 'a higher layer'
        : `not a layer ${layer}/ may import`;
    found.push(`${rel}:${ref.line}: imports ${target} (${why})`);
  }
  return found;
}

test('every layer imports only the layers below it', () => {
  const found = Object.keys(RULES).flatMap((layer) =>
    tsFiles(path.join(ROOT, layer)).flatMap((file) => violationsOf(layer, file, importsOf(file))),
  );
  assert.ok(tsFiles(path.join(ROOT, 'workflows')).length > 0, 'no files found: wrong root?');
  assert.deepEqual(found, [], `layering violations:\n  ${found.join('\n  ')}`);
});

test('the check reads every form of import and applies the rule', () => {
  // Source text only, never written to the tree: the rule is tested without a real violation in the layout.
  const text = [
    "import { a } from '../../workflows/ids';",
    "import type { B } from '../../activities';",
    "import { type C } from '../../sources';",
    "export { d } from '../../operations/temporal/schedules';",
    "import '../../workers/v8-flags';",
    "const e = () => import('../../scripts/tedi');",
    "const f = require.resolve('../../prisma/catalog');",
    "type G = typeof import('../../activities');",
    "import { h } from '../config';",
    "import { i } from '@temporalio/client';",
    "import { j } from '../../test/helpers/wait';",
  ].join('\n');
  const inLib = path.join(ROOT, 'lib', 'infra', 'fixture.ts');
  assert.deepEqual(violationsOf('lib', inLib, importsOf(inLib, text)), [
    'lib/infra/fixture.ts:1: imports workflows/ids (a higher layer)',
    'lib/infra/fixture.ts:2: imports activities (a higher layer)',
    'lib/infra/fixture.ts:3: imports sources (a higher layer)',
    'lib/infra/fixture.ts:4: imports operations/temporal/schedules (a higher layer)',
    'lib/infra/fixture.ts:5: imports workers/v8-flags (a higher layer)',
    'lib/infra/fixture.ts:6: imports scripts/tedi (a higher layer)',
    'lib/infra/fixture.ts:7: imports prisma/catalog (not a layer lib/ may import)',
    'lib/infra/fixture.ts:8: imports activities (a higher layer)',
    'lib/infra/fixture.ts:11: imports test/helpers/wait (not a layer lib/ may import)',
  ]);
  const inWorkflows = path.join(ROOT, 'workflows', 'fixture.ts');
  assert.deepEqual(violationsOf('workflows', inWorkflows, importsOf(inWorkflows, text.replaceAll('../../', '../'))), [
    'workflows/fixture.ts:3: imports sources (sources/, allowed only as `import type`)',
    'workflows/fixture.ts:4: imports operations/temporal/schedules (a higher layer)',
    'workflows/fixture.ts:5: imports workers/v8-flags (a higher layer)',
    'workflows/fixture.ts:6: imports scripts/tedi (a higher layer)',
    'workflows/fixture.ts:7: imports prisma/catalog (not a layer workflows/ may import)',
    'workflows/fixture.ts:9: imports config (not a layer workflows/ may import)',
    'workflows/fixture.ts:11: imports test/helpers/wait (not a layer workflows/ may import)',
  ]);
});
