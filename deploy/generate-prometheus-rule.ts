/**
 * deploy/k8s/prometheus-rule.yaml from monitoring/prometheus/trading-service.rules.yml: the same groups
 * wrapped in a Prometheus Operator PrometheusRule. The rules file is the one source; this output is
 * committed so `kubectl apply -k deploy/k8s` needs no build step, and test/deploy-manifests.test.ts
 * fails when the two are out of sync.
 * Usage: node --import tsx deploy/generate-prometheus-rule.ts [--check]   (--check: exit 1 if stale)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RULES_FILE = join(root, 'monitoring', 'prometheus', 'trading-service.rules.yml');
export const PROMETHEUS_RULE_FILE = join(root, 'deploy', 'k8s', 'prometheus-rule.yaml');

export function prometheusRuleYaml(rulesText: string): string {
  const rules = parse(rulesText) as { groups: unknown[] };
  const resource = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'trading-service', labels: { app: 'trading-service' } },
    spec: { groups: rules.groups },
  };
  return `# GENERATED from monitoring/prometheus/trading-service.rules.yml by deploy/generate-prometheus-rule.ts.\n# Do not edit: change the rules file and run \`npm run deploy:generate\`.\n${stringify(resource, { lineWidth: 0 })}`;
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const want = prometheusRuleYaml(readFileSync(RULES_FILE, 'utf8'));
  if (process.argv.includes('--check')) {
    const have = readFileSync(PROMETHEUS_RULE_FILE, 'utf8');
    if (have !== want) {
      process.stderr.write('deploy/k8s/prometheus-rule.yaml is stale: run npm run deploy:generate\n');
      process.exit(1);
    }
    process.stdout.write('deploy/k8s/prometheus-rule.yaml is in sync with the rules file\n');
  } else {
    writeFileSync(PROMETHEUS_RULE_FILE, want);
    process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
  }
}
