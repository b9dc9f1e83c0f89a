// deploy/kubernetes/: every manifest parses (the `yaml` package) and validates against the
// Kubernetes OpenAPI schemas, through the ajv-compiled validators the `kubernetes-models`
// npm package ships (no cluster, no network): types, formats, required fields. Unknown
// fields (a typo) are caught by type-checking each manifest against the same package's
// generated interfaces (manifest-types.ts). Then what matters to switchyard is asserted:
// probes on the real admin endpoints and port of the ConfigMap's config, a grace period
// longer than preStop + shutdown_timeout, a non-root read-only container matching the
// Dockerfile, selectors that select the pods. The ConfigMap's config passes the real
// `switchyard check`, and the daemon run on it (ports and servers swapped for local ones)
// answers the probes' paths.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments, stringify } from 'yaml'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Service } from 'kubernetes-models/v1/Service'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { runCli, writeConfig } from '../helpers/daemon.js'
import { typeCheckManifests, type TypedManifest } from './manifest-types.js'
import { closeAfterEach } from '../helpers/scope.js'
import { request } from '../helpers/client.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIR = join(ROOT, 'deploy/kubernetes')

type Obj = Record<string, unknown>
interface Manifest { file: string; doc: Obj & { apiVersion: string; kind: string; metadata: { name: string } } }

/** One validating model class per apiVersion/kind the manifests use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
}

/** The generated TypeScript interface of each kind (the unknown-field check). */
const TYPES: Record<string, { module: string; iface: string }> = {
  'apps/v1/Deployment': { module: 'kubernetes-models/apps/v1/Deployment', iface: 'IDeployment' },
  'v1/ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', iface: 'IConfigMap' },
  'v1/Service': { module: 'kubernetes-models/v1/Service', iface: 'IService' },
  'policy/v1/PodDisruptionBudget': { module: 'kubernetes-models/policy/v1/PodDisruptionBudget', iface: 'IPodDisruptionBudget' },
}
const typed = (label: string, doc: Manifest['doc']): TypedManifest => ({ label, doc, ...TYPES[`${doc.apiVersion}/${doc.kind}`]! })

const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { apiVersion: string; kind: string; resources: string[] }
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    expect(d.errors, `${file}: YAML errors`).toEqual([])
    return { file, doc: d.toJS() as Manifest['doc'] }
  }))
const one = (kind: string, name: string): Manifest['doc'] => {
  const m = manifests.find((x) => x.doc.kind === kind && x.doc.metadata.name === name)
  if (m === undefined) throw new Error(`no ${kind} ${name} in deploy/kubernetes`)
  return m.doc
}

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are plain parsed YAML, read by path */
const deployment = one('Deployment', 'switchyard') as any
const configMap = one('ConfigMap', 'switchyard') as any
const pod = deployment.spec.template.spec
const container = pod.containers.find((c: any) => c.name === 'switchyard')
const config = parse(configMap.data['switchyard.yaml']) as any
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Seconds of a config duration ("30s", "1m", "250ms"). */
const seconds = (d: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d)
  if (m === null) throw new Error(`not a duration: ${d}`)
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h']
}

describe('deploy/kubernetes: the manifests', () => {
  it('are all listed in kustomization.yaml, and each validates against the Kubernetes schema of its kind', () => {
    expect(kustomization).toMatchObject({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' })
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()
    expect([...kustomization.resources].sort()).toEqual(files)
    const invalid: string[] = []
    for (const { file, doc } of manifests) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`]
      if (Model === undefined) {
        invalid.push(`${file}: no validator for ${doc.apiVersion} ${doc.kind} (add it to MODELS)`)
        continue
      }
      try {
        new Model(doc as never).validate()
      } catch (e) {
        invalid.push(`${file} (${doc.kind} ${doc.metadata.name}): ${(e as Error).message}`)
      }
    }
    expect(invalid).toEqual([])
    expect(manifests.map((m) => m.doc.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'Service'])
  })

  it('have no field their kind does not define (type-checked against the generated interfaces)', () => {
    expect(typeCheckManifests(ROOT, manifests.map((m) => typed(`${m.file} (${m.doc.kind} ${m.doc.metadata.name})`, m.doc)))).toEqual([])
  }, 20_000)

  it('the validators do reject a wrong manifest (so the checks above can fail)', () => {
    const broken = structuredClone(deployment) as { spec: { replicas: unknown; template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } }
    broken.spec.replicas = 'two'
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas/)
    const noContainers = structuredClone(deployment) as { spec: { template: { spec: Record<string, unknown> } } }
    delete noContainers.spec.template.spec.containers
    expect(() => new Deployment(noContainers as never).validate()).toThrow(/containers/)
    // A typo deep in the pod spec, and one at the top of a Service.
    const typo = structuredClone(deployment) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }
    const c = typo.spec.template.spec.containers[0]!
    c.readinesProbe = c.readinessProbe
    delete c.readinessProbe
    const service = structuredClone(one('Service', 'switchyard'))
    ;(service as Record<string, unknown>).sepc = service.spec
    const complaints = typeCheckManifests(ROOT, [typed('typo', typo as never), typed('sepc', service)])
    expect(complaints).toEqual([expect.stringMatching(/^typo: .*"readinesProbe".* 'IContainer'/), expect.stringMatching(/^sepc: .*"sepc".* 'IService'/)])
  }, 20_000)

  it('the Deployment probes the real admin endpoints, drains before it is killed, and runs as the image\'s non-root user', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const port = (name: string): number => (container.ports as { name: string; containerPort: number }[]).find((p) => p.name === name)!.containerPort
    expect(port('http')).toBe(config.listeners[0].port)
    expect(port('admin')).toBe(config.admin.port)
    expect(config.admin.address, 'the kubelet probes the pod IP').toBe('0.0.0.0')
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' })
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' })

    // preStop sleeps while the endpoints go, then SIGTERM drains for up to shutdown_timeout.
    const preStop = container.lifecycle.preStop.exec.command as string[]
    expect(preStop[0]).toBe('sleep')
    const sleep = Number(preStop[1])
    expect(sleep).toBeGreaterThanOrEqual(5)
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(sleep + seconds(config.shutdown_timeout))
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0)

    // The image: its config path and its user.
    const envConfig = /^ENV SWITCHYARD_CONFIG=(\S+)$/m.exec(dockerfile)?.[1]
    expect(container.env).toContainEqual({ name: 'SWITCHYARD_CONFIG', value: envConfig })
    const mount = (container.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'config')!
    expect(`${mount.mountPath}/switchyard.yaml`).toBe(envConfig)
    expect((pod.volumes as { name: string; configMap?: { name: string } }[]).find((v) => v.name === 'config')?.configMap?.name).toBe(configMap.metadata.name)
    expect(/^USER node$/m.test(dockerfile)).toBe(true)
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 }) // node:24-slim's `node`
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })
    expect((container.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath), 'a writable /tmp for buffering').toContain('/tmp')
    expect(container.image).toMatch(/^switchyard:/)
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
    expect(container.resources.limits).toMatchObject({ memory: expect.any(String) })
  })

  it('the Service, the PodDisruptionBudget and the headless Service select what they mean to', () => {
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>
    expect(deployment.spec.selector.matchLabels).toEqual(podLabels)
    const service = one('Service', 'switchyard') as unknown as { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } }
    expect(service.spec.selector).toEqual(podLabels)
    const portNames = (container.ports as { name: string }[]).map((p) => p.name)
    for (const p of service.spec.ports) expect(portNames).toContain(p.targetPort)
    expect(service.spec.ports.map((p) => p.targetPort), 'the admin port stays off the Service').not.toContain('admin')
    const pdb = one('PodDisruptionBudget', 'switchyard') as unknown as { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable: number } }
    expect(pdb.spec.selector.matchLabels).toEqual(podLabels)
    expect(pdb.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas)
    const headless = one('Service', 'app-headless') as unknown as { spec: { clusterIP: string; selector: Record<string, string> } }
    expect(headless.spec.clusterIP).toBe('None')
    expect(headless.spec.selector).not.toEqual(podLabels) // it selects the app, not switchyard
  })
})

describe('deploy/kubernetes/configmap.yaml: the config', () => {
  const { backend, daemon } = closeAfterEach()

  it('passes `switchyard check`', async () => {
    const r = await runCli(['check', '--config', writeConfig(configMap.data['switchyard.yaml'])])
    expect({ code: r.code, stdout: r.stdout.trim(), stderr: r.stderr.trim() }).toEqual({ code: 0, stdout: 'ok', stderr: '' })
  })

  it('runs: the daemon on it answers the probes\' paths and proxies (ports, servers and Redis swapped for local ones)', async () => {
    const app = await backend('app')
    const local = structuredClone(config) as typeof config
    local.listeners[0] = { ...local.listeners[0], address: '127.0.0.1', port: 0 }
    local.admin = { ...local.admin, address: '127.0.0.1', port: 0 }
    local.upstreams.app.servers = [{ url: app.url }]
    local.upstreams.app.health_check.path = '/'
    delete local.caches
    for (const r of local.routes) delete r.cache
    const d = await daemon(stringify(local))
    expect((await request(d.adminUrl(container.readinessProbe.httpGet.path))).status).toBe(200)
    expect((await request(d.adminUrl(container.livenessProbe.httpGet.path))).status).toBe(200)
    const r = await request(d.url('/hello'))
    expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: 'app' })
  })
})
