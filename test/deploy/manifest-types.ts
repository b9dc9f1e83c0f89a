// Unknown fields in Kubernetes manifests. The validators kubernetes-models ships (compiled
// from the Kubernetes OpenAPI) accept any extra key, so a typo such as `readinesProbe` would
// pass them, and a real API server would drop it with a warning at most. The same package
// ships TypeScript interfaces generated from the same OpenAPI; TypeScript's excess property
// check on an object literal rejects every key an interface does not declare, at any depth.
// So each manifest is type-checked, as a literal of its kind's interface, in memory with
// the TypeScript compiler API (about a second; nothing is written to disk).
import { join } from 'node:path'
import ts from 'typescript'

export interface TypedManifest {
  /** For messages: file and kind/name. */
  readonly label: string
  /** The module and interface of its kind: 'kubernetes-models/apps/v1/Deployment', 'IDeployment'. */
  readonly module: string
  readonly iface: string
  readonly doc: unknown
}

/** One message per TypeScript complaint ("label: message"); [] when every manifest fits its interface. */
export function typeCheckManifests(root: string, manifests: readonly TypedManifest[]): string[] {
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'],
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  }
  // Virtual files inside the repository, so `kubernetes-models` resolves from its node_modules.
  const files = new Map(manifests.map((m, i) => [join(root, 'test/deploy', `.manifest-${i}.ts`),
    `import type { ${m.iface} } from '${m.module}'\nexport const manifest: ${m.iface} = ${JSON.stringify(m.doc, null, 2)}\n`]))
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(name)
    return text === undefined ? getSourceFile(name, version, ...rest) : ts.createSourceFile(name, text, version)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => files.has(name) || fileExists(name)
  const readFile = host.readFile.bind(host)
  host.readFile = (name) => files.get(name) ?? readFile(name)
  const program = ts.createProgram([...files.keys()], options, host)
  const names = [...files.keys()]
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const i = d.file === undefined ? -1 : names.indexOf(d.file.fileName)
    const where = i >= 0 ? manifests[i]!.label : (d.file?.fileName ?? 'typescript')
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`
  })
}
