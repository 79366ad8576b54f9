// deploy/: every Kubernetes manifest validates offline against the Kubernetes schemas (kubernetes-models'
// compiled validators for the core kinds; @kubernetes-models/prometheus-operator's for ServiceMonitor and
// PrometheusRule), the PrometheusRule is in sync with monitoring/'s rules file, and the manifests agree
// with each other and with the service: labels and selectors, ports, probes on /health, termination
// grace covering GRPC_SHUTDOWN_GRACE_MS, a memory limit above the 6000 MiB alert, several replicas in
// cluster mode (pair ownership, docs/cluster.md), the Dockerfile's stages (non-root, production dependencies, the start command).
// The schema validators check types, enums, patterns and required fields; they do not reject unknown
// fields, so the fields that matter are asserted at their exact paths below.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PROMETHEUS_RULE_FILE, RULES_FILE, prometheusRuleYaml } from '../deploy/generate-prometheus-rule.ts';
import { parseDockerfile } from '../deploy/dockerfile-run.ts';
import { loadConfig } from '../server/config.ts';
import { DEFAULT_MEMORY_MIB } from '../server/pairs/alerts.ts';

const root = join(import.meta.dirname, '..');
const k8sDir = join(root, 'deploy', 'k8s');

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: any };
const docs: { file: string; doc: Doc }[] = readdirSync(k8sDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((file) => parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Doc })));
const one = (kind: string, name?: string): Doc => {
  const found = docs.filter((d) => d.doc.kind === kind && (name === undefined || d.doc.metadata.name === name));
  expect(found.length, `${kind} ${name ?? ''}`).toBe(1);
  return found[0]!.doc;
};
const VALIDATORS: Record<string, new (d: any) => { validate(): void }> = {
  Deployment,
  ConfigMap,
  Secret,
  Service,
  PodDisruptionBudget,
  ServiceMonitor,
  PrometheusRule,
};
const memMiB = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q)!;
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('every document validates against its kind schema', () => {
    expect(docs.map((d) => d.doc.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'PrometheusRule', 'Secret', 'Service', 'Service', 'ServiceMonitor']);
    for (const { file, doc } of docs) {
      const Model = VALIDATORS[doc.kind];
      expect(Model, `${file}: ${doc.kind}`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('the validators do reject a broken manifest (the check can fail)', () => {
    const d = structuredClone(one('Deployment'));
    d.spec.replicas = 'four';
    expect(() => new Deployment(d as any).validate()).toThrow(/replicas/);
    const sm = structuredClone(one('ServiceMonitor'));
    sm.spec.endpoints[0].interval = 'often';
    expect(() => new ServiceMonitor(sm as any).validate()).toThrow(/interval/);
  });

  it('kustomization lists every manifest file', () => {
    const k = parseAllDocuments(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
    expect([...k.resources].sort()).toEqual([...new Set(docs.map((d) => d.file))].sort());
  });

  it('deployment/trading-service: app=trading-service, several replicas owning pairs (cluster mode), rolling updates, probes on /health', () => {
    const d = one('Deployment', 'trading-service');
    expect(d.metadata.labels).toMatchObject({ app: 'trading-service' });
    expect(d.spec.replicas).toBeGreaterThan(1);
    expect(one('ConfigMap').data.CLUSTER_MODE).toBe('postgres'); // without it several replicas would be several writers
    expect(d.spec.strategy.type).toBe('RollingUpdate');
    const env = new Map(d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e]));
    expect((env.get('REPLICA_ID') as any).valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect((env.get('POD_IP') as any).valueFrom.fieldRef.fieldPath).toBe('status.podIP');
    expect((env.get('CLUSTER_ADVERTISE_GRPC') as any).value).toBe('$(POD_IP):50051');
    expect(d.spec.selector.matchLabels).toEqual({ app: 'trading-service' });
    expect(d.spec.template.metadata.labels).toMatchObject({ app: 'trading-service' });
    const c = d.spec.template.spec.containers[0];
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(c[probe].httpGet, probe).toEqual({ path: '/health', port: 'admin' });
    expect(c.ports.map((p: any) => [p.name, p.containerPort])).toEqual([
      ['grpc', 50051],
      ['admin', 8080],
    ]);
    expect(d.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
  });

  it('the configuration is one the service accepts, and names every Secret key the service needs', () => {
    const cm = one('ConfigMap', 'trading-service-config');
    const secret = one('Secret', 'trading-service-secrets');
    expect(Object.keys(secret.stringData).sort()).toEqual(['ADMIN_TOKEN', 'DATABASE_URL', 'REDIS_URL']);
    // The pod's env as Kubernetes expands it (downward API: pod name and IP).
    const podEnv = Object.fromEntries(
      one('Deployment').spec.template.spec.containers[0].env.map((e: any) => [e.name, e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? 'trading-service-7d9f-abcde' : e.valueFrom !== undefined ? '10.1.2.3' : String(e.value).replace('$(POD_IP)', '10.1.2.3')]),
    );
    const config = loadConfig({ ...cm.data, ...secret.stringData, ...podEnv });
    expect(config.cluster).toMatchObject({ mode: 'postgres', replicaId: 'trading-service-7d9f-abcde', advertiseGrpc: '10.1.2.3:50051', advertiseAdmin: 'http://10.1.2.3:8080' });
    expect(config.adminHost).toBe('0.0.0.0');
    expect(config.grpcPort).toBe(50051);
    expect(config.adminPort).toBe(8080);
    const c = one('Deployment').spec.template.spec.containers[0];
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'trading-service-config' } }, { secretRef: { name: 'trading-service-secrets' } }]);
  });

  it('termination grace and preStop cover GRPC_SHUTDOWN_GRACE_MS (gRPC drain, then the journal drain)', () => {
    const graceMs = Number(one('ConfigMap').data.GRPC_SHUTDOWN_GRACE_MS);
    const spec = one('Deployment').spec.template.spec;
    const preStop = spec.containers[0].lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopS = Number(preStop[1]);
    expect(preStopS).toBeGreaterThan(0);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopS + (2 * graceMs) / 1000);
  });

  it('the memory limit is above the 6000 MiB alert threshold (the alert fires before the OOM kill)', () => {
    const r = one('Deployment').spec.template.spec.containers[0].resources;
    expect(memMiB(r.limits.memory)).toBeGreaterThan(DEFAULT_MEMORY_MIB);
    expect(memMiB(r.requests.memory)).toBeLessThanOrEqual(memMiB(r.limits.memory));
    expect(r.requests.cpu).toBeDefined();
  });

  it('Services, PodDisruptionBudget and ServiceMonitor select the pods and ports that exist', () => {
    const podLabels = one('Deployment').spec.template.metadata.labels;
    const ports = one('Deployment').spec.template.spec.containers[0].ports.map((p: any) => p.name);
    const admin = one('Service', 'trading-service');
    const grpc = one('Service', 'trading-service-grpc');
    for (const s of [admin, grpc]) {
      expect(podLabels).toMatchObject(s.spec.selector);
      for (const p of s.spec.ports) expect(ports).toContain(p.targetPort);
    }
    expect(admin.spec.ports[0].port).toBe(8080); // the runbook's http://trading-service:8080
    expect(grpc.spec.ports[0].port).toBe(50051);
    expect(podLabels).toMatchObject(one('PodDisruptionBudget').spec.selector.matchLabels);
    const sm = one('ServiceMonitor');
    expect(admin.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(grpc.metadata.labels).not.toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'admin', path: '/metrics' });
  });

  it('the PrometheusRule is generated from monitoring/prometheus/trading-service.rules.yml and in sync', () => {
    expect(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')).toBe(prometheusRuleYaml(readFileSync(RULES_FILE, 'utf8')));
    const rule = one('PrometheusRule');
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert);
    expect(alerts.length).toBeGreaterThanOrEqual(10);
  });
});

describe('Dockerfile (deploy/Dockerfile)', () => {
  const ins = parseDockerfile(readFileSync(join(root, 'deploy', 'Dockerfile'), 'utf8'));
  const stages = ins.reduce<{ from: string; ins: typeof ins }[]>((acc, i) => {
    if (i.op === 'FROM') acc.push({ from: i.args, ins: [] });
    else acc.at(-1)!.ins.push(i);
    return acc;
  }, []);

  it('is multi-stage: builds with dev dependencies, prunes them, and the runtime copies only the result', () => {
    expect(stages.length).toBe(2);
    const [build, runtime] = stages;
    const runs = build!.ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.startsWith('npm ci'))).toBe(true);
    expect(runs).toContain('npm run build');
    expect(runs.some((r) => r.startsWith('npm prune --omit=dev'))).toBe(true);
    expect(runtime!.ins.filter((i) => i.op === 'RUN')).toEqual([]);
    expect(runtime!.ins.filter((i) => i.op === 'COPY').every((i) => i.args.startsWith('--from=build '))).toBe(true);
  });

  it('runs as a non-root user with the start command of `npm start` (compiled JavaScript)', () => {
    const runtime = stages[1]!.ins;
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(JSON.parse(runtime.find((i) => i.op === 'CMD')!.args)).toEqual(['node', '--enable-source-maps', 'dist/server/main.js']);
  });
});
